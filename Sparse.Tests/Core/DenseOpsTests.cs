using Sparse.Core;

namespace Sparse.Tests.Core;

/// <summary>
/// Every dense operation on its scalar path against its vector path (<see cref="ComputeOptions.Simd"/>), on lengths
/// off every vector width, with the destination aliasing a source as the training step uses them.
/// </summary>
[TestFixture]
public class DenseOpsTests
{
    private static readonly ComputeOptions Scalar = new() { Simd = SimdLevel.Scalar };
    private static readonly ComputeOptions Best = ComputeOptions.Default;

    public static IEnumerable<int> Lengths() => [0, 1, 7, 8, 17, 33, 1000];

    private static float[] Random(int length, int seed, float low = -3, float high = 3)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, length).Select(_ => low + ((high - low) * (float)random.NextDouble()))];
    }

    // Element-wise arithmetic is correctly rounded on both paths: the bits must agree.
    [TestCaseSource(nameof(Lengths))]
    public void Element_wise_arithmetic_gives_the_same_bits_on_both_paths(int length)
    {
        var x = Random(length, 1);
        var y = Random(length, 2, 0.5f, 2);
        if (length > 1)
        {
            x[0] = -0f; // max(-0, +0) is +0 on both paths
        }
        (string Name, Action<float[], ComputeOptions> Op)[] ops =
        [
            ("max scalar", (d, o) => DenseOps.Max(x, 0f, d, o)),
            ("max", (d, o) => DenseOps.Max(x, y, d, o)),
            ("add", (d, o) => DenseOps.Add(x, y, d, o)),
            ("subtract", (d, o) => DenseOps.Subtract(x, y, d, o)),
            ("subtract scalar", (d, o) => DenseOps.Subtract(x, 0.25f, d, o)),
            ("scalar subtract", (d, o) => DenseOps.Subtract(1f, x, d, o)),
            ("multiply", (d, o) => DenseOps.Multiply(x, y, d, o)),
            ("multiply scalar", (d, o) => DenseOps.Multiply(x, 0.3f, d, o)),
            ("divide scalar", (d, o) => DenseOps.Divide(x, 7f, d, o)),
            ("divide", (d, o) => DenseOps.Divide(x, y, d, o)),
            ("reciprocal", (d, o) => DenseOps.Reciprocal(y, d, o)),
            ("multiply-add", (d, o) => DenseOps.MultiplyAdd(x, -0.01f, y, d, o)),
        ];
        foreach (var (name, op) in ops)
        {
            var scalar = new float[length];
            var vector = new float[length];
            op(scalar, Scalar);
            op(vector, Best);
            Assert.That(vector.Select(BitConverter.SingleToInt32Bits), Is.EqualTo(scalar.Select(BitConverter.SingleToInt32Bits)), name);
        }
    }

    // Transcendental functions and reductions: a few ulps apart (the vector paths approximate and reassociate).
    [TestCaseSource(nameof(Lengths))]
    public void Functions_and_reductions_agree_within_rounding(int length)
    {
        var x = Random(length, 3, -10, 10);
        var y = Random(length, 4);
        (string Name, Action<float[], ComputeOptions> Op)[] ops =
        [
            ("tanh", (d, o) => DenseOps.Tanh(x, d, o)),
            ("sigmoid", (d, o) => DenseOps.Sigmoid(x, d, o)),
            ("exp", (d, o) => DenseOps.Exp(x, d, o)),
        ];
        foreach (var (name, op) in ops)
        {
            var scalar = new float[length];
            var vector = new float[length];
            op(scalar, Scalar);
            op(vector, Best);
            for (var k = 0; k < length; k++)
            {
                Assert.That(vector[k], Is.EqualTo(scalar[k]).Within(4e-7f * Math.Max(1f, Math.Abs(scalar[k]))), $"{name} at {k}");
            }
        }

        var magnitude = x.Zip(y, (a, b) => Math.Abs(a * b)).Sum();
        Assert.Multiple(() =>
        {
            Assert.That(DenseOps.Dot(x, y, Best), Is.EqualTo(DenseOps.Dot(x, y, Scalar)).Within((1e-6f * magnitude) + 1e-30f), "dot");
            Assert.That(DenseOps.Norm(x, Best), Is.EqualTo(DenseOps.Norm(x, Scalar)).Within((1e-6f * DenseOps.Norm(x, Scalar)) + 1e-30f), "norm");
        });
    }

    [Test]
    public void The_scalar_path_keeps_the_IEEE_semantics_of_max()
    {
        var destination = new float[3];
        DenseOps.Max([float.NaN, -0f, -2f], 0f, destination, Scalar);
        Assert.Multiple(() =>
        {
            Assert.That(destination[0], Is.NaN, "NaN propagates");
            Assert.That(BitConverter.SingleToInt32Bits(destination[1]), Is.Zero, "+0 above -0");
            Assert.That(destination[2], Is.Zero);
        });
    }

    [Test]
    public void Mismatched_lengths_are_refused_on_the_scalar_path_as_on_the_vector_path()
    {
        Assert.Multiple(() =>
        {
            Assert.That(() => DenseOps.Add(new float[3], new float[4], new float[4], Scalar), Throws.ArgumentException);
            Assert.That(() => DenseOps.Multiply(new float[3], 2f, new float[2], Scalar), Throws.ArgumentException);
            Assert.That(() => DenseOps.Dot(new float[3], new float[2], Scalar), Throws.ArgumentException);
        });
    }

    [Test]
    public void Options_refuse_impossible_settings()
    {
        Assert.Multiple(() =>
        {
            Assert.That(() => new ComputeOptions { Threads = 0 }, Throws.InstanceOf<ArgumentOutOfRangeException>());
            Assert.That(() => new ComputeOptions { ColumnTileBytes = -1 }, Throws.InstanceOf<ArgumentOutOfRangeException>());
            if (ComputeOptions.BestSimd < SimdLevel.Vector512)
            {
                Assert.That(() => new ComputeOptions { Simd = SimdLevel.Vector512 }, Throws.InstanceOf<ArgumentOutOfRangeException>());
            }

            Assert.That(ComputeOptions.Default.Simd, Is.EqualTo(ComputeOptions.BestSimd));
        });
    }
}
