using Sparse.Core;

namespace Sparse.Tests.Core;

/// <summary>
/// The kernels of a layer with sparse input against the dense reference on the batch written out densely: random
/// shapes with empty samples, features at the first and last input, one column, batches off the chunk sizes, outputs
/// on both sides of the forward product's buffered limit; the
/// weight gradient written at the active features' connections and nowhere else; the same bits at any thread count.
/// </summary>
[TestFixture]
public class SparseInputOpsTests
{
    // A batch of sparse samples: compressed rows over `inputs` features (some samples empty), and the same written out
    // feature-major, shape (inputs, batch).
    private static (long[] Pointers, int[] Features, float[] Values, float[] Dense) Batch(int inputs, int batch, double density, int seed)
    {
        var random = new Random(seed);
        var pointers = new List<long> { 0 };
        var features = new List<int>();
        var values = new List<float>();
        var dense = new float[inputs * batch];
        for (var b = 0; b < batch; b++)
        {
            for (var f = 0; f < inputs && b % 5 != 3; f++)
            {
                if (random.NextDouble() < density || (b == 0 && (f == 0 || f == inputs - 1)))
                {
                    var v = (float)((random.NextDouble() * 2) - 1);
                    features.Add(f);
                    values.Add(v);
                    dense[(f * batch) + b] = v;
                }
            }

            pointers.Add(features.Count);
        }

        return ([.. pointers], [.. features], [.. values], dense);
    }

    public static IEnumerable<TestCaseData> Shapes()
    {
        // Up to 4,096 outputs the forward product sums each sample in a buffer; 4,100 takes the path that sums in place.
        int[][] shapes = [[1, 1], [5, 1], [1, 9], [7, 13], [33, 200], [129, 1000], [4100, 12]];
        int[] batches = [1, 7, 16, 33, 129];
        var seed = 0;
        foreach (var shape in shapes)
        {
            foreach (var density in new[] { 0.02, 0.3 })
            {
                foreach (var batch in batches)
                {
                    yield return new TestCaseData(shape[0], shape[1], density, batch, seed++).SetArgDisplayNames($"{shape[0]}x{shape[1]}", $"d{density}", $"b{batch}");
                }
            }
        }
    }

    [TestCaseSource(nameof(Shapes))]
    public void Forward_and_weight_gradient_match_the_dense_reference_at_the_active_features(int rows, int columns, double density, int batch, int seed)
    {
        var w = RandomSparse.Bernoulli(rows, columns, 0.4, ValueDistribution.Uniform(1), (ulong)seed);
        var (pointers, features, values, x) = Batch(columns, batch, density, seed);
        var dy = DenseReference.RandomDense(rows * batch, seed + 1000);
        var bias = DenseReference.RandomDense(rows, seed + 2000);
        var active = new ActiveFeatures();
        active.Build(pointers, features, values, batch);
        Assert.That(active.Features.ToArray(), Is.EqualTo(features.Distinct().Order().ToArray()));
        for (var a = 0; a < active.Count; a++)
        {
            // Each feature's samples in increasing order, each with its value.
            var expected = Enumerable.Range(0, batch)
                .SelectMany(b => Enumerable.Range((int)pointers[b], (int)(pointers[b + 1] - pointers[b])).Where(e => features[e] == active.Features[a]).Select(e => (b, values[e])));
            var got = Enumerable.Range(active.Pointers[a], active.Pointers[a + 1] - active.Pointers[a]).Select(n => (active.Samples[n], active.Values[n]));
            Assert.That(got, Is.EqualTo(expected), $"feature {active.Features[a]}");
        }


        var results = new List<(float[] Y, float[] Dw, float[] Db)>();
        foreach (var threads in KernelTests.ThreadCounts())
        {
            var options = new ComputeOptions { Threads = threads };
            var y = new float[rows * batch];
            SparseInputOps.Multiply(w, pointers, features, values, bias, y, batch, options);
            DenseReference.AssertClose(y, DenseReference.Multiply(DenseReference.ToDense(w), x, bias, batch), "forward");

            // Inactive features' entries keep what they held: NaN here.
            var dw = Enumerable.Repeat(float.NaN, (int)w.NonZeroCount).ToArray();
            var db = new float[rows];
            SparseInputOps.WeightGradient(w, dy, active, dw, db, batch, options);
            var expected = DenseReference.WeightGradient(w, dy, x, batch);
            var positions = new int[active.ConnectionCount(w)];
            Assert.That(active.Positions(w, positions), Is.EqualTo(positions.Length));
            var sorted = new int[positions.Length];
            Assert.That(active.SortedPositions(w, sorted, new int[positions.Length]), Is.EqualTo(positions.Length));
            Assert.That(sorted, Is.EqualTo(positions.Order().ToArray()));
            var touched = positions.ToHashSet();
            for (var k = 0; k < dw.Length; k++)
            {
                var activeColumn = active.Features.Contains(w.ColumnIndices[k]);
                Assert.That(touched.Contains(k), Is.EqualTo(activeColumn), $"position {k}");
                if (activeColumn)
                {
                    Assert.That(dw[k], Is.EqualTo(expected.Value[k]).Within((1e-5 * expected.Magnitude[k]) + 1e-6), $"dW at {k}");
                }
                else
                {
                    Assert.That(dw[k], Is.NaN, $"dW at {k} of a feature the batch lacks");
                }
            }

            for (var r = 0; r < rows; r++)
            {
                Assert.That(db[r], Is.EqualTo(dy.Skip(r * batch).Take(batch).Sum(v => (double)v)).Within(1e-4));
            }

            // Stored input-major (W^T), the same sums in the same order: the same bits, each connection's gradient at
            // its place in W^T, and the active features' connections as runs of increasing positions.
            var transposed = w.Clone();
            var source = transposed.TransposeInPlace();
            var yT = new float[rows * batch];
            SparseInputOps.MultiplyInputMajor(transposed, pointers, features, values, bias, yT, batch, options);
            Assert.That(yT, Is.EqualTo(y).Using(new BitsEqual1()), "input-major forward");
            var dwT = Enumerable.Repeat(float.NaN, (int)w.NonZeroCount).ToArray();
            var dbT = new float[rows];
            SparseInputOps.WeightGradientInputMajor(transposed, dy, active, dwT, dbT, batch, options);
            Assert.That(dbT, Is.EqualTo(db));
            for (var k = 0; k < dwT.Length; k++)
            {
                Assert.That(BitConverter.SingleToInt32Bits(dwT[k]), Is.EqualTo(BitConverter.SingleToInt32Bits(dw[source[k]])), $"input-major dW at {k}");
            }

            var runs = new int[active.ConnectionCountInputMajor(transposed)];
            Assert.That(runs.Length, Is.EqualTo(positions.Length));
            Assert.That(active.PositionsInputMajor(transposed, runs), Is.EqualTo(runs.Length));
            Assert.That(runs, Is.Ordered.Ascending);
            Assert.That(runs.Select(k => source[k]).Order().ToArray(), Is.EqualTo(sorted), "the same connections as output-major");

            // The same entries as joined runs: increasing, non-empty, no two touching.
            var (starts, lengths) = (new int[active.Count], new int[active.Count]);
            var runCount = active.RunsInputMajor(transposed, starts, lengths, out var entries);
            Assert.That(entries, Is.EqualTo(runs.Length));
            var joined = Enumerable.Range(0, runCount).SelectMany(r => Enumerable.Range(starts[r], lengths[r])).ToArray();
            Assert.That(joined, Is.EqualTo(runs), "the runs hold the positions");
            for (var r = 0; r < runCount; r++)
            {
                Assert.That(lengths[r], Is.Positive);
                Assert.That(r == 0 || starts[r] > starts[r - 1] + lengths[r - 1], Is.True, $"run {r} is apart from the one before");
            }
            results.Add((y, dw, db));
        }

        Assert.That(results.Select(r => r.Y).Distinct(new BitsEqual()).Count(), Is.EqualTo(1), "the same bits at any thread count");
        Assert.That(results.Select(r => r.Dw).Distinct(new BitsEqual()).Count(), Is.EqualTo(1), "the same bits at any thread count");
    }

    [Test]
    public void Bad_batches_are_refused()
    {
        var w = RandomSparse.Bernoulli(4, 6, 0.5, ValueDistribution.Uniform(1), 1);
        var y = new float[8];
        Assert.Throws<ArgumentException>(() => SparseInputOps.Multiply(w, [0, 1, 2], [1, 6], [1, 1], [], y, 2), "feature beyond the inputs");
        Assert.Throws<ArgumentException>(() => SparseInputOps.Multiply(w, [0, 2, 1], [1, 2], [1, 1], [], y, 2), "pointers going back");
        Assert.Throws<ArgumentException>(() => SparseInputOps.Multiply(w, [0, 1], [1], [1], [], y, 2), "too few pointers");
        var active = new ActiveFeatures();
        active.Build([0, 1, 2], [1, 2], [1, 1], 2);
        Assert.Throws<ArgumentException>(() => SparseInputOps.WeightGradient(w, y, active, new float[w.NonZeroCount], [], 3), "another batch");
        Assert.Throws<ArgumentException>(() => new ActiveFeatures().Build([0, 1, 2], [1, -2], [1, 1], 2), "a negative feature");
        Assert.Throws<ArgumentException>(() => active.RunsInputMajor(w.Transpose(), new int[1], new int[2], out _), "room for fewer runs than features");
        var transposed = w.Transpose();
        Assert.Throws<ArgumentException>(() => SparseInputOps.MultiplyInputMajor(transposed, [0, 1, 2], [1, 6], [1, 1], [], y, 2), "feature beyond the inputs");
        Assert.Throws<ArgumentException>(() => SparseInputOps.MultiplyInputMajor(transposed, [0, 1, 2], [1, 2], [1, 1], [], new float[6], 2), "output of another shape");
        Assert.Throws<ArgumentException>(() => SparseInputOps.WeightGradientInputMajor(transposed, y, active, new float[w.NonZeroCount], [], 3), "another batch");
        Assert.Throws<ArgumentException>(() => SparseInputOps.WeightGradientInputMajor(transposed, y, active, new float[w.NonZeroCount - 1], [], 2), "a gradient of another length");
    }

    private sealed class BitsEqual1 : IEqualityComparer<float>
    {
        public bool Equals(float a, float b) => BitConverter.SingleToInt32Bits(a) == BitConverter.SingleToInt32Bits(b);

        public int GetHashCode(float value) => value.GetHashCode();
    }

    private sealed class BitsEqual : IEqualityComparer<float[]>
    {
        public bool Equals(float[]? a, float[]? b) => a!.Length == b!.Length && a.Zip(b).All(p => BitConverter.SingleToInt32Bits(p.First) == BitConverter.SingleToInt32Bits(p.Second));

        public int GetHashCode(float[] a) => a.Length;
    }
}
