using Sparse.Core;
using Sparse.Training;

namespace Sparse.Topology;

/// <summary>
/// SET's regrowth: missing connections chosen uniformly at random, reproducible from a seed, with new
/// values drawn from <see cref="Values"/> (default normal with standard deviation 0.1, as SET's
/// reference trainer draws them). Sampling rejects occupied positions, so it costs
/// O(count / (1 - density)) draws plus a binary search each: cheap at the densities sparse training uses.
/// </summary>
public sealed class RandomRegrower(ulong seed, ValueDistribution? values = null) : IRegrower
{
    private SparseRandom _random = new(seed);

    /// <summary>Distribution of new weights.</summary>
    public ValueDistribution Values { get; } = values ?? ValueDistribution.Normal(0.1f);

    /// <inheritdoc/>
    public void Grow(GrowthRequest request, List<int> rows, List<int> columns, List<float> values) =>
        GrowRandom(request.Kept, request.Count, ref _random, Values, rows, columns, values, exclude: null);

    /// <summary>
    /// Adds <paramref name="count"/> uniformly random positions missing from <paramref name="kept"/>, from
    /// <paramref name="rows"/>/<paramref name="columns"/> so far, and from <paramref name="exclude"/>.
    /// </summary>
    internal static void GrowRandom(CsrMatrix kept, int count, ref SparseRandom random, ValueDistribution distribution,
        List<int> rows, List<int> columns, List<float> values, IReadOnlySet<long>? exclude)
    {
        var free = ((long)kept.Rows * kept.Columns) - kept.NonZeroCount - rows.Count;
        if (exclude is not null && count > free - exclude.Count)
        {
            exclude = null; // not enough room to avoid them all: allow the excluded positions again
        }

        if (count > free)
        {
            throw new InvalidOperationException($"Cannot grow {count} connections: only {free} positions are free.");
        }

        // Picks of this call are chained per row (head[row] -> next[pick]), so "already picked?" scans only
        // the few picks of one row: no hash set, O(rows + count) memory.
        var pool = System.Buffers.ArrayPool<int>.Shared;
        var head = pool.Rent(kept.Rows);
        var next = pool.Rent(rows.Count + count);
        head.AsSpan(0, kept.Rows).Fill(-1);
        try
        {
            for (var n = 0; n < rows.Count; n++)
            {
                next[n] = head[rows[n]];
                head[rows[n]] = n;
            }

            var target = rows.Count + count;
            while (rows.Count < target)
            {
                var row = random.NextInt(kept.Rows);
                var column = random.NextInt(kept.Columns);
                if (Array.BinarySearch(kept.ColumnIndices, (int)kept.RowPointers[row], kept.RowLength(row), column) >= 0
                    || exclude?.Contains(((long)row * kept.Columns) + column) == true
                    || Picked(head[row], next, columns, column))
                {
                    continue;
                }

                next[rows.Count] = head[row];
                head[row] = rows.Count;
                rows.Add(row);
                columns.Add(column);
                values.Add(distribution.Sample(ref random));
            }
        }
        finally
        {
            pool.Return(head);
            pool.Return(next);
        }
    }

    private static bool Picked(int pick, int[] next, List<int> columns, int column)
    {
        for (; pick >= 0; pick = next[pick])
        {
            if (columns[pick] == column)
            {
                return true;
            }
        }

        return false;
    }
}
