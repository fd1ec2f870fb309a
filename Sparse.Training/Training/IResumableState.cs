namespace Sparse.Training;

/// <summary>
/// State that shapes the rest of a run (a random stream, a phase) and so goes into a checkpoint:
/// <see cref="Trainer.SaveCheckpoint"/> writes it for every hook that implements this, and
/// <see cref="Trainer.Fit"/> reads it back into the same hook after <see cref="Trainer.Resume"/>.
/// </summary>
public interface IResumableState
{
    /// <summary>The layout <see cref="WriteState"/> writes, saved with it; raise it when the layout changes, so a newer file is refused by name.</summary>
    int StateVersion => 1;

    /// <summary>Writes the state.</summary>
    void WriteState(BinaryWriter writer);

    /// <summary>Restores what <see cref="WriteState"/> wrote.</summary>
    /// <exception cref="InvalidDataException">The bytes are not such a state.</exception>
    void ReadState(BinaryReader reader);
}
