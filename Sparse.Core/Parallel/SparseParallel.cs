namespace Sparse.Core;

/// <summary>
/// How many threads the kernels use. Results do not depend on it: every output element is computed by
/// one thread in a fixed order, so any thread count gives the same bits.
/// </summary>
public static class SparseParallel
{
    private static int _maxDegreeOfParallelism = Environment.ProcessorCount;

    /// <summary>
    /// The most threads one kernel call uses (the calling thread included); 1 runs everything inline.
    /// Defaults to <see cref="Environment.ProcessorCount"/>.
    /// </summary>
    public static int MaxDegreeOfParallelism
    {
        get => Volatile.Read(ref _maxDegreeOfParallelism);
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            Volatile.Write(ref _maxDegreeOfParallelism, value);
        }
    }
}
