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

    // The ziggurat against the normal distribution function, in 34 bins from the far left tail to the far right
    // one (the outermost beyond 3.5, past the base layer's edge R = 3.44, where the exact tail method draws),
    // and its first two moments; Box-Muller and ValueDistribution.Fill alike.
    [Test]
    public void Ziggurat_normal_draws_follow_the_normal_distribution()
    {
        const int draws = 2_000_000;
        double[] edges = [double.NegativeInfinity, -4.5, -4.0, .. Enumerable.Range(0, 29).Select(i => -3.5 + (i * 0.25)), 4.0, 4.5, double.PositiveInfinity];
        foreach (var (name, draw) in new (string, Func<SparseRandom, int, double[]>)[]
        {
            ("NextNormal", (random, n) => { var v = new double[n]; for (var k = 0; k < n; k++) { v[k] = random.NextNormal(); } return v; }),
            ("Fill", (random, n) => { var v = new float[n]; ValueDistribution.Normal(1f).Fill(v, ref random); return [.. v.Select(x => (double)x)]; }),
            ("NextGaussian", (random, n) => { var v = new double[n]; for (var k = 0; k < n; k++) { v[k] = random.NextGaussian(); } return v; }),
        })
        {
            var values = draw(new SparseRandom(11), draws);
            var counts = new double[edges.Length - 1];
            foreach (var v in values)
            {
                var bin = Array.BinarySearch(edges, v);
                counts[bin >= 0 ? Math.Min(bin, counts.Length - 1) : ~bin - 1]++;
            }

            double chi = 0;
            for (var b = 0; b < counts.Length; b++)
            {
                var expected = draws * (Phi(edges[b + 1]) - Phi(edges[b]));
                chi += (counts[b] - expected) * (counts[b] - expected) / expected;
            }

            var mean = values.Average();
            var variance = values.Average(v => v * v) - (mean * mean);
            Assert.Multiple(() =>
            {
                // 99.9th percentile of chi-square with 33 degrees of freedom: 63.9. Moments within 5 standard errors.
                Assert.That(chi, Is.LessThan(63.9).And.GreaterThanOrEqualTo(0), name + ": chi-square over the bins");
                Assert.That(mean, Is.EqualTo(0).Within(5 / Math.Sqrt(draws)), name + ": mean");
                Assert.That(variance, Is.EqualTo(1).Within(5 * Math.Sqrt(2.0 / draws)), name + ": variance");
                Assert.That(counts[^1] + counts[0], Is.GreaterThan(0), name + ": draws beyond 4.5");
            });
        }
    }

    [TestCase(200, 1000, 0.02, 64)]
    [TestCase(1000, 200, 0.1, 33)]
    [TestCase(300, 300, 0.002, 1)]
    [TestCase(50, 7, 0.3, 5)]
    public void A_band_holds_each_row_to_its_window_with_the_unbanded_expected_count(int rows, int columns, double density, int window)
    {
        const int seeds = 20;
        double total = 0;
        for (var seed = 0UL; seed < seeds; seed++)
        {
            var m = RandomSparse.Banded(rows, columns, density, window, ValueDistribution.Constant(1), seed);
            m.Validate();
            total += m.NonZeroCount;
            for (var r = 0; r < rows; r++)
            {
                var start = RandomSparse.BandStart(r, rows, columns, window);
                for (var k = m.RowPointers[r]; k < m.RowPointers[r + 1]; k++)
                {
                    // The offset from the band's start, modulo the columns: inside the band when below the window.
                    var offset = ((m.ColumnIndices[k] - start) % columns + columns) % columns;
                    Assert.That(offset, Is.LessThan(window), $"row {r}, column {m.ColumnIndices[k]}, band from {start}");
                }
            }
        }

        // Each of the rows x window band cells is stored with probability density x columns / window (below 1 here),
        // so the count's mean is density x rows x columns, within 5 standard errors.
        var p = density * columns / window;
        var cells = (double)rows * window;
        Assert.That(total / seeds, Is.EqualTo(cells * p).Within(5 * Math.Sqrt(cells * p * (1 - p) / seeds)));
    }

    [Test]
    public void A_band_covers_every_column_evenly_and_follows_the_rows()
    {
        // 400 x 400 at window 40: column c lies in the bands of the 40 rows centred near it, so columns are evenly
        // covered (no edge effect, the band wraps), and the mean column of a row's band rises with the row.
        var byColumn = new double[400];
        for (var seed = 0UL; seed < 10; seed++)
        {
            var m = RandomSparse.Banded(400, 400, 0.05, 40, ValueDistribution.Constant(1), seed + 7);
            foreach (var c in m.ColumnIndices)
            {
                byColumn[c]++;
            }
        }

        Assert.Multiple(() =>
        {
            // 99.9th percentile of chi-square with 399 degrees of freedom: 489.
            Assert.That(ChiSquare(byColumn, 10 * (400 * 400 * 0.05) / 400), Is.LessThan(489));
            Assert.That(RandomSparse.BandStart(0, 400, 400, 40), Is.EqualTo(380), "row 0's band wraps to the last columns");
            Assert.That(RandomSparse.BandStart(200, 400, 400, 40), Is.EqualTo(180));
            Assert.That(RandomSparse.BandStart(1, 2, 1000, 100), Is.EqualTo(700));
        });
    }

    [Test]
    public void A_band_as_wide_as_the_row_is_the_bernoulli_matrix()
    {
        var plain = RandomSparse.Bernoulli(60, 90, 0.1, ValueDistribution.Normal(1), 5);
        foreach (var window in new[] { 90, 91, int.MaxValue })
        {
            var banded = RandomSparse.Banded(60, 90, 0.1, window, ValueDistribution.Normal(1), 5);
            Assert.Multiple(() =>
            {
                Assert.That(banded.RowPointers, Is.EqualTo(plain.RowPointers));
                Assert.That(banded.ColumnIndices, Is.EqualTo(plain.ColumnIndices));
                Assert.That(banded.Values, Is.EqualTo(plain.Values));
            });
        }

        Assert.That(() => RandomSparse.Banded(3, 3, 0.5, 0, ValueDistribution.Constant(1), 1), Throws.InstanceOf<ArgumentOutOfRangeException>());
    }

    // The standard normal distribution function, through erfc (Numerical Recipes' Chebyshev fit, error below 1.2e-7).
    private static double Phi(double x)
    {
        if (double.IsInfinity(x))
        {
            return x > 0 ? 1 : 0;
        }

        var z = Math.Abs(x) / Math.Sqrt(2);
        var t = 1 / (1 + (0.5 * z));
        double[] coefficients = [-1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806, 0.27886807, -1.13520398, 1.48851587, -0.82215223, 0.17087277];
        var polynomial = 0.0;
        for (var c = coefficients.Length - 1; c >= 0; c--)
        {
            polynomial = (polynomial * t) + coefficients[c];
        }

        var erfc = t * Math.Exp((-z * z) + polynomial);
        return x >= 0 ? 1 - (0.5 * erfc) : 0.5 * erfc;
    }

    private static double ChiSquare(double[] observed, double expected) =>
        observed.Sum(o => (o - expected) * (o - expected) / expected);
}
