using Sparse.Core;

namespace Sparse.Training;

/// <summary>
/// Element-wise layers side by side: part <c>k</c> (an <see cref="Activation"/> or a <see cref="Dropout"/>) acts on
/// its own consecutive neurons. Activations are feature-major, (neurons, batch), so a part's neurons are one
/// contiguous span and each part runs exactly as it would in a network of its own. This is how the blocks of a
/// block-diagonal network (<c>ParallelNetworks</c>) keep their own activation and dropout.
/// </summary>
public sealed class BlockLayer : Layer
{
    private readonly Layer[] _parts;
    private readonly int[] _offsets;

    /// <summary>The parts in neuron order.</summary>
    /// <exception cref="ArgumentException">A part is not an element-wise layer (activation or dropout), or there is none.</exception>
    public BlockLayer(IEnumerable<Layer> parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        _parts = [.. parts];
        if (_parts.Length == 0 || _parts.Any(p => p is not (Activation or Dropout)))
        {
            throw new ArgumentException("A block layer needs one or more activation or dropout parts.", nameof(parts));
        }

        _offsets = new int[_parts.Length + 1];
        for (var k = 0; k < _parts.Length; k++)
        {
            _offsets[k + 1] = _offsets[k] + _parts[k].OutputSize;
        }
    }

    /// <summary>The parts in neuron order.</summary>
    public IReadOnlyList<Layer> Parts => _parts;

    /// <summary>Whether every part is an activation (the block stands where an <see cref="Activation"/> would).</summary>
    public bool IsActivation => _parts.All(p => p is Activation);

    /// <summary>The first neuron of each part, and the total at the end.</summary>
    public ReadOnlySpan<int> Offsets => _offsets;

    /// <inheritdoc/>
    public override int InputSize => _offsets[^1];

    /// <inheritdoc/>
    public override int OutputSize => _offsets[^1];

    /// <inheritdoc/>
    public override void Forward(ReadOnlySpan<float> input, Span<float> output, int batch, bool training, ComputeOptions? options = null)
    {
        for (var k = 0; k < _parts.Length; k++)
        {
            var start = _offsets[k] * batch;
            var length = _parts[k].OutputSize * batch;
            _parts[k].Forward(input.Slice(start, length), output.Slice(start, length), batch, training, options);
        }
    }

    /// <inheritdoc/>
    public override void Backward(ReadOnlySpan<float> input, ReadOnlySpan<float> output, ReadOnlySpan<float> outputGradient, Span<float> inputGradient, int batch, ComputeOptions? options = null)
    {
        if (inputGradient.IsEmpty)
        {
            return;
        }

        for (var k = 0; k < _parts.Length; k++)
        {
            var start = _offsets[k] * batch;
            var length = _parts[k].OutputSize * batch;
            _parts[k].Backward(input.Slice(start, length), output.Slice(start, length), outputGradient.Slice(start, length), inputGradient.Slice(start, length), batch, options);
        }
    }
}
