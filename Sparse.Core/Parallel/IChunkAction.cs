namespace Sparse.Core;

/// <summary>A piece of work split into numbered chunks; a struct so that dispatch allocates nothing.</summary>
internal interface IChunkAction
{
    /// <summary>Runs chunk <paramref name="chunk"/> of the work; chunks never share output elements.</summary>
    void Execute(int chunk);
}
