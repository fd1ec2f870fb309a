namespace Sparse.Core;

/// <summary>
/// A piece of work split into numbered chunks, run by <see cref="SparseParallel.Run{TAction}"/> on the kernels'
/// worker threads. A struct, so that dispatch allocates nothing.
/// </summary>
public interface IChunkAction
{
    /// <summary>Runs chunk <paramref name="chunk"/> of the work; chunks never share output elements.</summary>
    void Execute(int chunk);
}
