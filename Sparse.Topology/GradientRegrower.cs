using System.Numerics.Tensors;
using Sparse.Core;
using Sparse.Training;

namespace Sparse.Topology;

/// <summary>
/// RigL's regrowth (Evci et al. 2020): the missing connections with the largest |dL/dW| on the last batch,
/// <c>dL/dW[j, i] = dot(dY[j, :], X[i, :])</c>, starting at weight 0. While a layer's out x in x batch scores
/// stay within <see cref="ExactScores"/>, every missing connection is scored, a block of rows at a time with a
/// running top-k (see <see cref="MissingTopK"/> for the memory bound): time O(out x in x batch), extra memory
/// O(block x in + k). Beyond, the search is bounded by neuron norms (<see cref="NormBoundGradientRegrower"/>),
/// O((out + in) x batch + k x batch), so RigL runs at any width.
/// </summary>
/// <param name="blockRows">Rows scored per block of the exact search; 0 picks about 2^18 scores per block (1 MiB).</param>
/// <param name="exactScores">The most scores (out x in x batch) a layer's exact search may cost; <c>long.MaxValue</c>
/// always scores exactly, 0 never.</param>
/// <param name="oversampling">Candidates the bounded search scores per connection grown.</param>
public sealed class GradientRegrower(int blockRows = 0, long exactScores = GradientRegrower.DefaultExactScores, double oversampling = 4) : IRegrower
{
    /// <summary>
    /// 2^31 scores: about 0.2 s per layer on two cores (a 4,096-wide layer at batch 128), where a 1,000-wide one
    /// takes 10 ms; a 100,000-wide one would take minutes.
    /// </summary>
    public const long DefaultExactScores = 1L << 31;

    private readonly NormBoundGradientRegrower _bounded = new(oversampling);

    /// <summary>Rows scored per block of the exact search; 0 picks about 2^18 scores per block (1 MiB).</summary>
    public int BlockRows { get; } = blockRows;

    /// <summary>The most scores (out x in x batch) a layer's exact search may cost before the bounded search takes over.</summary>
    public long ExactScores { get; } = exactScores;

    /// <inheritdoc/>
    public SignalKinds Signals => SignalKinds.OutputGradients;

    /// <inheritdoc/>
    public string Name => "gradient";

    /// <inheritdoc/>
    public long ScratchBytesPerGrown => Math.Max(MissingTopK.BytesPerSelected, _bounded.ScratchBytesPerGrown);

    /// <inheritdoc/>
    public void Grow(GrowthRequest request, CooMatrix grown)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(grown);
        var signals = RequireGradients(request);

        if ((double)request.Kept.Rows * request.Kept.Columns * signals.Batch > ExactScores)
        {
            _bounded.Grow(request, grown);
            return;
        }

        foreach (var (row, column, _) in MissingTopK.Select(request.Kept, request.Count, new Scorer(signals), request.Compute, BlockRows))
        {
            grown.Add(row, column, 0f);
        }
    }

    /// <summary>The request's signals, which must hold the layer's output gradient.</summary>
    internal static LayerSignals RequireGradients(GrowthRequest request) =>
        request.Signals is { OutputGradient.IsEmpty: false } signals
            ? signals
            : throw new InvalidOperationException("Gradient regrowth needs the layer's output gradient of a training step: pass a SignalRecorder of " +
                "SignalKinds.OutputGradients to the step's Backward and then to the evolver, before any evaluation.");

    private sealed class Scorer(LayerSignals signals) : IBlockScorer
    {
        public void ScoreRow(int row, Span<float> scores)
        {
            var batch = signals.Batch;
            var x = signals.Input.Span;
            var gradient = signals.OutputGradient.Span.Slice(row * batch, batch);
            for (var i = 0; i < scores.Length; i++)
            {
                scores[i] = MathF.Abs(TensorPrimitives.Dot(gradient, x.Slice(i * batch, batch)));
            }
        }
    }
}
