using System.Numerics;
using System.Numerics.Tensors;
using Sparse.Core;
using Sparse.Training;

namespace Sparse.Topology;

/// <summary>The CTRE regrowth variants (Atashgahi et al.).</summary>
public enum CtreVariant
{
    /// <summary>
    /// Always grow the most similar missing pairs; a pair pruned in this very step and chosen again keeps its weight
    /// (the reference's <c>cte</c>, where such a pair was never truly removed).
    /// </summary>
    Plain,

    /// <summary>CTRE_sim: a pair that was pruned in this very step and chosen again is replaced by a random missing one.</summary>
    Sim,

    /// <summary>
    /// CTRE_seq: cosine growth (as <see cref="Plain"/>) until validation accuracy has not improved for
    /// <see cref="CosineRegrower.Patience"/> evaluations, then random growth for good.
    /// </summary>
    Seq,
}

/// <summary>
/// CTRE's regrowth (Atashgahi et al., "A brain-inspired algorithm for training highly sparse neural networks",
/// Machine Learning 2022): the importance of a missing connection (j, i) is <c>|cos(a_i, a_j)|</c>, the cosine
/// similarity of input neuron i's and output neuron j's activations over many training rows (an
/// <see cref="ActivationSample"/>, <see cref="GrowthRequest.Sample"/>; the reference scores a whole pass over the
/// training set after each epoch, the output layer against the softmax outputs), or over the last batch when no sample
/// was recorded. The most important are grown with values from <see cref="Values"/>. Scored a few rows at a time with
/// a running top-k (see <see cref="MissingTopK"/>): no dense similarity matrix; each score is one fixed-order dot
/// product, so the result does not depend on the thread count.
/// </summary>
public sealed class CosineRegrower(CtreVariant variant = CtreVariant.Plain, ulong seed = 1, ValueDistribution? values = null, int blockRows = 0, int patience = CosineRegrower.DefaultPatience) : IRegrower, IResumableState
{
    /// <summary>CTRE_seq's patience in the reference code (<c>early_stop_epoch</c>): 40 evaluations without a better validation accuracy.</summary>
    public const int DefaultPatience = 40;

    private SparseRandom _random = new(seed);
    private float _bestAccuracy = float.NegativeInfinity;
    private int _sinceBest;

    /// <summary>Which CTRE variant.</summary>
    public CtreVariant Variant { get; } = variant;

    /// <summary>Distribution of new weights (default normal, standard deviation 0.1).</summary>
    public ValueDistribution Values { get; } = values ?? ValueDistribution.Normal(0.1f);

    /// <summary>Rows scored per block; 0 picks about 2^18 scores per block.</summary>
    public int BlockRows { get; } = blockRows;

    /// <summary>CTRE_seq: evaluations without a better validation accuracy before growth turns random.</summary>
    public int Patience { get; } = patience >= 1 ? patience : throw new ArgumentOutOfRangeException(nameof(patience), patience, "The patience is at least 1 evaluation.");

    /// <inheritdoc/>
    public string Name => Variant switch
    {
        CtreVariant.Sim => "cosine (ctre-sim)",
        CtreVariant.Seq => "cosine (ctre-seq)",
        _ => "cosine",
    };

    /// <inheritdoc/>
    public bool NeedsPrunedPositions => true;

    /// <inheritdoc/>
    public SignalKinds Signals => SignalKinds.TrainingSample;

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
        writer.Write(_sinceBest);
    }

    /// <inheritdoc/>
    public void ReadState(BinaryReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        _random = RandomRegrower.ReadRandom(reader);
        _bestAccuracy = reader.ReadSingle();
        GrowingRandomly = reader.ReadBoolean();
        _sinceBest = reader.ReadInt32();
    }

    /// <summary>
    /// CTRE_seq: reports the latest validation accuracy; growth turns random once <see cref="Patience"/> accuracies in a
    /// row have not beaten the best so far (the reference's early-stopping counter).
    /// </summary>
    public void ObserveValidationAccuracy(float accuracy)
    {
        if (Variant != CtreVariant.Seq)
        {
            return;
        }

        if (accuracy > _bestAccuracy)
        {
            _bestAccuracy = accuracy;
            _sinceBest = 0;
        }
        else if (++_sinceBest >= Patience)
        {
            GrowingRandomly = true;
        }
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

        if ((request.Sample ?? request.Signals) is not { } signals)
        {
            throw new InvalidOperationException("Cosine regrowth needs the layer's activations: pass an ActivationSample of the training rows to TopologyEvolver.Evolve " +
                "(EvolutionHook records one), or the SignalRecorder of a training step.");
        }

        var replaced = 0;
        var columnCount = request.Kept.Columns;
        var old = request.Layer.Weights;
        foreach (var (row, column, _) in MissingTopK.Select(request.Kept, request.Count, new Scorer(signals), request.Compute, BlockRows))
        {
            if (request.Pruned.Contains(((long)row * columnCount) + column))
            {
                if (Variant == CtreVariant.Sim)
                {
                    replaced++;
                    continue;
                }

                // Chosen again right after its pruning: it keeps its weight, as in the reference.
                grown.Add(row, column, old.Values[EntryOf(old, row, column)]);
                continue;
            }

            grown.Add(row, column, Values.Sample(ref _random));
        }

        if (replaced > 0)
        {
            RandomRegrower.GrowRandom(request.Kept, replaced, ref _random, Values, grown, request.Pruned);
        }
    }

    // The entry of a stored position: columns are sorted within a row.
    private static long EntryOf(CsrMatrix weights, int row, int column)
    {
        var start = (int)weights.RowPointers[row];
        var at = weights.ColumnIndices.AsSpan(start, (int)(weights.RowPointers[row + 1] - start)).BinarySearch(column);
        return at >= 0 ? start + at : throw new InvalidOperationException($"Pruned position ({row}, {column}) is not in the layer.");
    }

    /// <summary>
    /// |cos| of every (output j, input i) pair of a block; 0 where either neuron never fired. Four output rows share
    /// each pass over an input's activations, which is what bounds the scoring: the sample of a layer's inputs rarely
    /// fits in L2.
    /// </summary>
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

        public int RowsPerTask => 4;

        public void ScoreRow(int row, Span<float> scores) => ScoreRows(row, 1, scores);

        public void ScoreRows(int first, int count, Span<float> scores)
        {
            var batch = _signals.Batch;
            var x = _signals.Input.Span;
            var a = _signals.Activation.Span;
            var inputs = scores.Length / count;
            var r = 0;
            for (; r + 4 <= count; r += 4)
            {
                var row = first + r;
                var o0 = a.Slice(row * batch, batch);
                var o1 = a.Slice((row + 1) * batch, batch);
                var o2 = a.Slice((row + 2) * batch, batch);
                var o3 = a.Slice((row + 3) * batch, batch);
                for (var i = 0; i < inputs; i++)
                {
                    var (d0, d1, d2, d3) = Dot4(o0, o1, o2, o3, x.Slice(i * batch, batch));
                    scores[(r * inputs) + i] = Cosine(d0, row, i);
                    scores[((r + 1) * inputs) + i] = Cosine(d1, row + 1, i);
                    scores[((r + 2) * inputs) + i] = Cosine(d2, row + 2, i);
                    scores[((r + 3) * inputs) + i] = Cosine(d3, row + 3, i);
                }
            }

            for (; r < count; r++)
            {
                var row = first + r;
                var output = a.Slice(row * batch, batch);
                for (var i = 0; i < inputs; i++)
                {
                    scores[(r * inputs) + i] = Cosine(TensorPrimitives.Dot(output, x.Slice(i * batch, batch)), row, i);
                }
            }
        }

        private float Cosine(float dot, int row, int input)
        {
            var norms = _outputNorms[row] * _inputNorms[input];
            return norms > 0 ? MathF.Abs(dot) / norms : 0f;
        }

        // Four dot products against one vector, in one pass over it: vector lanes, then the lanes summed in order,
        // then the tail.
        private static (float, float, float, float) Dot4(ReadOnlySpan<float> o0, ReadOnlySpan<float> o1, ReadOnlySpan<float> o2, ReadOnlySpan<float> o3, ReadOnlySpan<float> x)
        {
            var n = x.Length;
            var k = 0;
            float d0 = 0, d1 = 0, d2 = 0, d3 = 0;
            if (Vector.IsHardwareAccelerated && n >= Vector<float>.Count)
            {
                Vector<float> s0 = default, s1 = default, s2 = default, s3 = default;
                for (; k + Vector<float>.Count <= n; k += Vector<float>.Count)
                {
                    var v = new Vector<float>(x[k..]);
                    s0 += new Vector<float>(o0[k..]) * v;
                    s1 += new Vector<float>(o1[k..]) * v;
                    s2 += new Vector<float>(o2[k..]) * v;
                    s3 += new Vector<float>(o3[k..]) * v;
                }

                d0 = Vector.Sum(s0);
                d1 = Vector.Sum(s1);
                d2 = Vector.Sum(s2);
                d3 = Vector.Sum(s3);
            }

            for (; k < n; k++)
            {
                d0 += o0[k] * x[k];
                d1 += o1[k] * x[k];
                d2 += o2[k] * x[k];
                d3 += o3[k] * x[k];
            }

            return (d0, d1, d2, d3);
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
