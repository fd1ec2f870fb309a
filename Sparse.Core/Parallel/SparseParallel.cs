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

    /// <summary>
    /// Runs <c>action.Execute(c)</c> for every chunk <c>c</c> in <c>[0, chunkCount)</c> on up to
    /// <see cref="MaxDegreeOfParallelism"/> threads (the caller included), on the same long-lived workers as the
    /// kernels, and returns when all are done. Chunks are taken in any order by any thread, so they must write
    /// disjoint outputs; then the result does not depend on the thread count. Allocates nothing; a call made
    /// while another is running (from a chunk, or from another thread) runs inline.
    /// </summary>
    /// <typeparam name="TAction">The work, a struct.</typeparam>
    /// <param name="action">The work; passed by reference so that it is not copied per chunk.</param>
    /// <param name="chunkCount">Chunks to run.</param>
    public static void Run<TAction>(ref TAction action, int chunkCount)
        where TAction : struct, IChunkAction
    {
        ArgumentOutOfRangeException.ThrowIfNegative(chunkCount);
        WorkerPool.Shared.Run(ref action, chunkCount, MaxDegreeOfParallelism);
    }
}
