using System.Collections.Concurrent;

namespace Sparse.Bench;

/// <summary>
/// One seeded layer and its dense operands; shared by the benchmarks, the GFLOP/s column and quick mode. The
/// operands are allocated as a network allocates them (huge pages from 4 MiB, <see cref="ComputeOptions.HugePages"/>).
/// </summary>
internal sealed class KernelWorkload
{
    public const int DefaultBatch = 128;
    public const double Epsilon = 20;

    private static readonly ConcurrentDictionary<string, KernelWorkload> Cache = new();

    private KernelWorkload(int inputs, int outputs, int batch, int window)
    {
        Batch = batch;
        Weights = RandomSparse.Banded(outputs, inputs, RandomSparse.ErdosRenyiDensity(outputs, inputs, Epsilon), window,
            ValueDistribution.Normal(0.05f), seed: 1);
        X = Random(inputs * Batch, 2);
        Y = AlignedMemory.Allocate(outputs * Batch, hugePages: true);
        Dy = Random(outputs * Batch, 3);
        Dx = AlignedMemory.Allocate(inputs * Batch, hugePages: true);
        Dw = new float[Weights.NonZeroCount];
        Bias = Random(outputs, 4).ToArray();
        _ = Weights.Transposed;
    }

    /// <summary>Samples per call.</summary>
    public int Batch { get; }

    public CsrMatrix Weights { get; }

    public Memory<float> X { get; }

    public Memory<float> Y { get; }

    public Memory<float> Dy { get; }

    public Memory<float> Dx { get; }

    public float[] Dw { get; }

    /// <summary>X rounded to bfloat16, for the kernels that gather it in <see cref="Precision.Bf16"/>.</summary>
    public Memory<BFloat16> XHalf => _xHalf ??= Half(X);

    /// <summary>dY rounded to bfloat16.</summary>
    public Memory<BFloat16> DyHalf => _dyHalf ??= Half(Dy);

    private Memory<BFloat16>? _xHalf;
    private Memory<BFloat16>? _dyHalf;

    public float[] Bias { get; }

    /// <summary>
    /// Parses <c>in->out</c>, <c>in->out@batch</c> or either with <c>~window</c> (each row's connections within a band of
    /// that many inputs, <see cref="RandomSparse.Banded"/>) and builds (once) the workload of that shape.
    /// </summary>
    public static KernelWorkload Get(string shape) => Cache.GetOrAdd(shape, s =>
    {
        var band = s.Split('~');
        var at = band[0].Split('@');
        var parts = at[0].Split("->");
        static int Parse(string text) => int.Parse(text, System.Globalization.CultureInfo.InvariantCulture);
        return new KernelWorkload(Parse(parts[0]), Parse(parts[1]), at.Length > 1 ? Parse(at[1]) : DefaultBatch,
            band.Length > 1 ? Parse(band[1]) : int.MaxValue);
    });

    /// <summary>Floating-point operations of one call of <paramref name="method"/>.</summary>
    public double Flops(string method) => method == nameof(KernelBenchmarks.DenseGemm)
        ? 2.0 * Weights.Rows * Weights.Columns * Batch
        : 2.0 * Weights.NonZeroCount * Batch;

    public float[] DenseWeights() => Dense(Weights);

    /// <summary><paramref name="matrix"/> written out row-major, zeros where it stores nothing.</summary>
    public static float[] Dense(CsrMatrix matrix)
    {
        var dense = new float[(long)matrix.Rows * matrix.Columns];
        for (var r = 0; r < matrix.Rows; r++)
        {
            for (var k = matrix.RowPointers[r]; k < matrix.RowPointers[r + 1]; k++)
            {
                dense[((long)r * matrix.Columns) + matrix.ColumnIndices[k]] = matrix.Values[k];
            }
        }

        return dense;
    }

    private static Memory<BFloat16> Half(Memory<float> values)
    {
        var half = AlignedMemory.Allocate<BFloat16>(values.Length, hugePages: true);
        BFloat16.Convert(values.Span, half.Span);
        return half;
    }

    private static Memory<float> Random(int length, int seed)
    {
        var random = new SparseRandom((ulong)seed);
        var a = AlignedMemory.Allocate(length, hugePages: true);
        var span = a.Span;
        for (var n = 0; n < span.Length; n++)
        {
            span[n] = (float)random.NextDouble();
        }

        return a;
    }
}
