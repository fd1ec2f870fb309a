using System.Numerics.Tensors;
using Sparse.Core;
using Sparse.Training;

namespace Sparse.Topology;

/// <summary>
/// Drops the connections between the neurons whose activations are least alike: the importance of a stored connection
/// (j, i) is <c>|cos(a_i, a_j)|</c>, input neuron i's and output neuron j's activations over the same sample of training
/// rows that CTRE's regrowth scores (<see cref="ActivationSample"/>, <see cref="PruneRequest.Sample"/>; over the last
/// batch when no sample was recorded), 0 where either neuron never fired; the <c>round(fraction x nnz)</c> least
/// important are dropped, ties by position, as <see cref="MagnitudePruner"/> counts and breaks them.
/// </summary>
/// <remarks>
/// CTRE's paper and reference code (zahraatashgahi/CTRE) prune by magnitude and use cosine similarity only to regrow;
/// this rule is the same importance turned on the existing connections, so its definition is this library's. The
/// scores of all stored connections are one sampled dense-dense product at the structure's positions
/// (<see cref="SparseOps.WeightGradient(CsrMatrix, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, int, ComputeOptions)"/>
/// with the activations in place of the output gradient): O(nnz x rows) on every core, a float per connection of
/// scratch, and the same result for any thread count.
/// </remarks>
public sealed class CosinePruner : IPruner
{
    /// <inheritdoc/>
    public SignalKinds Signals => SignalKinds.TrainingSample;

    /// <inheritdoc/>
    public long ScratchBytesPerConnection => sizeof(float);

    /// <inheritdoc/>
    public string Name => "cosine";

    /// <inheritdoc/>
    public int SelectDrops(SparseLinear layer, double fraction, LayerSignals? signals, Span<bool> drop) =>
        SelectDrops(new PruneRequest(layer, fraction, signals), drop);

    /// <inheritdoc/>
    /// <exception cref="InvalidOperationException">Neither a sample nor a step's signals were recorded.</exception>
    public int SelectDrops(PruneRequest request, Span<bool> drop)
    {
        ArgumentNullException.ThrowIfNull(request);
        var fraction = request.Fraction;
        if (!(fraction >= 0 && fraction <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(request), $"The pruning fraction must be in [0, 1], is {fraction}.");
        }

        if ((request.Sample ?? request.Signals) is not { } signals)
        {
            throw new InvalidOperationException("Cosine pruning needs the layer's activations: pass an ActivationSample of the training rows to TopologyEvolver.Evolve " +
                "(EvolutionHook records one), or the SignalRecorder of a training step.");
        }

        var weights = request.Layer.Weights;
        var nnz = (int)weights.NonZeroCount;
        using var scores = new ScratchArray<float>(nnz);
        Score(weights, signals, scores.Span, request.Compute);
        return MagnitudePruner.MarkSmallest(scores.Span, drop, fraction);
    }

    /// <summary>Writes <c>|cos(a_i, a_j)|</c> of each stored connection (j, i) of <paramref name="weights"/>, aligned with its values.</summary>
    internal static void Score(CsrMatrix weights, LayerSignals signals, Span<float> scores, ComputeOptions compute)
    {
        var batch = signals.Batch;
        var input = signals.Input.Span;
        var activation = signals.Activation.Span;
        if (input.Length != weights.Columns * batch || activation.Length != weights.Rows * batch)
        {
            throw new ArgumentException($"Signals of {input.Length / Math.Max(1, batch)} inputs and {activation.Length / Math.Max(1, batch)} outputs over {batch} rows " +
                $"for a layer of {weights.Columns} inputs and {weights.Rows} outputs.", nameof(signals));
        }

        SparseOps.WeightGradient(weights, activation, input, scores, batch, compute);
        using var inputNorms = new ScratchArray<float>(weights.Columns);
        for (var i = 0; i < weights.Columns; i++)
        {
            inputNorms.Array[i] = TensorPrimitives.Norm(input.Slice(i * batch, batch));
        }

        var columns = weights.ColumnIndices;
        for (var j = 0; j < weights.Rows; j++)
        {
            var outputNorm = TensorPrimitives.Norm(activation.Slice(j * batch, batch));
            for (var k = (int)weights.RowPointers[j]; k < weights.RowPointers[j + 1]; k++)
            {
                var norms = outputNorm * inputNorms.Array[columns[k]];
                scores[k] = norms > 0 ? MathF.Abs(scores[k]) / norms : 0f;
            }
        }
    }
}
