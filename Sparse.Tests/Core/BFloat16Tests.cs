using System.Numerics.Tensors;
using Sparse.Core;

namespace Sparse.Tests.Core;

[TestFixture]
public class BFloat16Tests
{
    [Test]
    public void Conversion_rounds_to_nearest_even_and_keeps_specials()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Bits(1f), Is.EqualTo(0x3F80));
            Assert.That(Bits(-2.5f), Is.EqualTo(0xC020));

            // 1 + 2^-8 is halfway between 1 and 1 + 2^-7: ties go to the even mantissa (1); just above goes up.
            Assert.That(Bits(1f + MathF.Pow(2, -8)), Is.EqualTo(0x3F80));
            Assert.That(Bits(BitConverter.UInt32BitsToSingle(0x3F80_8001)), Is.EqualTo(0x3F81));

            // 1 + 3 * 2^-8 is halfway between 1 + 2^-7 (odd) and 1 + 2^-6: up to the even one.
            Assert.That(Bits(1f + (3 * MathF.Pow(2, -8))), Is.EqualTo(0x3F82));
            Assert.That(Bits(float.PositiveInfinity), Is.EqualTo(0x7F80));
            Assert.That(Bits(float.NegativeInfinity), Is.EqualTo(0xFF80));
            Assert.That(Bits(float.MaxValue), Is.EqualTo(0x7F80), "rounds up past the largest bfloat16");
            Assert.That(Bits(-0f), Is.EqualTo(0x8000));
            Assert.That(float.IsNaN((BFloat16)float.NaN), Is.True);
            Assert.That(float.IsNaN((BFloat16)BitConverter.UInt32BitsToSingle(0x7F80_0001)), Is.True, "a NaN whose payload is only in the low half stays NaN");
            Assert.That(float.IsNaN((BFloat16)BitConverter.UInt32BitsToSingle(0x7FFF_FFFF)), Is.True, "a NaN that rounding would carry into the sign stays NaN");
            Assert.That(((BFloat16)1e-40f).Bits, Is.Not.Zero, "subnormals are kept");
        });

        static int Bits(float value) => ((BFloat16)value).Bits;
    }

    [Test]
    public void Every_bfloat16_survives_a_round_trip_and_the_vector_path_gives_the_scalar_bits()
    {
        var all = Enumerable.Range(0, 1 << 16).Select(bits => BFloat16.FromBits((ushort)bits)).ToArray();
        var widened = new float[all.Length];
        BFloat16.Convert(all, widened);
        foreach (var level in KernelTests.Levels())
        {
            var back = new BFloat16[all.Length];
            BFloat16.Convert(widened, back, KernelTests.Options(level));
            for (var n = 0; n < all.Length; n++)
            {
                if (float.IsNaN(widened[n]))
                {
                    Assert.That(float.IsNaN(back[n]), Is.True, $"NaN {n:X4}, {level}");
                }
                else if (back[n] != all[n])
                {
                    Assert.Fail($"{n:X4} came back as {back[n].Bits:X4}, {level}");
                }
            }
        }

        // Arbitrary floats (not exactly representable), a length off the vector width: both paths agree bitwise.
        var random = new Random(3);
        var floats = Enumerable.Range(0, 1003).Select(_ => BitConverter.Int32BitsToSingle(random.Next())).ToArray();
        var scalar = new BFloat16[floats.Length];
        var vector = new BFloat16[floats.Length];
        BFloat16.Convert(floats, scalar, new ComputeOptions { Simd = SimdLevel.Scalar });
        BFloat16.Convert(floats, vector);
        Assert.That(vector, Is.EqualTo(scalar).AsCollection);
        Assert.That(scalar.Select((b, n) => float.IsNaN(floats[n]) || b == (BFloat16)floats[n]), Is.All.True);
    }

    // The kernels widen each gathered value exactly and then run the float kernel's arithmetic in the same order, so
    // on bfloat16 operands they give the float kernels' result on the widened values, bit for bit.
    [TestCaseSource(typeof(KernelTests), nameof(KernelTests.Shapes))]
    public void Kernels_gathering_bfloat16_equal_the_float_kernels_on_the_widened_values(int rows, int columns, double density, int batch, int seed)
    {
        var w = RandomSparse.Bernoulli(rows, columns, density, ValueDistribution.Uniform(1), (ulong)seed);
        var (x, xHalf) = Rounded(DenseReference.RandomDense(columns * batch, seed));
        var (dy, dyHalf) = Rounded(DenseReference.RandomDense(rows * batch, seed + 1000));
        var bias = DenseReference.RandomDense(rows, seed + 2000);
        var gate = DenseReference.RandomDense(columns * batch, seed + 3000);
        TensorPrimitives.Max(gate, 0f, gate);

        // Against a dense reference in double, too, so that agreeing with the float kernel means being right.
        var dense = DenseReference.ToDense(w);
        var expectedY = DenseReference.Multiply(dense, x, bias, batch);
        var expectedDx = DenseReference.MultiplyTransposed(dense, dy, batch);
        var expectedDw = DenseReference.WeightGradient(w, dy, x, batch);

        foreach (var (level, threads, tiles, prefetch) in from l in KernelTests.Levels() from t in KernelTests.ThreadCounts() from c in new[] { 0, 3 } from p in new[] { false, true } select (l, t, c, p))
        {
            var o = KernelTests.Options(level) with { Threads = threads, ForcedTiles = tiles, PrefetchAboveBytes = prefetch ? 0 : long.MaxValue };
            var what = $"{level}, {threads} threads, {tiles} tiles{(prefetch ? ", prefetching" : string.Empty)}";
            float[] single = new float[rows * batch], half = new float[rows * batch];
            SparseOps.Multiply(w, x, bias, single, batch, o);
            SparseOps.Multiply(w, xHalf, bias, half, batch, o);
            Assert.That(half, Is.EqualTo(single).AsCollection, "forward " + what);
            DenseReference.AssertClose(half, expectedY, "forward " + what);

            SparseOps.MultiplyRelu(w, x, bias, single, batch, o);
            SparseOps.MultiplyRelu(w, xHalf, bias, half, batch, o);
            Assert.That(half, Is.EqualTo(single).AsCollection, "forward + ReLU " + what);

            single = new float[columns * batch];
            half = new float[columns * batch];
            SparseOps.MultiplyTransposed(w, dy, single, batch, o);
            SparseOps.MultiplyTransposed(w, dyHalf, half, batch, o);
            Assert.That(half, Is.EqualTo(single).AsCollection, "input gradient " + what);
            DenseReference.AssertClose(half, expectedDx, "input gradient " + what);

            SparseOps.MultiplyTransposedGated(w, dy, gate, single, batch, o);
            SparseOps.MultiplyTransposedGated(w, dyHalf, gate, half, batch, o);
            Assert.That(half, Is.EqualTo(single).AsCollection, "gated input gradient " + what);

            float[] dwSingle = new float[w.NonZeroCount], dwHalf = new float[w.NonZeroCount], dbSingle = new float[rows], dbHalf = new float[rows];
            SparseOps.WeightGradient(w, dy, x, dwSingle, dbSingle, batch, o);
            SparseOps.WeightGradient(w, dy, xHalf, dwHalf, dbHalf, batch, o);
            Assert.That(dwHalf, Is.EqualTo(dwSingle).AsCollection, "weight gradient " + what);
            Assert.That(dbHalf, Is.EqualTo(dbSingle).AsCollection, "bias gradient " + what);
            DenseReference.AssertClose(dwHalf, expectedDw, "weight gradient " + what);
        }
    }

    [Test]
    public void Wrong_lengths_and_overlaps_are_rejected_for_bfloat16_operands()
    {
        var w = RandomSparse.FixedFanIn(4, 5, 2, ValueDistribution.Uniform(1), 1);
        var x = new BFloat16[5 * 3];
        var y = new float[4 * 3];
        Assert.Multiple(() =>
        {
            Assert.That(() => SparseOps.Multiply(w, new BFloat16[14], [], y, 3), Throws.ArgumentException.With.Property("ParamName").EqualTo("input"));
            Assert.That(() => SparseOps.MultiplyTransposed(w, new BFloat16[11], new float[15], 3), Throws.ArgumentException.With.Property("ParamName").EqualTo("outputGradient"));
            Assert.That(() => SparseOps.WeightGradient(w, y, x, new float[7], [], 3), Throws.ArgumentException.With.Property("ParamName").EqualTo("weightGradient"));
            Assert.That(() => SparseOps.MultiplyTransposedGated(w, new BFloat16[12], new float[14], new float[15], 3), Throws.ArgumentException.With.Property("ParamName").EqualTo("gate"));
            Assert.That(() => BFloat16.Convert(new float[4], new BFloat16[3]), Throws.ArgumentException.With.Property("ParamName").EqualTo("destination"));

            // The same memory seen as floats and as bfloat16 values.
            var shared = new float[40];
            Assert.That(() => SparseOps.Multiply(w, System.Runtime.InteropServices.MemoryMarshal.Cast<float, BFloat16>(shared.AsSpan()).Slice(0, 15), [], shared.AsSpan(2, 12), 3), Throws.ArgumentException.With.Message.Contains("overlap"));
        });
    }

    // The values rounded to bfloat16, as floats (exactly) and as bfloat16.
    private static (float[] Single, BFloat16[] Half) Rounded(float[] values)
    {
        var half = new BFloat16[values.Length];
        BFloat16.Convert(values, half);
        var single = new float[values.Length];
        BFloat16.Convert(half, single);
        return (single, half);
    }
}
