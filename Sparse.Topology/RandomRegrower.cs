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

        var chosen = new HashSet<long>(rows.Count + count);
        for (var n = 0; n < rows.Count; n++)
        {
            chosen.Add(((long)rows[n] * kept.Columns) + columns[n]);
        }

        var target = rows.Count + count;
        while (rows.Count < target)
        {
            var row = random.NextInt(kept.Rows);
            var column = random.NextInt(kept.Columns);
            var position = ((long)row * kept.Columns) + column;
            var start = (int)kept.RowPointers[row];
            if (Array.BinarySearch(kept.ColumnIndices, start, kept.RowLength(row), column) >= 0
                || exclude?.Contains(position) == true
                || !chosen.Add(position))
            {
                continue;
            }

            rows.Add(row);
            columns.Add(column);
            values.Add(distribution.Sample(ref random));
        }
    }
}
