using System.Numerics.Tensors;
using Sparse.Core;
using Sparse.Training;

namespace Sparse.Topology;

/// <summary>
/// RigL's regrowth (Evci et al. 2020): the missing connections with the largest |dL/dW| on the last batch,
/// <c>dL/dW[j, i] = dot(dY[j, :], X[i, :])</c>, starting at weight 0. The dense gradient is scored a block
/// of rows at a time with a running top-k (see <see cref="MissingTopK"/> for the memory bound): time
/// O(out x in x batch), extra memory O(block x in + k).
/// </summary>
public sealed class GradientRegrower(int blockRows = 0) : IRegrower
{
    /// <summary>Rows scored per block; 0 picks about 2^18 scores per block (1 MiB).</summary>
    public int BlockRows { get; } = blockRows;

    /// <inheritdoc/>
    public SignalKinds Signals => SignalKinds.OutputGradients;

    /// <inheritdoc/>
    public long ScratchBytesPerGrown => MissingTopK.BytesPerSelected;

    /// <inheritdoc/>
    public void Grow(GrowthRequest request, CooMatrix grown)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(grown);
        if (request.Signals is not { OutputGradient.IsEmpty: false } signals)
        {
            throw new InvalidOperationException("Gradient regrowth needs the layer's output gradient of a training step: pass a SignalRecorder of " +
                "SignalKinds.OutputGradients to the step's Backward and then to the evolver, before any evaluation.");
        }

        foreach (var (row, column, _) in MissingTopK.Select(request.Kept, request.Count, new Scorer(signals), BlockRows))
        {
            grown.Add(row, column, 0f);
        }
    }

    private sealed class Scorer(LayerSignals signals) : IBlockScorer
    {
        public void Score(int first, int rows, Span<float> scores)
        {
            var batch = signals.Batch;
            var x = signals.Input.Span;
            var dy = signals.OutputGradient.Span;
            var columns = x.Length / batch;
            for (var r = 0; r < rows; r++)
            {
                var gradient = dy.Slice((first + r) * batch, batch);
                for (var i = 0; i < columns; i++)
                {
                    scores[(r * columns) + i] = MathF.Abs(TensorPrimitives.Dot(gradient, x.Slice(i * batch, batch)));
                }
            }
        }
    }
}
