using Sparse.Core;

namespace Sparse.Training;

/// <summary>
/// Inverted dropout: in training each element is zeroed with probability <see cref="Rate"/> and the rest
/// scaled by <c>1 / (1 - rate)</c>, so evaluation is the identity. Masks come from a seeded generator
/// advanced once per forward pass, so a run is reproducible and resumable (<see cref="Calls"/> is saved).
/// </summary>
public sealed class Dropout : Layer
{
    private float[] _mask = [];

    // Whether the last Forward dropped elements: after an evaluation's Forward, Backward passes the gradient through,
    // as that Forward passed the input (EarlyCroP differentiates the network in evaluation mode).
    private bool _masked;

    /// <summary>Drops a fraction <paramref name="rate"/> in [0, 1) of <paramref name="size"/> features.</summary>
    public Dropout(int size, float rate, ulong seed)
    {
        if (!(rate >= 0 && rate < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(rate), $"Dropout rate must be in [0, 1), is {rate}.");
        }

        (Size, Rate, Seed) = (size, rate, seed);
    }

    /// <summary>Features in and out.</summary>
    public int Size { get; }

    /// <summary>Probability of dropping an element in training.</summary>
    public float Rate { get; }

    /// <summary>Seed of the masks.</summary>
    public ulong Seed { get; }

    /// <summary>Training forward passes so far; with <see cref="Seed"/> it fixes the next mask.</summary>
    public long Calls { get; set; }

    /// <inheritdoc/>
    public override int InputSize => Size;

    /// <inheritdoc/>
    public override int OutputSize => Size;

    /// <inheritdoc/>
    public override void Forward(ReadOnlySpan<float> input, Span<float> output, int batch, bool training, ComputeOptions? options = null)
    {
        var n = Size * batch;
        _masked = training && Rate > 0;
        if (!training || Rate == 0)
        {
            input[..n].CopyTo(output);
            return;
        }

        if (_mask.Length < n)
        {
            _mask = new float[n];
        }

        var random = new SparseRandom(RandomStreams.Derive(Seed, RandomPurpose.Dropout, (ulong)++Calls));
        var keep = 1f / (1f - Rate);

        // Four 16-bit uniforms per 64 random bits: the rate is resolved to 1/65536, and the generator, not the
        // multiply, is what a dropout mask costs.
        var threshold = (ulong)Math.Round(Rate * 65536.0);
        var k = 0;
        for (; k < n; k += 4)
        {
            var bits = random.NextUInt64();
            for (var lane = 0; lane < 4 && k + lane < n; lane++)
            {
                _mask[k + lane] = ((bits >> (16 * lane)) & 0xFFFF) < threshold ? 0f : keep;
            }
        }

        DenseOps.Multiply(input[..n], _mask.AsSpan(0, n), output[..n], options ?? ComputeOptions.Default);
    }

    /// <inheritdoc/>
    public override void Backward(ReadOnlySpan<float> input, ReadOnlySpan<float> output, ReadOnlySpan<float> outputGradient, Span<float> inputGradient, int batch, ComputeOptions? options = null)
    {
        if (inputGradient.IsEmpty)
        {
            return;
        }

        var n = Size * batch;
        if (!_masked)
        {
            outputGradient[..n].CopyTo(inputGradient);
            return;
        }

        DenseOps.Multiply(outputGradient[..n], _mask.AsSpan(0, n), inputGradient[..n], options ?? ComputeOptions.Default);
    }
}
