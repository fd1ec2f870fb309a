using System.Numerics.Tensors;
using Sparse.Core;
using Sparse.Training;

namespace Sparse.Topology;

/// <summary>The CTRE regrowth variants (Atashgahi et al.).</summary>
public enum CtreVariant
{
    /// <summary>Always grow the most similar missing pairs.</summary>
    Plain,

    /// <summary>CTRE_sim: a pair that was pruned in this very step is replaced by a random missing one.</summary>
    Sim,

    /// <summary>CTRE_seq: cosine growth until validation accuracy stalls, then random growth for good.</summary>
    Seq,
}

/// <summary>
/// CTRE's regrowth: the importance of a missing connection (j, i) is <c>|cos(a_i, a_j)|</c>, the cosine
/// similarity of input neuron i's and output neuron j's activations over the last batch; the most
/// important are grown with values from <see cref="Values"/>. Scored a block of rows at a time with a
/// running top-k (see <see cref="MissingTopK"/>): no dense similarity matrix.
/// </summary>
public sealed class CosineRegrower(CtreVariant variant = CtreVariant.Plain, ulong seed = 1, ValueDistribution? values = null, int blockRows = 0) : IRegrower, IResumableState
{
    private SparseRandom _random = new(seed);
    private float _bestAccuracy = float.NegativeInfinity;

    /// <summary>Which CTRE variant.</summary>
    public CtreVariant Variant { get; } = variant;

    /// <summary>Distribution of new weights (default normal, standard deviation 0.1).</summary>
    public ValueDistribution Values { get; } = values ?? ValueDistribution.Normal(0.1f);

    /// <summary>Rows scored per block; 0 picks about 2^18 scores per block.</summary>
    public int BlockRows { get; } = blockRows;

    /// <inheritdoc/>
    public bool NeedsPrunedPositions => Variant == CtreVariant.Sim;

    /// <inheritdoc/>
    public SignalKinds Signals => SignalKinds.Activations;

    /// <inheritdoc/>
    public long ScratchBytesPerGrown => MissingTopK.BytesPerSelected;

    /// <summary>CTRE_seq: whether growth has switched to random.</summary>
    public bool GrowingRandomly { get; private set; }

    /// <inheritdoc/>
    public void WriteState(BinaryWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        RandomRegrower.WriteRandom(writer, _random);
        writer.Write(_bestAccuracy);
        writer.Write(GrowingRandomly);
    }

    /// <inheritdoc/>
    public void ReadState(BinaryReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        _random = RandomRegrower.ReadRandom(reader);
        _bestAccuracy = reader.ReadSingle();
        GrowingRandomly = reader.ReadBoolean();
    }

    /// <summary>CTRE_seq: reports the latest validation accuracy; growth turns random once it no longer improves.</summary>
    public void ObserveValidationAccuracy(float accuracy)
    {
        if (Variant != CtreVariant.Seq)
        {
            return;
        }

        if (accuracy <= _bestAccuracy)
        {
            GrowingRandomly = true;
        }

        _bestAccuracy = Math.Max(_bestAccuracy, accuracy);
    }

    /// <inheritdoc/>
    public void Grow(GrowthRequest request, CooMatrix grown)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(grown);
        if (GrowingRandomly)
        {
            RandomRegrower.GrowRandom(request.Kept, request.Count, ref _random, Values, grown, exclude: null);
            return;
        }

        if (request.Signals is not { } signals)
        {
            throw new InvalidOperationException("Cosine regrowth needs the layer's activations of a training step: pass the SignalRecorder that the step's Backward filled, and evolve before any evaluation.");
        }

        var replaced = 0;
        var columnCount = request.Kept.Columns;
        foreach (var (row, column, _) in MissingTopK.Select(request.Kept, request.Count, new Scorer(signals), BlockRows))
        {
            if (Variant == CtreVariant.Sim && request.Pruned.Contains(((long)row * columnCount) + column))
            {
                replaced++;
                continue;
            }

            grown.Add(row, column, Values.Sample(ref _random));
        }

        if (replaced > 0)
        {
            RandomRegrower.GrowRandom(request.Kept, replaced, ref _random, Values, grown, request.Pruned);
        }
    }

    /// <summary>|cos| of every (output j, input i) pair of a block; 0 where either neuron never fired.</summary>
    internal sealed class Scorer : IBlockScorer
    {
        private readonly LayerSignals _signals;
        private readonly float[] _inputNorms;
        private readonly float[] _outputNorms;

        public Scorer(LayerSignals signals)
        {
            _signals = signals;
            var batch = signals.Batch;
            _inputNorms = Norms(signals.Input.Span, batch);
            _outputNorms = Norms(signals.Activation.Span, batch);
        }

        public void ScoreRow(int row, Span<float> scores)
        {
            var batch = _signals.Batch;
            var x = _signals.Input.Span;
            var output = _signals.Activation.Span.Slice(row * batch, batch);
            for (var i = 0; i < scores.Length; i++)
            {
                var norms = _outputNorms[row] * _inputNorms[i];
                scores[i] = norms > 0 ? MathF.Abs(TensorPrimitives.Dot(output, x.Slice(i * batch, batch))) / norms : 0f;
            }
        }

        private static float[] Norms(ReadOnlySpan<float> rows, int batch)
        {
            var norms = new float[rows.Length / batch];
            for (var n = 0; n < norms.Length; n++)
            {
                norms[n] = TensorPrimitives.Norm(rows.Slice(n * batch, batch));
            }

            return norms;
        }
    }
}
