using System.Numerics.Tensors;

namespace Sparse.Core;

/// <summary>
/// The products of a layer whose input is itself sparse (bag-of-words, one-hot records): a batch of samples given as
/// compressed rows, sample <c>b</c> holding <c>features[rowPointers[b] .. rowPointers[b + 1])</c> (increasing) with
/// their <c>values</c>. The work follows the batch's non-zeros times the in-degree of the features they name, never the
/// layer's input width: the forward product walks the columns of W that the batch names (through
/// <see cref="CsrMatrix.Transposed"/>), and the weight gradient writes the connections of the features that occur
/// (<see cref="ActiveFeatures"/>) and no other.
/// </summary>
public static unsafe class SparseInputOps
{
    // Samples per parallel chunk of the forward product: 16 floats are a 64-byte line of each output row, so two
    // threads never write one line.
    private const int ChunkSamples = 16;

    // Active features per parallel chunk of the weight gradient.
    private const int ChunkFeatures = 64;

    // Outputs up to which the forward product sums each sample of a chunk in a buffer of its own (16 x 4,096 floats,
    // 256 KiB at most) and writes the chunk's outputs once. Summed in place instead, the output rows lie a batch apart
    // (512 bytes at batch 128), so a sample's outputs fall in 8 of the L1 cache's 64 sets and nearly every addition
    // misses it.
    private const int BufferedOutputs = 4096;

    /// <summary><c>output = W x + bias</c> for a batch of sparse samples.</summary>
    /// <param name="weights">W, shape (out, in).</param>
    /// <param name="rowPointers">Where each sample's features start in <paramref name="features"/>; <c>batch + 1</c> entries.</param>
    /// <param name="features">Each non-zero's feature, increasing within a sample, below <c>in</c>.</param>
    /// <param name="values">Each non-zero's value.</param>
    /// <param name="bias">b, <c>out</c> entries, or empty for none.</param>
    /// <param name="output">Y, shape (out, batch), feature-major; overwritten.</param>
    /// <param name="batch">Number of samples.</param>
    /// <param name="options">Threads; <see cref="ComputeOptions.Default"/> when null.</param>
    /// <exception cref="ArgumentException">A length does not match the shapes, or a feature is outside the layer's inputs.</exception>
    public static void Multiply(CsrMatrix weights, ReadOnlySpan<long> rowPointers, ReadOnlySpan<int> features, ReadOnlySpan<float> values,
        ReadOnlySpan<float> bias, Span<float> output, int batch, ComputeOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(weights);
        CheckForward(weights.Columns, weights.Rows, rowPointers, features, values, bias, output.Length, batch);

        var view = weights.Transposed;
        fixed (long* columns = view.ColumnPointers)
        fixed (int* rows = view.RowIndices, positions = view.ValueIndices)
        fixed (float* w = weights.Values)
        {
            Forward(new PermutedValues(w, positions), columns, rows, weights.Rows, rowPointers, features, values, bias, output, batch, options);
        }
    }

    /// <summary>
    /// <c>output = W x + bias</c> for a batch of sparse samples, with W stored input-major: <paramref name="transposed"/>
    /// is W<sup>T</sup>, shape (in, out), so the connections of a feature lie side by side and a batch reads a run of
    /// memory per non-zero. The same sums in the same order as <see cref="Multiply"/> on W, so the same bits.
    /// </summary>
    /// <param name="transposed">W<sup>T</sup>, shape (in, out): row <c>i</c> lists the outputs input <c>i</c> feeds.</param>
    /// <param name="rowPointers">Where each sample's features start in <paramref name="features"/>; <c>batch + 1</c> entries.</param>
    /// <param name="features">Each non-zero's feature, increasing within a sample, below <c>in</c>.</param>
    /// <param name="values">Each non-zero's value.</param>
    /// <param name="bias">b, <c>out</c> entries, or empty for none.</param>
    /// <param name="output">Y, shape (out, batch), feature-major; overwritten.</param>
    /// <param name="batch">Number of samples.</param>
    /// <param name="options">Threads; <see cref="ComputeOptions.Default"/> when null.</param>
    /// <exception cref="ArgumentException">A length does not match the shapes, or a feature is outside the layer's inputs.</exception>
    public static void MultiplyInputMajor(CsrMatrix transposed, ReadOnlySpan<long> rowPointers, ReadOnlySpan<int> features, ReadOnlySpan<float> values,
        ReadOnlySpan<float> bias, Span<float> output, int batch, ComputeOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(transposed);
        CheckForward(transposed.Rows, transposed.Columns, rowPointers, features, values, bias, output.Length, batch);

        fixed (long* pointers = transposed.RowPointers)
        fixed (int* outputs = transposed.ColumnIndices)
        fixed (float* w = transposed.Values)
        {
            Forward(new DirectValues(w), pointers, outputs, transposed.Columns, rowPointers, features, values, bias, output, batch, options);
        }
    }

    // The forward product over a feature-major structure: feature f's connections are entries
    // [columnPointers[f], columnPointers[f + 1]), entry k feeding output rows[k] with weight weights[k].
    private static void Forward<TValues>(TValues weights, long* columnPointers, int* rows, int outputs, ReadOnlySpan<long> rowPointers, ReadOnlySpan<int> features,
        ReadOnlySpan<float> values, ReadOnlySpan<float> bias, Span<float> output, int batch, ComputeOptions? options)
        where TValues : struct, IEntryValues
    {
        var chunks = (batch + ChunkSamples - 1) / ChunkSamples;
        fixed (long* pointers = rowPointers)
        fixed (int* samples = features)
        fixed (float* x = values, y = output, b = bias)
        {
            if (outputs <= BufferedOutputs)
            {
                var action = new BufferedForwardAction<TValues>(pointers, samples, x, columnPointers, rows, weights, b, y, batch, outputs);
                SparseParallel.Run(ref action, chunks, options);
            }
            else
            {
                for (var r = 0; r < outputs; r++)
                {
                    output.Slice(r * batch, batch).Fill(bias.IsEmpty ? 0 : bias[r]);
                }

                var action = new ForwardAction<TValues>(pointers, samples, x, columnPointers, rows, weights, y, batch);
                SparseParallel.Run(ref action, chunks, options);
            }
        }
    }

    /// <summary>
    /// The weight gradient at the connections of the features that occur in the batch, and the bias gradient:
    /// <c>weightGradient[k] = sum_b outputGradient[j, b] x[i, b]</c> for each stored entry <c>k</c> at (j, i) with
    /// <c>i</c> in <paramref name="active"/>; every other entry of <paramref name="weightGradient"/> is left as it is
    /// (the optimizer steps only the active features' connections: <see cref="ActiveFeatures.Positions"/>).
    /// </summary>
    /// <param name="weights">W, shape (out, in); only its structure is read.</param>
    /// <param name="outputGradient">dY, shape (out, batch), feature-major.</param>
    /// <param name="active">The batch's features with the samples that hold each (<see cref="ActiveFeatures.Build"/>).</param>
    /// <param name="weightGradient">dW, aligned with <see cref="CsrMatrix.Values"/>.</param>
    /// <param name="biasGradient">db, <c>out</c> entries, overwritten; or empty for none.</param>
    /// <param name="batch">Number of samples.</param>
    /// <param name="options">Threads; <see cref="ComputeOptions.Default"/> when null.</param>
    /// <exception cref="ArgumentException">A length does not match the shapes, or <paramref name="active"/> names a feature outside the layer's inputs.</exception>
    public static void WeightGradient(CsrMatrix weights, ReadOnlySpan<float> outputGradient, ActiveFeatures active, Span<float> weightGradient,
        Span<float> biasGradient, int batch, ComputeOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(weights);
        CheckGradient(weights.Rows, weights.Columns, weights.NonZeroCount, outputGradient, active, weightGradient, biasGradient, batch);
        var view = weights.Transposed;
        fixed (long* columns = view.ColumnPointers)
        fixed (int* rows = view.RowIndices, positions = view.ValueIndices)
        {
            Gradient(new PermutedEntries(positions), columns, rows, outputGradient, active, weightGradient, batch, options);
        }
    }

    /// <summary>
    /// <see cref="WeightGradient"/> for W stored input-major: <paramref name="transposed"/> is W<sup>T</sup>, shape (in,
    /// out), and <paramref name="weightGradient"/> is aligned with its values, so each active feature's gradient is a run
    /// of the array. The same sums in the same order, so the same bits at each connection.
    /// </summary>
    /// <param name="transposed">W<sup>T</sup>, shape (in, out); only its structure is read.</param>
    /// <param name="outputGradient">dY, shape (out, batch), feature-major.</param>
    /// <param name="active">The batch's features with the samples that hold each (<see cref="ActiveFeatures.Build"/>).</param>
    /// <param name="weightGradient">dW<sup>T</sup>, aligned with <see cref="CsrMatrix.Values"/> of <paramref name="transposed"/>.</param>
    /// <param name="biasGradient">db, <c>out</c> entries, overwritten; or empty for none.</param>
    /// <param name="batch">Number of samples.</param>
    /// <param name="options">Threads; <see cref="ComputeOptions.Default"/> when null.</param>
    /// <exception cref="ArgumentException">A length does not match the shapes, or <paramref name="active"/> names a feature outside the layer's inputs.</exception>
    public static void WeightGradientInputMajor(CsrMatrix transposed, ReadOnlySpan<float> outputGradient, ActiveFeatures active, Span<float> weightGradient,
        Span<float> biasGradient, int batch, ComputeOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(transposed);
        CheckGradient(transposed.Columns, transposed.Rows, transposed.NonZeroCount, outputGradient, active, weightGradient, biasGradient, batch);
        fixed (long* pointers = transposed.RowPointers)
        fixed (int* outputs = transposed.ColumnIndices)
        {
            Gradient(default(DirectEntries), pointers, outputs, outputGradient, active, weightGradient, batch, options);
        }
    }

    // Checks the shapes of a weight gradient and writes the bias gradient.
    private static void CheckGradient(int outputs, int inputs, long connections, ReadOnlySpan<float> outputGradient, ActiveFeatures active,
        Span<float> weightGradient, Span<float> biasGradient, int batch)
    {
        ArgumentNullException.ThrowIfNull(active);
        ThrowHelper.CheckDense(outputGradient.Length, outputs, batch, nameof(outputGradient));
        if (weightGradient.Length != connections)
        {
            throw new ArgumentException($"The weight gradient has {weightGradient.Length} entries for {connections} connections.", nameof(weightGradient));
        }

        if (active.Batch != batch || (active.Count > 0 && active.Features[active.Count - 1] >= inputs))
        {
            throw new ArgumentException($"The active features are of a batch of {active.Batch} over features up to {(active.Count > 0 ? active.Features[active.Count - 1] : -1)}; " +
                $"the layer takes {inputs} inputs and the batch is {batch}.", nameof(active));
        }

        if (!biasGradient.IsEmpty)
        {
            if (biasGradient.Length != outputs)
            {
                throw new ArgumentException($"The bias gradient has {biasGradient.Length} entries for {outputs} outputs.", nameof(biasGradient));
            }

            for (var r = 0; r < outputs; r++)
            {
                biasGradient[r] = TensorPrimitives.Sum(outputGradient.Slice(r * batch, batch));
            }
        }
    }

    // The weight gradient over a feature-major structure: feature f's connections are entries
    // [columnPointers[f], columnPointers[f + 1]), entry k from output rows[k], its gradient at positions[k].
    private static void Gradient<TPositions>(TPositions positions, long* columnPointers, int* rows, ReadOnlySpan<float> outputGradient, ActiveFeatures active,
        Span<float> weightGradient, int batch, ComputeOptions? options)
        where TPositions : struct, IEntryPositions
    {
        fixed (int* features = active.FeatureArray, pointers = active.Pointers, samples = active.Samples)
        fixed (float* values = active.Values, dy = outputGradient, dw = weightGradient)
        {
            var action = new GradientAction<TPositions>(features, pointers, samples, values, columnPointers, rows, positions, dy, dw, batch, active.Count);
            SparseParallel.Run(ref action, (active.Count + ChunkFeatures - 1) / ChunkFeatures, options);
        }
    }

    private static void CheckForward(int inputs, int outputs, ReadOnlySpan<long> rowPointers, ReadOnlySpan<int> features, ReadOnlySpan<float> values,
        ReadOnlySpan<float> bias, int outputLength, int batch)
    {
        CheckBatch(inputs, rowPointers, features, values, batch);
        ThrowHelper.CheckDense(outputLength, outputs, batch, "output");
        if (!bias.IsEmpty && bias.Length != outputs)
        {
            throw new ArgumentException($"The bias has {bias.Length} entries for {outputs} outputs.", nameof(bias));
        }
    }

    private static void CheckBatch(int inputs, ReadOnlySpan<long> rowPointers, ReadOnlySpan<int> features, ReadOnlySpan<float> values, int batch)
    {
        if (features.Length != values.Length)
        {
            throw new ArgumentException($"{features.Length} features need as many values, got {values.Length}.", nameof(values));
        }

        CheckRowPointers(rowPointers, features.Length, batch);
        foreach (var f in features[..(int)rowPointers[batch]])
        {
            if ((uint)f >= (uint)inputs)
            {
                throw new ArgumentException($"Feature {f} is outside the layer's {inputs} inputs.", nameof(features));
            }
        }
    }

    /// <summary>Checks that <paramref name="rowPointers"/> describe <paramref name="batch"/> samples of at most <paramref name="nonZeros"/> entries: from 0, never going back.</summary>
    internal static void CheckRowPointers(ReadOnlySpan<long> rowPointers, int nonZeros, int batch)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(batch);
        if (rowPointers.Length != batch + 1 || rowPointers[0] != 0 || rowPointers[batch] > nonZeros)
        {
            throw new ArgumentException($"A batch of {batch} samples needs {batch + 1} row pointers from 0 to at most {nonZeros}.", nameof(rowPointers));
        }

        for (var b = 0; b < batch; b++)
        {
            if (rowPointers[b + 1] < rowPointers[b])
            {
                throw new ArgumentException($"Row pointer {b + 1} ({rowPointers[b + 1]}) is below the one before it ({rowPointers[b]}).", nameof(rowPointers));
            }
        }
    }

    private readonly struct ForwardAction<TValues>(long* samplePointers, int* features, float* values, long* columnPointers, int* rows, TValues weights, float* output, int batch) : IChunkAction
        where TValues : struct, IEntryValues
    {
        public void Execute(int chunk)
        {
            var end = Math.Min(batch, (chunk + 1) * ChunkSamples);
            for (var b = chunk * ChunkSamples; b < end; b++)
            {
                for (var e = samplePointers[b]; e < samplePointers[b + 1]; e++)
                {
                    var f = features[e];
                    var v = values[e];
                    for (var k = columnPointers[f]; k < columnPointers[f + 1]; k++)
                    {
                        output[((long)rows[k] * batch) + b] += weights[k] * v;
                    }
                }
            }
        }
    }

    // The forward product of a chunk of samples, each summed from its bias in a row of a pooled buffer (one sample's
    // outputs side by side, in the L1 cache), in the order ForwardAction sums them in place, so the bits are the same;
    // then the chunk's outputs are written to Y once, a 64-byte line of each output row.
    private readonly struct BufferedForwardAction<TValues>(long* samplePointers, int* features, float* values, long* columnPointers, int* rows,
        TValues weights, float* bias, float* output, int batch, int outputs) : IChunkAction
        where TValues : struct, IEntryValues
    {
        public void Execute(int chunk)
        {
            // Fields and loop bounds in locals: the sums are stored through a float*, which the JIT must assume may
            // alias every field and array it reads, so read in the loop they are reloaded for each connection.
            var starts = samplePointers;
            var nonZeroFeatures = features;
            var nonZeroValues = values;
            var pointers = columnPointers;
            var outputRows = rows;
            var w = weights;
            var width = outputs;
            var first = chunk * ChunkSamples;
            var count = Math.Min(batch, first + ChunkSamples) - first;
            var last = starts[batch];
            var rented = System.Buffers.ArrayPool<float>.Shared.Rent(count * width);
            fixed (float* buffer = rented)
            {
                for (var s = 0; s < count; s++)
                {
                    var sums = buffer + ((long)s * width);
                    var span = new Span<float>(sums, width);
                    if (bias is null)
                    {
                        span.Clear();
                    }
                    else
                    {
                        new ReadOnlySpan<float>(bias, width).CopyTo(span);
                    }

                    var sampleEnd = starts[first + s + 1];
                    for (var e = starts[first + s]; e < sampleEnd; e++)
                    {
                        if (e + FarAhead < last)
                        {
                            var (runStart, runLast) = Ahead(nonZeroFeatures, e, pointers, outputRows);
                            w.PrefetchRun(runStart);
                            w.PrefetchRun(runLast);
                        }

                        var f = nonZeroFeatures[e];
                        AddRun(sums, outputRows, w, pointers[f], pointers[f + 1], nonZeroValues[e]);
                    }
                }

                var stride = batch;
                var y0 = output + first;
                for (var r = 0; r < width; r++)
                {
                    var y = y0 + ((long)r * stride);
                    for (var s = 0; s < count; s++)
                    {
                        y[s] = buffer[((long)s * width) + r];
                    }
                }
            }

            System.Buffers.ArrayPool<float>.Shared.Return(rented);
        }

        // sums[rows[k]] += w[k] * v over a feature's run. A call of its own: inlined, the walk's live values leave too
        // few registers, and the loop reloads its pointers from the stack for each connection.
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
        private static void AddRun(float* sums, int* rows, TValues w, long start, long end, float v)
        {
            for (var k = start; k < end; k++)
            {
                sums[rows[k]] += w[k] * v;
            }
        }
    }

    private readonly struct GradientAction<TPositions>(int* features, int* pointers, int* samples, float* values, long* columnPointers, int* rows,
        TPositions positions, float* outputGradient, float* weightGradient, int batch, int count) : IChunkAction
        where TPositions : struct, IEntryPositions
    {
        public void Execute(int chunk)
        {
            // Fields and loop bounds in locals, as in BufferedForwardAction: stores through weightGradient would
            // otherwise reload them for each connection.
            var active = features;
            var occurrences = pointers;
            var samplesOf = samples;
            var valuesOf = values;
            var runs = columnPointers;
            var outputRows = rows;
            var at = positions;
            var dyAll = outputGradient;
            var dw = weightGradient;
            var stride = (long)batch;
            var end = Math.Min(count, (chunk + 1) * ChunkFeatures);
            for (var a = chunk * ChunkFeatures; a < end; a++)
            {
                if (a + FarAhead < count)
                {
                    var (start, last) = Ahead(active, a, runs, outputRows);
                    at.PrefetchRun(dw, start);
                    at.PrefetchRun(dw, last);
                }

                var f = active[a];
                var (occurrence, occurrencesEnd) = (occurrences[a], occurrences[a + 1]);
                var runEnd = runs[f + 1];
                if (occurrencesEnd - occurrence == 1)
                {
                    // Most features of a batch over a wide input occur once: no loop over samples per connection.
                    // 0 + x is x except that it turns -0 into +0, as the loop below does.
                    var dy = dyAll + samplesOf[occurrence];
                    var value = valuesOf[occurrence];
                    for (var k = runs[f]; k < runEnd; k++)
                    {
                        dw[at[k]] = 0f + (dy[outputRows[k] * stride] * value);
                    }

                    continue;
                }

                for (var k = runs[f]; k < runEnd; k++)
                {
                    var dy = dyAll + (outputRows[k] * stride);
                    var sum = 0f;
                    for (var e = occurrence; e < occurrencesEnd; e++)
                    {
                        sum += dy[samplesOf[e]] * valuesOf[e];
                    }

                    dw[at[k]] = sum;
                }
            }
        }
    }

    // A feature-major walk visits features in an order of the data's, each at a random place of a wide layer's
    // arrays: two dependent misses (its pointer, then its run) per feature, which the hardware prefetcher cannot see
    // coming. So the walk asks for the pointer of the feature FarAhead places on, and for the first and last lines of
    // the run of the one NearAhead places on (whose pointer it asked for FarAhead - NearAhead places before; a run of
    // about 20 connections spans two lines as often as not); returns where that run starts and ends.
    private const int NearAhead = 8;
    private const int FarAhead = 32;

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static (long Start, long Last) Ahead<TIndex>(int* features, TIndex at, long* columnPointers, int* rows)
        where TIndex : System.Numerics.IBinaryInteger<TIndex>
    {
        var index = long.CreateTruncating(at);
        var f = features[index + NearAhead];
        var start = columnPointers[f];
        var last = Math.Max(start, columnPointers[f + 1] - 1);
        if (System.Runtime.Intrinsics.X86.Sse.IsSupported)
        {
            System.Runtime.Intrinsics.X86.Sse.Prefetch0(columnPointers + features[index + FarAhead]);
            System.Runtime.Intrinsics.X86.Sse.Prefetch0(rows + start);
            System.Runtime.Intrinsics.X86.Sse.Prefetch0(rows + last);
        }

        return (start, last);
    }

    // Where entry k of a feature-major walk keeps its gradient: k itself (W stored input-major) or the transposed
    // view's permutation (W stored output-major).
    private interface IEntryPositions
    {
        long this[long k] { get; }

        // Starts loading what a run of entries from k on writes through: the gradient, or the permutation.
        void PrefetchRun(float* gradient, long k);
    }

    private readonly struct DirectEntries : IEntryPositions
    {
        public long this[long k]
        {
            [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
            get => k;
        }

        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        public void PrefetchRun(float* gradient, long k)
        {
            if (System.Runtime.Intrinsics.X86.Sse.IsSupported)
            {
                System.Runtime.Intrinsics.X86.Sse.Prefetch0(gradient + k);
            }
        }
    }

    private readonly struct PermutedEntries(int* positions) : IEntryPositions
    {
        public long this[long k]
        {
            [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
            get => positions[k];
        }

        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        public void PrefetchRun(float* gradient, long k)
        {
            if (System.Runtime.Intrinsics.X86.Sse.IsSupported)
            {
                System.Runtime.Intrinsics.X86.Sse.Prefetch0(positions + k);
            }
        }
    }
}
