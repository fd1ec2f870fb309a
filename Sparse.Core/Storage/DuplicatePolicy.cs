namespace Sparse.Core;

/// <summary>What <see cref="CooMatrix.ToCsr"/> does with two triplets at the same (row, column).</summary>
public enum DuplicatePolicy
{
    /// <summary>Throw an <see cref="ArgumentException"/> naming the position.</summary>
    Reject,

    /// <summary>Store one entry whose value is the sum of the duplicates.</summary>
    Sum,
}
