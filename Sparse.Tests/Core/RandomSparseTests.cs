using Sparse.Core;

namespace Sparse.Tests.Core;

[TestFixture]
public class RandomSparseTests
{
    [Test]
    public void Erdos_renyi_density_follows_the_set_formula()
    {
        Assert.Multiple(() =>
        {
            Assert.That(RandomSparse.ErdosRenyiDensity(1000, 784, 20), Is.EqualTo(20.0 * 1784 / (1000.0 * 784)).Within(1e-15));
            Assert.That(RandomSparse.ErdosRenyiDensity(10, 10, 20), Is.EqualTo(1.0), "capped at 1");
            Assert.That(RandomSparse.ErdosRenyiDensity(0, 10, 20), Is.Zero);
        });
    }

    [TestCase(1000, 784, 20.0)]
    [TestCase(300, 50, 3.0)]
    [TestCase(64, 64, 30.0)]
    public void Erdos_renyi_stores_the_expected_count_within_sampling_error(int rows, int columns, double epsilon)
    {
        var p = RandomSparse.ErdosRenyiDensity(rows, columns, epsilon);
        var cells = (double)rows * columns;
        const int seeds = 20;
        double total = 0;
        for (var seed = 0UL; seed < seeds; seed++)
        {
            var m = RandomSparse.ErdosRenyi(rows, columns, epsilon, ValueDistribution.Constant(1), seed);
            m.Validate();
            total += m.NonZeroCount;
        }

        // The count is Binomial(cells, p) per seed; the mean of 20 is within 5 standard errors of p x cells.
        var mean = total / seeds;
        var standardError = Math.Sqrt(cells * p * (1 - p) / seeds);
        Assert.That(mean, Is.EqualTo(cells * p).Within(5 * standardError + 1e-9));
    }

    [Test]
    public void Bernoulli_positions_are_uniform_over_columns_and_rows()
    {
        // Chi-square over 50 columns and over 40 rows of a 40 x 50 matrix at density 0.2, 30 seeds pooled.
        var byColumn = new double[50];
        var byRow = new double[40];
        for (var seed = 0UL; seed < 30; seed++)
        {
            var m = RandomSparse.Bernoulli(40, 50, 0.2, ValueDistribution.Constant(1), seed + 100);
            for (var r = 0; r < m.Rows; r++)
            {
                byRow[r] += m.RowLength(r);
                for (var k = m.RowPointers[r]; k < m.RowPointers[r + 1]; k++)
                {
                    byColumn[m.ColumnIndices[k]]++;
                }
            }
        }

        Assert.Multiple(() =>
        {
            // 99.9th percentiles of chi-square with 49 and 39 degrees of freedom: 85.4 and 72.1.
            Assert.That(ChiSquare(byColumn, 30 * 40 * 0.2), Is.LessThan(85.4));
            Assert.That(ChiSquare(byRow, 30 * 50 * 0.2), Is.LessThan(72.1));
        });
    }

    [Test]
    public void Density_zero_and_one_are_exact()
    {
        Assert.Multiple(() =>
        {
            Assert.That(RandomSparse.Bernoulli(20, 30, 0, ValueDistribution.Constant(1), 1).NonZeroCount, Is.Zero);
            var full = RandomSparse.Bernoulli(20, 30, 1, ValueDistribution.Constant(1), 1);
            Assert.That(full.NonZeroCount, Is.EqualTo(600));
            full.Validate();
        });
    }

    [Test]
    public void Fixed_fan_in_gives_every_row_exactly_that_many_distinct_columns()
    {
        var m = RandomSparse.FixedFanIn(500, 37, 12, ValueDistribution.Normal(1), 7);
        m.Validate();
        for (var r = 0; r < m.Rows; r++)
        {
            Assert.That(m.RowLength(r), Is.EqualTo(12));
        }

        var all = RandomSparse.FixedFanIn(3, 5, 5, ValueDistribution.Normal(1), 7);
        Assert.That(all.ColumnIndices, Is.EqualTo(new[] { 0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 1, 2, 3, 4 }));
    }

    [Test]
    public void The_same_seed_gives_the_same_matrix_and_another_seed_another()
    {
        var a = RandomSparse.ErdosRenyi(200, 300, 10, ValueDistribution.Normal(0.5f), 42);
        var b = RandomSparse.ErdosRenyi(200, 300, 10, ValueDistribution.Normal(0.5f), 42);
        var c = RandomSparse.ErdosRenyi(200, 300, 10, ValueDistribution.Normal(0.5f), 43);
        Assert.Multiple(() =>
        {
            Assert.That(b.RowPointers, Is.EqualTo(a.RowPointers));
            Assert.That(b.ColumnIndices, Is.EqualTo(a.ColumnIndices));
            Assert.That(b.Values, Is.EqualTo(a.Values));
            Assert.That(c.ColumnIndices, Is.Not.EqualTo(a.ColumnIndices));
        });
    }

    [Test]
    public void Value_distributions_have_their_moments()
    {
        var normal = RandomSparse.FixedFanIn(2000, 100, 50, ValueDistribution.Normal(0.5f), 3).Values;
        var uniform = RandomSparse.FixedFanIn(2000, 100, 50, ValueDistribution.Uniform(2f), 3).Values;
        Assert.Multiple(() =>
        {
            Assert.That(normal.Average(), Is.EqualTo(0).Within(0.01));
            Assert.That(Math.Sqrt(normal.Average(v => v * v)), Is.EqualTo(0.5).Within(0.01));
            Assert.That(uniform.Min(), Is.GreaterThanOrEqualTo(-2f));
            Assert.That(uniform.Max(), Is.LessThan(2f));
            Assert.That(uniform.Average(v => v * v), Is.EqualTo(4.0 / 3).Within(0.02));
        });
    }

    [Test]
    public void Next_int_is_unbiased_over_a_small_range()
    {
        var random = new SparseRandom(9);
        var counts = new double[7];
        for (var n = 0; n < 70000; n++)
        {
            counts[random.NextInt(7)]++;
        }

        // 99.9th percentile of chi-square with 6 degrees of freedom: 22.5.
        Assert.That(ChiSquare(counts, 10000), Is.LessThan(22.5));
    }

    private static double ChiSquare(double[] observed, double expected) =>
        observed.Sum(o => (o - expected) * (o - expected) / expected);
}
