namespace Sparse.Core;

/// <summary>
/// Runs chunked work on the kernels' worker threads. Results do not depend on the thread count when every
/// chunk writes its own outputs in a fixed order.
/// </summary>
public static class SparseParallel
{
    /// <summary>
    /// Runs <c>action.Execute(c)</c> for every chunk <c>c</c> in <c>[0, chunkCount)</c> on up to
    /// <see cref="ComputeOptions.Threads"/> threads (the caller included), on the same long-lived workers as the
    /// kernels, and returns when all are done. Chunks are taken in any order by any thread, so they must write
    /// disjoint outputs; then the result does not depend on the thread count. Allocates nothing; a call made
    /// while another is running (from a chunk, or from another thread) runs inline.
    /// </summary>
    /// <typeparam name="TAction">The work, a struct.</typeparam>
    /// <param name="action">The work; passed by reference so that it is not copied per chunk.</param>
    /// <param name="chunkCount">Chunks to run.</param>
    /// <param name="options">Threads to use; <see cref="ComputeOptions.Default"/> when null.</param>
    public static void Run<TAction>(ref TAction action, int chunkCount, ComputeOptions? options = null)
        where TAction : struct, IChunkAction
    {
        ArgumentOutOfRangeException.ThrowIfNegative(chunkCount);
        WorkerPool.Shared.Run(ref action, chunkCount, (options ?? ComputeOptions.Default).Threads);
    }
}
