namespace Sparse.Core;

/// <summary>
/// How far apart the operand rows lie that neighbouring rows of a compressed structure gather: the largest, over each
/// non-empty row and the next non-empty one, of the shortest circular arc of the operand's rows holding both rows'
/// indices. A banded layer (<see cref="RandomSparse.Banded"/>) reaches about its band plus the step between bands; an
/// Erdos-Renyi layer about its whole operand. The kernels decide on prefetching by it: the rows within the reach are
/// what the walk keeps gathering, and where they fit in cache a software prefetch only costs.
/// </summary>
internal static class GatherReach
{
    // Below this many entries the walk runs on the calling thread.
    private const long SerialEntries = 1L << 20;

    /// <summary>
    /// The reach of rows <c>[0, rows)</c> of (<paramref name="pointers"/>, <paramref name="indices"/>) over an operand of
    /// <paramref name="width"/> rows, in O(nnz), on the kernels' threads (<see cref="ComputeOptions.Default"/>) for a large
    /// structure: each chunk of rows takes the pairs its rows begin. The maximum is the same whatever the split.
    /// </summary>
    public static unsafe int Of(ReadOnlySpan<long> pointers, ReadOnlySpan<int> indices, int rows, int width)
    {
        if (rows == 0)
        {
            return 0;
        }

        var threads = ComputeOptions.Default.Threads;
        var chunks = pointers[rows] < SerialEntries || threads == 1 ? 1 : Math.Min(rows, threads * 4);
        var reaches = new int[chunks];
        fixed (long* p = pointers)
        fixed (int* i = indices)
        {
            var action = new ChunkAction(p, i, rows, width, chunks, reaches);
            if (chunks == 1)
            {
                action.Execute(0);
            }
            else
            {
                WorkerPool.Shared.Run(ref action, chunks, threads);
            }
        }

        return Math.Min(reaches.Max(), width);
    }

    // The largest arc over the pairs (row, next non-empty row) whose first row lies in rows [first, last), or the lone
    // arc of the only non-empty row.
    private static int Pairs(ReadOnlySpan<long> pointers, ReadOnlySpan<int> indices, int first, int last, int rows, int width)
    {
        var reach = 0;
        var row = NextNonEmpty(pointers, first, rows);
        if (first == 0 && row < rows && NextNonEmpty(pointers, row + 1, rows) == rows)
        {
            return Arc(indices[(int)pointers[row]..(int)pointers[row + 1]], [], width);
        }

        while (row < last && reach < width)
        {
            var next = NextNonEmpty(pointers, row + 1, rows);
            if (next == rows)
            {
                break;
            }

            reach = Math.Max(reach, Arc(indices[(int)pointers[row]..(int)pointers[row + 1]], indices[(int)pointers[next]..(int)pointers[next + 1]], width));
            row = next;
        }

        return reach;
    }

    private static int NextNonEmpty(ReadOnlySpan<long> pointers, int row, int rows)
    {
        while (row < rows && pointers[row] == pointers[row + 1])
        {
            row++;
        }

        return row;
    }

    private readonly unsafe struct ChunkAction(long* pointers, int* indices, int rows, int width, int chunks, int[] reaches) : IChunkAction
    {
        public void Execute(int chunk)
        {
            var first = (int)((long)rows * chunk / chunks);
            var last = (int)((long)rows * (chunk + 1) / chunks);
            reaches[chunk] = Pairs(new ReadOnlySpan<long>(pointers, rows + 1), new ReadOnlySpan<int>(indices, (int)pointers[rows]), first, last, rows, width);
        }
    }

    // The shortest circular arc of [0, width) holding every index of two sorted lists: width less the largest gap
    // between circularly consecutive indices, plus one.
    private static int Arc(ReadOnlySpan<int> a, ReadOnlySpan<int> b, int width)
    {
        int i = 0, j = 0;
        var first = -1;
        var last = -1;
        var largestGap = 0;
        while (i < a.Length || j < b.Length)
        {
            var next = j >= b.Length || (i < a.Length && a[i] <= b[j]) ? a[i++] : b[j++];
            if (first < 0)
            {
                first = next;
            }
            else
            {
                largestGap = Math.Max(largestGap, next - last);
            }

            last = next;
        }

        largestGap = Math.Max(largestGap, first + width - last);
        return width - largestGap + 1;
    }
}
