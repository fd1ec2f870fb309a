using Sparse.Core;
using Sparse.Topology;
using Sparse.Training;

namespace Sparse.Tests.Topology;

/// <summary>The O(nnz) building blocks of an evolution step against slow, obvious references.</summary>
[TestFixture]
public class SelectionTests
{
    // Values with many ties, both zeros, NaN, infinities, and neighbours that share their top 16 bits,
    // so both levels of the radix select and the tie rule are exercised.
    private static float[] AwkwardValues(int count, int seed)
    {
        var random = new Random(seed);
        var values = new float[count];
        for (var k = 0; k < count; k++)
        {
            values[k] = random.Next(8) switch
            {
                0 => 0f,
                1 => -0f,
                2 => MathF.Round((float)random.NextDouble() * 4, 1) * (random.Next(2) == 0 ? 1 : -1),
                3 => 1f + (random.Next(50) * 1e-7f), // same top 16 bits, different low bits
                4 => -(1f + (random.Next(50) * 1e-7f)),
                5 => k % 97 == 0 ? float.NaN : (k % 89 == 0 ? float.NegativeInfinity : float.PositiveInfinity),
                _ => (float)((random.NextDouble() * 2) - 1),
            };
        }

        return values;
    }

    private static SparseLinear RowOf(float[] values) =>
        new(new CsrMatrix(1, values.Length, [0, values.Length], [.. Enumerable.Range(0, values.Length)], values));

    // The reference: stable sort of the candidates by key, the first round(fraction x n) of them.
    private static bool[] Reference(float[] values, double fraction, Func<float, bool> candidate, Func<float, float> key)
    {
        var order = Enumerable.Range(0, values.Length).Where(k => candidate(values[k])).OrderBy(k => key(values[k])).ToArray();
        var drop = new bool[values.Length];
        foreach (var k in order.Take(MagnitudePruner.CountFor(order.Length, fraction)))
        {
            drop[k] = true;
        }

        return drop;
    }

    [TestCase(1, 0.3)]
    [TestCase(2, 0.0)]
    [TestCase(3, 1.0)]
    [TestCase(4, 0.5)]
    [TestCase(5, 0.01)]
    public void Magnitude_pruning_marks_exactly_what_a_stable_sort_would(int seed, double fraction)
    {
        var values = AwkwardValues(3001, seed);
        var layer = RowOf(values);

        var set = new bool[values.Length];
        var setCount = new MagnitudePruner().SelectDrops(layer, fraction, null, set);
        var positive = Reference(values, fraction, v => v >= 0, v => v);
        var negative = Reference(values, fraction, v => v < 0, v => -v);
        var expectedSet = positive.Zip(negative, (p, n) => p || n).ToArray();

        var plain = new bool[values.Length];
        var plainCount = new MagnitudePruner(separateSigns: false).SelectDrops(layer, fraction, null, plain);
        var expectedPlain = Reference(values, fraction, v => !float.IsNaN(v), MathF.Abs);

        Assert.Multiple(() =>
        {
            Assert.That(set, Is.EqualTo(expectedSet), "SET: each sign apart, ties by position");
            Assert.That(setCount, Is.EqualTo(expectedSet.Count(d => d)));
            Assert.That(plain, Is.EqualTo(expectedPlain), "RigL: |w|, NaN never dropped");
            Assert.That(plainCount, Is.EqualTo(expectedPlain.Count(d => d)));
        });
    }

    private static (List<int> Rows, List<int> Columns) GrowRandom(CsrMatrix kept, int count, ulong seed)
    {
        var layer = new SparseLinear(kept);
        var grown = new CooMatrix(kept.Rows, kept.Columns);
        new RandomRegrower(seed).Grow(new GrowthRequest(layer, kept, count, new HashSet<long>(), null), grown);
        Assert.That(grown.Count, Is.EqualTo(count));
        return ([.. grown.RowIndices.ToArray()], [.. grown.ColumnIndices.ToArray()]);
    }

    // Kept structures that take each path: a scan of every free position (count >= free / 4), sorted spacings
    // with many duplicates to top up (free only a few times count), and a tiny density with a free space in
    // the billions; plus empty rows and a one-column layer.
    [TestCase(20, 30, 0.3, 100, TestName = "Selection scan over the free positions")]
    [TestCase(20, 30, 0.3, 420, TestName = "Every free position")]
    [TestCase(20, 30, 0.1, 90, TestName = "Spacings with duplicates topped up")]
    [TestCase(60_000, 60_000, 0.0001, 50_000, TestName = "Tiny density, a free space of 3.6e9")]
    [TestCase(500, 1, 0.5, 100, TestName = "One column")]
    public void Random_regrowth_is_sorted_distinct_and_only_at_free_positions(int outputs, int inputs, double density, int count)
    {
        var kept = RandomSparse.Bernoulli(outputs, inputs, density, ValueDistribution.Normal(1), 5);
        var free = ((long)outputs * inputs) - kept.NonZeroCount;
        count = (int)Math.Min(count, free);
        var (rows, columns) = GrowRandom(kept, count, 9);
        var occupied = new HashSet<(int, int)>();
        for (var row = 0; row < kept.Rows; row++)
        {
            for (var p = kept.RowPointers[row]; p < kept.RowPointers[row + 1]; p++)
            {
                occupied.Add((row, kept.ColumnIndices[p]));
            }
        }

        var picks = rows.Zip(columns).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(picks, Has.Count.EqualTo(count));
            Assert.That(picks.Where(occupied.Contains), Is.Empty, "never an existing connection");
            Assert.That(picks.Distinct().Count(), Is.EqualTo(count), "no duplicates");
            Assert.That(picks.Select(p => ((long)p.First * inputs) + p.Second), Is.Ordered, "ordered by row, then column");
            Assert.That(picks.All(p => p.First >= 0 && p.First < outputs && p.Second >= 0 && p.Second < inputs));
        });
    }

    // Every free position must be equally likely, on both sampling paths: over many seeds, each position's count
    // is binomial(draws, count / free); a chi-square statistic over all free positions stays near its degrees of
    // freedom (the bound is mean + 5 standard deviations, so a fair sampler fails about once in a million runs).
    [TestCase(30, TestName = "Uniform on the spacings path")]
    [TestCase(120, TestName = "Uniform on the selection path")]
    public void Random_regrowth_picks_every_free_position_equally_often(int count)
    {
        var kept = RandomSparse.Bernoulli(12, 25, 0.2, ValueDistribution.Normal(1), 2);
        var free = (int)((12 * 25) - kept.NonZeroCount);
        const int runs = 3000;
        var hits = new Dictionary<(int, int), int>();
        for (var run = 0; run < runs; run++)
        {
            var (rows, columns) = GrowRandom(kept, count, (ulong)run + 1);
            foreach (var pick in rows.Zip(columns))
            {
                hits[pick] = hits.GetValueOrDefault(pick) + 1;
            }
        }

        var expected = runs * (double)count / free;
        var chiSquare = hits.Values.Sum(h => (h - expected) * (h - expected) / expected) + ((free - hits.Count) * expected);
        var degrees = free - 1;
        Assert.Multiple(() =>
        {
            Assert.That(hits, Has.Count.EqualTo(free), "every free position was picked at some point");
            Assert.That(chiSquare, Is.LessThan(degrees + (5 * Math.Sqrt(2.0 * degrees))), $"chi-square over {free} positions");
        });
    }
}
