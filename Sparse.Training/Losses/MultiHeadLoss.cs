using Sparse.Core;

namespace Sparse.Training;

/// <summary>
/// The loss of a network with several output heads side by side (a block-diagonal network of independent models,
/// <c>ParallelNetworks</c>): the outputs are <see cref="Heads"/> consecutive groups of <see cref="HeadSize"/> rows,
/// each scored by the same inner loss as if it were a network of its own, so each head's gradient is exactly the
/// one its model would get alone. <see cref="Compute"/> and <see cref="Evaluate"/> return the mean over the heads
/// that have not diverged.
/// <para>
/// Per head it keeps running sums of loss, correct samples and samples, separately for training steps and for
/// evaluations, which a caller reads and clears once per epoch (<see cref="TakeTraining"/>,
/// <see cref="TakeEvaluation"/>). A head whose loss is not finite in a training step is marked diverged
/// (<see cref="Diverged"/>): from then on it gets a zero gradient and leaves every mean, so one model with too high a
/// learning rate does not end the training of the others.
/// </para>
/// </summary>
public sealed class MultiHeadLoss : ILoss
{
    private readonly ILoss _inner;
    private readonly HeadSums[] _training;
    private readonly HeadSums[] _evaluation;
    private readonly bool[] _diverged;

    /// <summary>
    /// A loss over <paramref name="heads"/> heads of <paramref name="headSize"/> outputs, each scored by
    /// <paramref name="inner"/>; <paramref name="classification"/> says whether heads have an accuracy.
    /// </summary>
    public MultiHeadLoss(ILoss inner, int heads, int headSize, bool classification)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentOutOfRangeException.ThrowIfLessThan(heads, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(headSize, 1);
        _inner = inner;
        Heads = heads;
        HeadSize = headSize;
        _training = new HeadSums[heads];
        _evaluation = new HeadSums[heads];
        _diverged = new bool[heads];
        IsClassification = classification;
    }

    /// <summary>Whether the heads classify (and so have an accuracy).</summary>
    public bool IsClassification { get; }

    /// <summary>The number of heads.</summary>
    public int Heads { get; }

    /// <summary>Outputs per head.</summary>
    public int HeadSize { get; }

    /// <summary>Whether each head has diverged (a non-finite training loss); such a head trains no more.</summary>
    public IReadOnlyList<bool> Diverged => _diverged;

    /// <inheritdoc/>
    public float Compute(ReadOnlySpan<float> output, Batch batch, Span<float> outputGradient, ComputeOptions? options = null)
    {
        var rows = HeadSize * batch.Size;
        double sum = 0;
        var counted = 0;
        for (var h = 0; h < Heads; h++)
        {
            var gradient = outputGradient.Slice(h * rows, rows);
            if (_diverged[h])
            {
                gradient.Clear();
                continue;
            }

            var head = output.Slice(h * rows, rows);
            var loss = _inner.Compute(head, batch, gradient, options);
            if (!float.IsFinite(loss))
            {
                _diverged[h] = true;
                gradient.Clear();
                continue;
            }

            _training[h].Add(loss, IsClassification ? _inner.CountCorrect(head, batch) : 0, batch.Size);
            sum += loss;
            counted++;
        }

        return counted == 0 ? float.NaN : (float)(sum / counted);
    }

    /// <inheritdoc/>
    public float Evaluate(ReadOnlySpan<float> output, Batch batch, ComputeOptions? options = null)
    {
        var rows = HeadSize * batch.Size;
        double sum = 0;
        var counted = 0;
        for (var h = 0; h < Heads; h++)
        {
            if (_diverged[h])
            {
                continue;
            }

            var head = output.Slice(h * rows, rows);
            var loss = _inner.Evaluate(head, batch, options);
            _evaluation[h].Add(loss, IsClassification ? _inner.CountCorrect(head, batch) : 0, batch.Size);
            sum += loss;
            counted++;
        }

        return counted == 0 ? float.NaN : (float)(sum / counted);
    }

    /// <summary>The mean over the heads that have not diverged of each head's correct samples, rounded down.</summary>
    public int CountCorrect(ReadOnlySpan<float> output, Batch batch)
    {
        var rows = HeadSize * batch.Size;
        long sum = 0;
        var counted = 0;
        for (var h = 0; h < Heads; h++)
        {
            if (!_diverged[h])
            {
                sum += _inner.CountCorrect(output.Slice(h * rows, rows), batch);
                counted++;
            }
        }

        return counted == 0 ? 0 : (int)(sum / counted);
    }

    /// <summary>Each head's mean loss and accuracy over the training steps since the last call, then clears them.</summary>
    public HeadScore[] TakeTraining() => Take(_training);

    /// <summary>Each head's mean loss and accuracy over the evaluations since the last call, then clears them.</summary>
    public HeadScore[] TakeEvaluation() => Take(_evaluation);

    /// <summary>Marks head <paramref name="head"/> diverged (non-finite weights found by the caller).</summary>
    public void MarkDiverged(int head) => _diverged[head] = true;

    private HeadScore[] Take(HeadSums[] sums)
    {
        var scores = new HeadScore[Heads];
        for (var h = 0; h < Heads; h++)
        {
            scores[h] = _diverged[h] || sums[h].Samples == 0
                ? new HeadScore(float.NaN, null)
                : new HeadScore((float)(sums[h].Loss / sums[h].Samples), IsClassification ? (float)sums[h].Correct / sums[h].Samples : null);
            sums[h] = default;
        }

        return scores;
    }

    private struct HeadSums
    {
        public double Loss;
        public long Correct;
        public long Samples;

        public void Add(float loss, int correct, int samples)
        {
            Loss += (double)loss * samples;
            Correct += correct;
            Samples += samples;
        }
    }
}

/// <summary>One head's mean loss and accuracy (null for regression or a diverged head) over some batches.</summary>
public readonly record struct HeadScore(float Loss, float? Accuracy);
