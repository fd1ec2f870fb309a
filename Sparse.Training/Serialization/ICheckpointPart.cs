namespace Sparse.Training;

/// <summary>A component that saves its state with every checkpoint a <see cref="Trainer"/> writes, in a section of its own.</summary>
public interface ICheckpointPart
{
    /// <summary>The component's state as a section.</summary>
    CheckpointSection ToCheckpointSection();
}
