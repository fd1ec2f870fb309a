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
    /// <summary>The reach of rows <c>[0, rows)</c> of (<paramref name="pointers"/>, <paramref name="indices"/>) over an operand of <paramref name="width"/> rows, in O(nnz).</summary>
    public static int Of(ReadOnlySpan<long> pointers, ReadOnlySpan<int> indices, int rows, int width)
    {
        var reach = 0;
        var previous = -1;
        for (var row = 0; row < rows && reach < width; row++)
        {
            var start = (int)pointers[row];
            var end = (int)pointers[row + 1];
            if (start == end)
            {
                continue;
            }

            var current = indices[start..end];
            reach = Math.Max(reach, previous < 0
                ? Arc(current, [], width)
                : Arc(indices[(int)pointers[previous]..(int)pointers[previous + 1]], current, width));
            previous = row;
        }

        return Math.Min(reach, width);
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
