namespace Sparse.Training;

/// <summary>
/// State that shapes the rest of a run (a random stream, a phase) and so goes into a checkpoint:
/// <see cref="Trainer.SaveCheckpoint"/> writes it for every hook that implements this, and
/// <see cref="Trainer.Fit"/> reads it back into the same hook after <see cref="Trainer.Resume"/>.
/// </summary>
public interface IResumableState
{
    /// <summary>Writes the state.</summary>
    void WriteState(BinaryWriter writer);

    /// <summary>Restores what <see cref="WriteState"/> wrote.</summary>
    /// <exception cref="InvalidDataException">The bytes are not such a state.</exception>
    void ReadState(BinaryReader reader);
}
