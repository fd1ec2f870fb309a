namespace Sparse.Core;

/// <summary>
/// Splits the rows of a compressed matrix into chunks of about equal cost, where a row costs its stored
/// entries plus a fixed overhead (it writes a whole output row even when empty). Boundaries are found by
/// binary search on the pointers, so a split costs O(chunks x log rows) and allocates nothing.
/// </summary>
internal readonly unsafe struct WorkPartition
{
    private const long RowOverhead = 4;

    // Below this many entries x batch a call runs on one thread: waking a worker costs more than it saves.
    private const long SerialWork = 1L << 15;

    private readonly long* _pointers;
    private readonly int _rows;
    private readonly long _total;

    public WorkPartition(long* pointers, int rows, int batch, int maxThreads)
    {
        _pointers = pointers;
        _rows = rows;
        _total = Cost(pointers, rows);
        var work = (pointers[rows] + rows) * Math.Max(batch, 1);
        Threads = work < SerialWork ? 1 : Math.Max(1, Math.Min(maxThreads, rows));

        // Several chunks per thread even out rows of uneven cost; one chunk when serial.
        ChunkCount = Threads == 1 ? 1 : (int)Math.Min(rows, Threads * 8L);
    }

    public int Threads { get; }

    public int ChunkCount { get; }

    /// <summary>The rows <c>[start, end)</c> of chunk <paramref name="chunk"/>.</summary>
    public (int Start, int End) Rows(int chunk) => (Boundary(chunk), Boundary(chunk + 1));

    private static long Cost(long* pointers, int row) => pointers[row] + (row * RowOverhead);

    // The first row whose cumulative cost reaches chunk / ChunkCount of the total.
    private int Boundary(int chunk)
    {
        if (chunk >= ChunkCount)
        {
            return _rows;
        }

        var target = (long)((double)_total * chunk / ChunkCount);
        int low = 0, high = _rows;
        while (low < high)
        {
            var middle = (int)(((uint)low + (uint)high) >> 1);
            if (Cost(_pointers, middle) < target)
            {
                low = middle + 1;
            }
            else
            {
                high = middle;
            }
        }

        return low;
    }
}
