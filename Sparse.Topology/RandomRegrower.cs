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
    public void Grow(SparseLinear layer, CsrMatrix kept, int count, List<int> rows, List<int> columns, List<float> values)
    {
        var free = ((long)kept.Rows * kept.Columns) - kept.NonZeroCount;
        if (count > free)
        {
            throw new InvalidOperationException($"Cannot grow {count} connections: only {free} positions are free.");
        }

        var distribution = Values;
        var chosen = new HashSet<long>(count);
        while (chosen.Count < count)
        {
            var row = _random.NextInt(kept.Rows);
            var column = _random.NextInt(kept.Columns);
            var start = (int)kept.RowPointers[row];
            var length = kept.RowLength(row);
            if (Array.BinarySearch(kept.ColumnIndices, start, length, column) >= 0 || !chosen.Add(((long)row * kept.Columns) + column))
            {
                continue;
            }

            rows.Add(row);
            columns.Add(column);
            values.Add(distribution.Sample(ref _random));
        }
    }
}
