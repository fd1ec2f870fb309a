using System.Numerics.Tensors;
using Sparse.Core;

namespace Sparse.Tests.Core;

[TestFixture]
public class KernelTests
{
    // Cases run on a SIMD path this CPU does not accelerate (in software emulation), reported once the fixture ends.
    private static int _emulated;

    /// <summary>Every SIMD level: the ones this machine lacks run in software emulation (<see cref="Options"/>).</summary>
    public static IEnumerable<SimdLevel> Levels() => Enum.GetValues<SimdLevel>();

    /// <summary>Options at <paramref name="level"/>, emulated in software where the CPU lacks it.</summary>
    public static ComputeOptions Options(SimdLevel level)
    {
        if (ComputeOptions.IsEmulated(level))
        {
            Interlocked.Increment(ref _emulated);
            return ComputeOptions.WithAnySimd(level);
        }

        return new ComputeOptions { Simd = level };
    }

    [OneTimeTearDown]
    public static void ReportEmulated()
    {
        if (_emulated > 0)
        {
            TestContext.Progress.WriteLine($"KernelTests: this CPU's widest accelerated path is {ComputeOptions.BestSimd}; " +
                $"{_emulated} kernel runs used a wider path in software emulation.");
        }
    }

    public static IEnumerable<int> ThreadCounts() => new[] { 1, Math.Max(2, Environment.ProcessorCount) }.Distinct();

    // (rows, columns, density, batch): empty shapes, 1x1, widths and batches off the vector width, densities 0..1.
    public static IEnumerable<TestCaseData> Shapes()
    {
        int[][] shapes = [[0, 0], [0, 5], [5, 0], [1, 1], [3, 1], [1, 9], [7, 13], [33, 17], [129, 65]];
        double[] densities = [0, 0.05, 0.3, 1];
        int[] batches = [1, 7, 16, 33, 100, 129];
        var seed = 0;
        foreach (var shape in shapes)
        {
            foreach (var density in densities)
            {
                foreach (var batch in batches)
                {
                    yield return new TestCaseData(shape[0], shape[1], density, batch, seed++)
                        .SetArgDisplayNames($"{shape[0]}x{shape[1]}", $"d{density}", $"b{batch}");
                }
            }
        }
    }

    // The untiled path, and three column tiles (forced: at these sizes the shapes alone never tile).
    private static readonly int[] TileCounts = [0, 3];

    [TestCaseSource(nameof(Shapes))]
    public void Kernels_match_dense_reference(int rows, int columns, double density, int batch, int seed)
    {
        var w = RandomSparse.Bernoulli(rows, columns, density, ValueDistribution.Uniform(1), (ulong)seed);
        var dense = DenseReference.ToDense(w);
        var x = DenseReference.RandomDense(columns * batch, seed);
        var dy = DenseReference.RandomDense(rows * batch, seed + 1000);
        var bias = DenseReference.RandomDense(rows, seed + 2000);
        var expectedY = DenseReference.Multiply(dense, x, bias, batch);
        var expectedDx = DenseReference.MultiplyTransposed(dense, dy, batch);
        var expectedDw = DenseReference.WeightGradient(w, dy, x, batch);
        var expectedNoBias = DenseReference.Multiply(dense, x, null, batch);
        var expectedDb = (
            Enumerable.Range(0, rows).Select(j => dy.Skip(j * batch).Take(batch).Sum(v => (double)v)).ToArray(),
            Enumerable.Range(0, rows).Select(j => dy.Skip(j * batch).Take(batch).Sum(v => Math.Abs((double)v))).ToArray());

        // A ReLU output as the gate: about half zeros.
        var gate = DenseReference.RandomDense(columns * batch, seed + 3000);
        TensorPrimitives.Max(gate, 0f, gate);

        foreach (var (level, threads, tiles, prefetch) in from l in Levels() from t in ThreadCounts() from c in TileCounts from p in new[] { false, true } select (l, t, c, p))
        {
            {
                // PrefetchAboveBytes 0: every kernel runs its prefetching loops, which read indices up to the last entry.
                var o = Options(level) with { Threads = threads, ForcedTiles = tiles, PrefetchAboveBytes = prefetch ? 0 : long.MaxValue };
                var what = $"{level}, {threads} threads, {(tiles == 0 ? "untiled" : $"{tiles} column tiles")}{(prefetch ? ", prefetching" : string.Empty)}";

                // Outputs start as garbage: every kernel overwrites.
                var y = Garbage(rows * batch);
                SparseOps.Multiply(w, x, bias, y, batch, o);
                DenseReference.AssertClose(y, expectedY, "forward " + what);

                SparseOps.Multiply(w, x, ReadOnlySpan<float>.Empty, y, batch, o);
                DenseReference.AssertClose(y, expectedNoBias, "forward without bias " + what);

                var dx = Garbage(columns * batch);
                SparseOps.MultiplyTransposed(w, dy, dx, batch, o);
                DenseReference.AssertClose(dx, expectedDx, "input gradient " + what);

                var dw = Garbage((int)w.NonZeroCount);
                SparseOps.WeightGradient(w, dy, x, dw, batch, o);
                DenseReference.AssertClose(dw, expectedDw, "weight gradient " + what);

                var db = Garbage(rows);
                dw = Garbage((int)w.NonZeroCount);
                SparseOps.WeightGradient(w, dy, x, dw, db, batch, o);
                DenseReference.AssertClose(dw, expectedDw, "weight gradient beside the bias gradient " + what);
                DenseReference.AssertClose(db, expectedDb, "bias gradient " + what);

                // The fused forms: against the reference, and bitwise against the unfused kernel plus its separate pass.
                SparseOps.Multiply(w, x, bias, y, batch, o);
                var relu = Garbage(rows * batch);
                SparseOps.MultiplyRelu(w, x, bias, relu, batch, o);
                DenseReference.AssertClose(relu, (expectedY.Value.Select(v => Math.Max(v, 0)).ToArray(), expectedY.Magnitude), "forward + ReLU " + what);
                TensorPrimitives.Max(y, 0f, y);
                Assert.That(relu, Is.EqualTo(y).AsCollection, "forward + ReLU, bitwise " + what);

                var gated = Garbage(columns * batch);
                SparseOps.MultiplyTransposedGated(w, dy, gate, gated, batch, o);
                DenseReference.AssertClose(gated, (expectedDx.Value.Select((v, n) => gate[n] > 0 ? v : 0).ToArray(), expectedDx.Magnitude), "gated input gradient " + what);
                for (var n = 0; n < dx.Length; n++)
                {
                    dx[n] = gate[n] > 0 ? dx[n] : 0;
                }

                Assert.That(gated, Is.EqualTo(dx).AsCollection, "gated input gradient, bitwise " + what);
            }
        }
    }

    [Test]
    public void Fused_relu_keeps_the_semantics_of_the_separate_pass([Values(0, 2)] int tiles)
    {
        foreach (var level in Levels())
        {
            var o = Options(level) with { ForcedTiles = tiles };

            // Row 0 sums to NaN, row 1 has no entries and a bias of -0, row 2 is negative, row 3 positive.
            var w = new CsrMatrix(4, 2, [0, 1, 1, 2, 4], [0, 1, 0, 1], [1f, -1f, 1f, 1f]);
            const int batch = 19;
            var x = new float[2 * batch];
            x.AsSpan(0, batch).Fill(float.NaN);
            x.AsSpan(batch, batch).Fill(2f);
            var y = Garbage(4 * batch);
            SparseOps.MultiplyRelu(w, x, [0f, -0f, 0f, 0f], y, batch, o);
            Assert.Multiple(() =>
            {
                Assert.That(y.AsSpan(0, batch).ToArray(), Is.All.NaN, $"NaN propagates, {level}");
                Assert.That(y.AsSpan(batch, 2 * batch).ToArray().Select(float.IsNegative), Is.All.False, $"-0 and negatives become +0, {level}");
                Assert.That(y.AsSpan(batch, 2 * batch).ToArray(), Is.All.Zero, level.ToString());
                Assert.That(y.AsSpan(3 * batch, batch).ToArray(), Is.All.EqualTo(float.NaN), "row 3 reads x[0] (NaN) too");
            });

            // Gate: a NaN, a zero, a negative and a positive ReLU output; the gradient is infinite everywhere.
            var gate = new float[2 * batch];
            gate.AsSpan(0, batch).Fill(float.NaN);
            gate.AsSpan(batch).Fill(-0f);
            gate[batch + 1] = 3f;
            var dy = new float[4 * batch];
            dy.AsSpan().Fill(float.PositiveInfinity);
            var dx = Garbage(2 * batch);
            SparseOps.MultiplyTransposedGated(w, dy, gate, dx, batch, o);
            var expected = new float[2 * batch];
            expected[batch + 1] = float.NaN; // column 1 sums -inf (row 2's entry -1) and +inf (row 3): NaN where the gate opens
            Assert.That(dx.Select(v => BitConverter.SingleToInt32Bits(v)), Is.EqualTo(expected.Select(v => BitConverter.SingleToInt32Bits(v))), $"+0 where the gate is shut, {level}");
        }
    }

    [Test]
    public void Prefetching_changes_no_bit_of_any_kernel([Values(1, 32, 131)] int batch, [Values(0, 3)] int tiles)
    {
        var w = RandomSparse.Bernoulli(300, 517, 0.05, ValueDistribution.Uniform(1), 11);
        var x = DenseReference.RandomDense(517 * batch, 12);
        var dy = DenseReference.RandomDense(300 * batch, 13);
        float[][] Run(long prefetchAbove)
        {
            var o = new ComputeOptions { PrefetchAboveBytes = prefetchAbove, ForcedTiles = tiles };
            var y = new float[300 * batch];
            var dx = new float[517 * batch];
            var dw = new float[w.NonZeroCount];
            SparseOps.Multiply(w, x, ReadOnlySpan<float>.Empty, y, batch, o);
            SparseOps.MultiplyTransposed(w, dy, dx, batch, o);
            SparseOps.WeightGradient(w, dy, x, dw, batch, o);
            return [y, dx, dw];
        }

        var plain = Run(long.MaxValue);
        var prefetched = Run(0);
        for (var n = 0; n < plain.Length; n++)
        {
            Assert.That(prefetched[n], Is.EqualTo(plain[n]).AsCollection, $"output {n}");
        }
    }

    [Test]
    public void Large_buffers_start_on_a_huge_page_and_small_ones_on_a_cache_line()
    {
        var large = AlignedMemory.Allocate(3 << 20, hugePages: true); // 12 MiB
        var small = AlignedMemory.Allocate(1000, hugePages: true);
        Assert.Multiple(() =>
        {
            Assert.That(AlignedMemory.IsAligned(large, OperatingSystem.IsLinux() ? AlignedMemory.HugePageBytes : AlignedMemory.Alignment), Is.True);
            Assert.That(AlignedMemory.IsAligned(small, AlignedMemory.Alignment), Is.True);
            Assert.That(large.Span.ContainsAnyExcept(0f), Is.False, "zeroed");
            Assert.That(large.Length, Is.EqualTo(3 << 20));
        });
    }

    [Test]
    public void Rows_with_no_entries_get_the_bias_and_zero_gradients()
    {
        // Row 1 and column 2 are empty.
        var w = new CsrMatrix(3, 3, [0, 2, 2, 3], [0, 1, 0], [1f, 2f, 3f]);
        const int batch = 9;
        var x = DenseReference.RandomDense(3 * batch, 1);
        var y = Garbage(3 * batch);
        SparseOps.Multiply(w, x, [0.5f, -1.5f, 2f], y, batch);
        Assert.That(y.AsSpan(batch, batch).ToArray(), Is.All.EqualTo(-1.5f));

        var dx = Garbage(3 * batch);
        SparseOps.MultiplyTransposed(w, DenseReference.RandomDense(3 * batch, 2), dx, batch);
        Assert.That(dx.AsSpan(2 * batch, batch).ToArray(), Is.All.EqualTo(0f));
    }

    [Test]
    public void Column_tiles_are_used_only_where_the_gathered_operand_outgrows_the_cache_and_rows_keep_entries_per_tile()
    {
        Assert.Multiple(() =>
        {
            // W2's hidden layer: 100,000 x 128 x 4 B = 51 MB gathered, 40 entries a row: seven 8 MiB tiles.
            var o = ComputeOptions.Default;
            Assert.That(ColumnTiling.Count(100_000, 100_000, 4_000_000, 128, o), Is.EqualTo(7));
            Assert.That(ColumnTiling.Count(1000, 1000, 40_000, 128, o), Is.EqualTo(1), "fits the cache");
            Assert.That(ColumnTiling.Count(1_000_000, 1_000_000, 40_000_000, 32, o), Is.EqualTo(1), "16 tiles would leave 2.5 entries a row");
            Assert.That(ColumnTiling.Count(0, 100_000, 0, 128, o), Is.EqualTo(1), "no rows");
            Assert.That(ColumnTiling.Count(100_000, 100_000, 4_000_000, 128, o with { ColumnTileBytes = 0 }), Is.EqualTo(1), "tiling turned off");
            Assert.That(ColumnTiling.Count(100_000, 100_000, 4_000_000, 128, o, reach: 4_097), Is.EqualTo(1), "a band of 4,096: 2 MiB of rows, within a tile");
            Assert.That(ColumnTiling.Count(100_000, 100_000, 4_000_000, 128, o, reach: 90_000), Is.EqualTo(7), "an Erdos-Renyi reach");
            Assert.That(ColumnTiling.Start(0, 7, 100_000), Is.Zero);
            Assert.That(ColumnTiling.Start(7, 7, 100_000), Is.EqualTo(100_000));
        });
    }

    public static IEnumerable<TestCaseData> LevelsAndTiles() =>
        from level in Levels() from tiles in new[] { 0, 4 } select new TestCaseData(level, tiles);

    [TestCaseSource(nameof(LevelsAndTiles))]
    public void Results_are_bitwise_identical_for_any_thread_count(SimdLevel level, int tiles)
    {
        // Tiles are passes; each output is still computed by one thread.
        var options = Options(level) with { ForcedTiles = tiles };
        const int batch = 67;
        var w = RandomSparse.ErdosRenyi(700, 500, 20, ValueDistribution.Normal(0.1f), 5);
        var x = DenseReference.RandomDense(500 * batch, 6);
        var dy = DenseReference.RandomDense(700 * batch, 7);
        var bias = DenseReference.RandomDense(700, 8);

        float[][] Run(int threads)
        {
            var o = options with { Threads = threads };
            var y = new float[700 * batch];
            var dx = new float[500 * batch];
            var dw = new float[w.NonZeroCount];
            var relu = new float[700 * batch];
            var gated = new float[500 * batch];
            var db = new float[700];
            SparseOps.Multiply(w, x, bias, y, batch, o);
            SparseOps.MultiplyTransposed(w, dy, dx, batch, o);
            SparseOps.WeightGradient(w, dy, x, dw, batch, o);
            SparseOps.MultiplyRelu(w, x, bias, relu, batch, o);
            SparseOps.MultiplyTransposedGated(w, dy, x, gated, batch, o);
            var dwBeside = new float[w.NonZeroCount];
            SparseOps.WeightGradient(w, dy, x, dwBeside, db, batch, o);
            return [y, dx, dw, relu, gated, dwBeside, db];
        }

        var serial = Run(1);
        foreach (var threads in new[] { 2, 3, 8 })
        {
            var parallel = Run(threads);
            for (var n = 0; n < serial.Length; n++)
            {
                Assert.That(parallel[n], Is.EqualTo(serial[n]).AsCollection, $"operand {n} with {threads} threads");
            }
        }
    }

    [Test]
    public void Input_gradient_follows_a_structure_change()
    {
        var w = RandomSparse.FixedFanIn(20, 30, 4, ValueDistribution.Uniform(1), 3);
        const int batch = 8;
        var dy = DenseReference.RandomDense(20 * batch, 4);
        var dx = new float[30 * batch];
        SparseOps.MultiplyTransposed(w, dy, dx, batch);

        // Move every entry of row 0 to the columns 0..3 and tell the matrix.
        for (var k = 0; k < 4; k++)
        {
            w.ColumnIndices[k] = k;
        }

        w.StructureChanged();
        SparseOps.MultiplyTransposed(w, dy, dx, batch);
        DenseReference.AssertClose(dx, DenseReference.MultiplyTransposed(DenseReference.ToDense(w), dy, batch), "after change");
    }

    [Test]
    public void Wrong_lengths_and_overlaps_are_rejected_with_the_argument_named()
    {
        var w = RandomSparse.FixedFanIn(4, 5, 2, ValueDistribution.Uniform(1), 1);
        var x = new float[5 * 3];
        var y = new float[4 * 3];
        Assert.Multiple(() =>
        {
            Assert.That(() => SparseOps.Multiply(w, new float[14], [], y, 3), Throws.ArgumentException.With.Property("ParamName").EqualTo("input"));
            Assert.That(() => SparseOps.Multiply(w, x, [], new float[13], 3), Throws.ArgumentException.With.Property("ParamName").EqualTo("output"));
            Assert.That(() => SparseOps.Multiply(w, x, new float[3], y, 3), Throws.ArgumentException.With.Property("ParamName").EqualTo("bias"));
            Assert.That(() => SparseOps.MultiplyTransposed(w, new float[11], x, 3), Throws.ArgumentException.With.Property("ParamName").EqualTo("outputGradient"));
            Assert.That(() => SparseOps.WeightGradient(w, y, x, new float[7], 3), Throws.ArgumentException.With.Property("ParamName").EqualTo("weightGradient"));
            Assert.That(() => SparseOps.MultiplyTransposedGated(w, y, new float[14], x, 3), Throws.ArgumentException.With.Property("ParamName").EqualTo("gate"));
            Assert.That(() => SparseOps.MultiplyTransposedGated(w, y, x, x, 3), Throws.ArgumentException.With.Property("ParamName").EqualTo("inputGradient"));
            Assert.That(() => SparseOps.MultiplyRelu(w, x, [], new float[13], 3), Throws.ArgumentException.With.Property("ParamName").EqualTo("output"));
            Assert.That(() => SparseOps.WeightGradient(w, y, x, new float[w.NonZeroCount], new float[3], 3), Throws.ArgumentException.With.Property("ParamName").EqualTo("biasGradient"));
            Assert.That(() => SparseOps.WeightGradient(w, y, x, new float[w.NonZeroCount], y.AsSpan(0, 4), 3), Throws.ArgumentException.With.Property("ParamName").EqualTo("biasGradient"));
            var shared = new float[40];
            Assert.That(() => SparseOps.Multiply(w, shared.AsSpan(0, 15), [], shared.AsSpan(10, 12), 3), Throws.ArgumentException.With.Message.Contains("overlap"));
        });
    }

    [Test]
    public void Warm_kernel_calls_allocate_nothing([Values(0, 3)] int tiles)
    {
        var o = new ComputeOptions { ForcedTiles = tiles, Threads = Math.Max(2, Environment.ProcessorCount) };
        const int batch = 64;
        var w = RandomSparse.ErdosRenyi(400, 300, 20, ValueDistribution.Normal(0.1f), 9);
        var x = new float[300 * batch];
        var y = new float[400 * batch];
        var dx = new float[300 * batch];
        var dw = new float[w.NonZeroCount];
        var db = new float[400];
        void Step()
        {
            SparseOps.WeightGradient(w, y, x, dw, db, batch, o);
            SparseOps.Multiply(w, x, [], y, batch, o);
            SparseOps.MultiplyTransposed(w, y, dx, batch, o);
            SparseOps.WeightGradient(w, y, x, dw, batch, o);
            SparseOps.MultiplyRelu(w, x, [], y, batch, o);
            SparseOps.MultiplyTransposedGated(w, y, x, dx, batch, o);
        }

        Step();
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var n = 0; n < 10; n++)
        {
            Step();
        }

        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero);
    }

    private static float[] Garbage(int length)
    {
        var a = new float[length];
        a.AsSpan().Fill(float.NaN);
        return a;
    }
}
