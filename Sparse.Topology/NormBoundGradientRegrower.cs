using System.Numerics.Tensors;
using Sparse.Core;
using Sparse.Training;

namespace Sparse.Topology;

/// <summary>
/// RigL's regrowth without scoring every missing connection. The gradient of a missing connection is
/// <c>dot(dY[j, :], X[i, :])</c>, at most <c>|dY[j, :]| x |X[i, :]|</c> (Cauchy-Schwarz), so it can only be large
/// where both an output neuron's gradient norm and an input neuron's activation norm are. This rule scores exactly the block of the top <c>R</c> rows by <c>|dY[j, :]|</c> and the top <c>C</c>
/// columns by <c>|X[i, :]|</c>, with <c>R x C</c> about <see cref="Oversampling"/> times the connections to grow
/// (more where the block is dense with kept connections), and grows the best-scoring missing ones, at weight 0.
/// Time O((out + in) x batch + Oversampling x k x batch); extra memory 4 bytes per scored candidate. Exact RigL
/// costs O(out x in x batch): use it while that is affordable; <see cref="GradientRegrower"/> switches to this search
/// beyond <see cref="GradientRegrower.DefaultExactScores"/> scores a layer.
/// </summary>
/// <remarks>
/// Which neurons enter the block depends only on norms; inside it the choice is exact, ties going to the lower
/// (row, column), so when the block covers the whole layer the result is exact RigL's. The new connections come
/// out in (row, column) order.
/// </remarks>
public sealed class NormBoundGradientRegrower(double oversampling = 4) : IRegrower
{
    /// <summary>Candidates scored per connection grown (at least 1).</summary>
    public double Oversampling { get; } = oversampling >= 1 ? oversampling : throw new ArgumentOutOfRangeException(nameof(oversampling), oversampling, "Score at least one candidate per connection grown.");

    /// <inheritdoc/>
    public SignalKinds Signals => SignalKinds.OutputGradients;

    /// <inheritdoc/>
    public string Name => "gradient (bounded search)";

    /// <inheritdoc/>
    public long ScratchBytesPerGrown => (long)Math.Ceiling(4 * Oversampling * 2);

    /// <inheritdoc/>
    public void Grow(GrowthRequest request, CooMatrix grown)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(grown);
        var signals = GradientRegrower.RequireGradients(request);
        var kept = request.Kept;
        var k = request.Count;
        if (k == 0)
        {
            return;
        }

        var batch = signals.Batch;
        var rowOrder = ByNormDescending(signals.OutputGradient.Span, kept.Rows, batch);
        var columnOrder = ByNormDescending(signals.Input.Span, kept.Columns, batch);

        // Grow the block until it holds k missing positions: kept connections inside it take room too.
        var target = Math.Max(k * Oversampling, 1);
        while (true)
        {
            var (rows, columns) = BlockShape(target, kept.Rows, kept.Columns);
            var blockRows = rowOrder.AsSpan(0, rows).ToArray();
            var blockColumns = columnOrder.AsSpan(0, columns).ToArray();
            Array.Sort(blockRows);
            Array.Sort(blockColumns);
            var whole = rows == kept.Rows && columns == kept.Columns;
            if (TryGrow(kept, signals, blockRows, blockColumns, k, grown, request.Compute) || whole)
            {
                return;
            }

            // The block's scores are one array: it cannot pass 2^31 entries.
            if ((double)rows * columns * 2 > int.MaxValue)
            {
                throw new InvalidOperationException($"The {rows} x {columns} block of the strongest neurons holds fewer than {k} missing connections, " +
                    "and a larger one would pass 2^31 scores: grow fewer connections per step.");
            }

            target *= 2;
        }
    }

    // R rows and C columns with R x C >= target, R / C as out / in (the block keeps the layer's shape), within bounds.
    private static (int Rows, int Columns) BlockShape(double target, int outputs, int inputs)
    {
        target = Math.Min(target, (double)outputs * inputs);
        var rows = (int)Math.Clamp(Math.Ceiling(Math.Sqrt(target * outputs / inputs)), 1, outputs);
        var columns = (int)Math.Clamp(Math.Ceiling(target / rows), 1, inputs);
        if ((double)rows * columns < target)
        {
            rows = (int)Math.Clamp(Math.Ceiling(target / columns), 1, outputs);
        }

        return (rows, columns);
    }

    // Neuron indices by the norm of their row of `values` (neurons x batch), largest first, ties by index.
    private static int[] ByNormDescending(ReadOnlySpan<float> values, int neurons, int batch)
    {
        var keys = new float[neurons];
        var order = new int[neurons];
        for (var n = 0; n < neurons; n++)
        {
            var norm = TensorPrimitives.Norm(values.Slice(n * batch, batch));
            keys[n] = float.IsNaN(norm) ? float.PositiveInfinity : -norm;
            order[n] = n;
        }

        // A stable order on equal keys: sort (key, index) pairs.
        Array.Sort(keys, order);
        var start = 0;
        for (var n = 1; n <= neurons; n++)
        {
            if (n == neurons || keys[n] != keys[start])
            {
                Array.Sort(order, start, n - start);
                start = n;
            }
        }

        return order;
    }

    // Scores the block, and adds its k best missing positions to `grown` in (row, column) order; false when the
    // block holds fewer than k missing positions.
    private static bool TryGrow(CsrMatrix kept, LayerSignals signals, int[] rows, int[] columns, int k, CooMatrix grown, ComputeOptions options)
    {
        var count = (long)rows.Length * columns.Length;
        using var buffer = new ScratchArray<float>((int)count);
        var scores = buffer.Array;
        var action = new ScoreBlock(kept, signals, rows, columns, scores);
        SparseParallel.Run(ref action, rows.Length, options);
        var threshold = KthLargest(scores.AsSpan(0, (int)count), k, out var above, out var available);
        if (available < k)
        {
            return false;
        }

        // All candidates above the threshold, and at it the first ones by position until k.
        var atThreshold = k - above;
        grown.EnsureCapacity(grown.Count + k);
        for (var r = 0; r < rows.Length; r++)
        {
            var line = scores.AsSpan(r * columns.Length, columns.Length);
            for (var c = 0; c < line.Length; c++)
            {
                var score = line[c];
                if (score > threshold || (score == threshold && atThreshold-- > 0))
                {
                    grown.AddPosition(rows[r], columns[c]);
                }
            }
        }

        return true;
    }

    // |dot(dY[j], X[i])| for every (j, i) of the block; -1 where the connection exists (never chosen).
    private readonly struct ScoreBlock(CsrMatrix kept, LayerSignals signals, int[] rows, int[] columns, float[] scores) : IChunkAction
    {
        public void Execute(int r)
        {
            var batch = signals.Batch;
            var dy = signals.OutputGradient.Span;
            var x = signals.Input.Span;
            var row = rows[r];
            var gradient = dy.Slice(row * batch, batch);
            var line = scores.AsSpan(r * columns.Length, columns.Length);
            var existing = (int)kept.RowPointers[row];
            var end = (int)kept.RowPointers[row + 1];
            for (var c = 0; c < columns.Length; c++)
            {
                var column = columns[c];
                while (existing < end && kept.ColumnIndices[existing] < column)
                {
                    existing++;
                }

                if (existing < end && kept.ColumnIndices[existing] == column)
                {
                    line[c] = -1f;
                    continue;
                }

                var score = MathF.Abs(TensorPrimitives.Dot(gradient, x.Slice(column * batch, batch)));
                line[c] = float.IsNaN(score) ? 0f : score;
            }
        }
    }

    // The k-th largest of the non-negative scores (negative ones are excluded). With at least k of them, the k-th
    // largest of all scores is theirs, so MissingTopK's radix select serves. `above` is how many are strictly larger,
    // `available` how many are non-negative; NaN when fewer than k are.
    internal static float KthLargest(ReadOnlySpan<float> scores, int k, out int above, out long available)
    {
        available = 0;
        foreach (var score in scores)
        {
            available += score >= 0 ? 1 : 0;
        }

        above = 0;
        return available < k ? float.NaN : MissingTopK.KthLargest(scores, k, out above);
    }
}
