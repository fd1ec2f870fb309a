namespace Sparse.Core;

/// <summary>
/// Column tiling for wide layers. A kernel gathers one dense row per stored entry; once the gathered operand
/// outgrows the cache, every gather comes from memory. Split into tiles of <see cref="ComputeOptions.ColumnTileBytes"/>,
/// each pass over the rows gathers from one tile only, which stays cached, at the price of reading and writing
/// the output row once more per tile. Rows need several entries per tile for that trade to pay, so very wide,
/// very sparse rows stay untiled, and so does a layer whose neighbouring rows gather within a tile between them (its
/// reach, <see cref="GatherReach"/>: a banded layer's gathers stay cached untiled). The tile count depends only on
/// the shapes and the structure, never on the thread count, so results stay bitwise identical for any number of threads.
/// </summary>
internal static class ColumnTiling
{
    // Fewer entries per row and tile than this, and rewriting the output row costs more than the cache saves.
    private const long MinEntriesPerRowTile = 4;

    /// <summary>Number of column tiles for a kernel over <paramref name="rows"/> compressed rows that gathers from
    /// <paramref name="gathered"/> dense rows of <paramref name="batch"/> elements of <paramref name="elementBytes"/> each, of
    /// which neighbouring rows reach <paramref name="reach"/> between them (<see cref="GatherReach"/>; the whole operand by default).</summary>
    public static int Count(int rows, int gathered, long nonZeros, int batch, ComputeOptions options, int elementBytes = sizeof(float), int reach = int.MaxValue)
    {
        if (options.ForcedTiles > 0)
        {
            return Math.Min(options.ForcedTiles, Math.Max(gathered, 1));
        }

        // Rows of bfloat16 stream from memory at half the bytes, and prefetched they measured faster untiled than in
        // tiles (100,000 x 100,000 at batch 128: 0.106 s untiled, 0.139 s in 4 tiles, for the forward product).
        var bytes = (long)gathered * batch * elementBytes;
        var tileBytes = options.ColumnTileBytes;
        if (rows == 0 || tileBytes <= 0 || bytes <= tileBytes || elementBytes != sizeof(float))
        {
            return 1;
        }

        var tiles = (int)Math.Min(gathered, (bytes + tileBytes - 1) / tileBytes);
        if (tiles * MinEntriesPerRowTile > nonZeros / rows)
        {
            return 1;
        }

        return (long)Math.Min(reach, gathered) * batch * elementBytes <= tileBytes ? 1 : tiles;
    }

    /// <summary>
    /// Runs <paramref name="untiled"/> over all rows in one pass, or, when the shapes call for tiles, one pass per
    /// column tile with a rented per-row cursor (starting at each row's first entry) marking where the row's
    /// entries of the next tile begin.
    /// </summary>
    public static unsafe void Run<TAction>(TAction untiled, in WorkPartition partition, long* pointers, int rows, int gathered, int batch, ComputeOptions options, int elementBytes = sizeof(float), int reach = int.MaxValue)
        where TAction : struct, ITileableAction<TAction>
    {
        var tiles = Count(rows, gathered, pointers[rows], batch, options, elementBytes, reach);
        if (tiles == 1)
        {
            WorkerPool.Shared.Run(ref untiled, partition.ChunkCount, partition.Threads);
            return;
        }

        var cursorArray = System.Buffers.ArrayPool<long>.Shared.Rent(rows);
        try
        {
            fixed (long* cursors = cursorArray)
            {
                new ReadOnlySpan<long>(pointers, rows).CopyTo(cursorArray);
                for (var tile = 0; tile < tiles; tile++)
                {
                    var action = untiled.ForTile(cursors, Start(tile + 1, tiles, gathered), tile > 0, tile == tiles - 1);
                    WorkerPool.Shared.Run(ref action, partition.ChunkCount, partition.Threads);
                }
            }
        }
        finally
        {
            System.Buffers.ArrayPool<long>.Shared.Return(cursorArray);
        }
    }

    /// <summary>The first gathered row of tile <paramref name="tile"/> of <paramref name="tiles"/> (tile == tiles gives the end).</summary>
    public static int Start(int tile, int tiles, int gathered) => (int)((long)gathered * tile / tiles);

    /// <summary>
    /// Advances a row's cursor past its entries below <paramref name="tileEnd"/> (entries are sorted) and returns
    /// the range it passed.
    /// </summary>
    public static unsafe (long Start, long End) Advance(long* cursors, int row, long rowEnd, int* indices, int tileEnd)
    {
        var start = cursors[row];
        var end = start;
        while (end < rowEnd && indices[end] < tileEnd)
        {
            end++;
        }

        cursors[row] = end;
        return (start, end);
    }
}

/// <summary>A kernel's chunk action that can also run one column tile of its work.</summary>
internal unsafe interface ITileableAction<TSelf> : IChunkAction
    where TSelf : struct, ITileableAction<TSelf>
{
    /// <summary>
    /// The same action restricted to each row's entries from its cursor up to gathered row <paramref name="tileEnd"/>;
    /// <paramref name="later"/> is set for every tile after the first, <paramref name="last"/> for the last.
    /// </summary>
    TSelf ForTile(long* cursors, int tileEnd, bool later, bool last);
}
