namespace Sparse.Core;

/// <summary>
/// The features that occur in a batch of sparse samples, in increasing order, each with the samples that hold it and
/// their values: the batch's columns, which <see cref="SparseInputOps.WeightGradient"/> walks and whose connections an
/// optimizer steps (<see cref="Positions"/>). Built in O(nnz) of the batch, into buffers reused from batch to
/// batch; nothing in it grows with the layer's input width.
/// </summary>
public sealed class ActiveFeatures
{
    // Sorting buffers: entry indices, the other half of each radix pass, and each entry's sample.
    private long[] _order = [];
    private long[] _scratch = [];
    private int[] _sampleOf = [];

    /// <summary>Features that occur in the batch.</summary>
    public int Count { get; private set; }

    /// <summary>Samples of the batch it was built from.</summary>
    public int Batch { get; private set; }

    /// <summary>The features that occur, increasing.</summary>
    public ReadOnlySpan<int> Features => FeatureArray.AsSpan(0, Count);

    internal int[] FeatureArray { get; private set; } = [];

    // Feature a's samples are Samples[Pointers[a] .. Pointers[a + 1]), increasing, with their Values.
    internal int[] Pointers { get; private set; } = [0];

    internal int[] Samples { get; private set; } = [];

    internal float[] Values { get; private set; } = [];

    /// <summary>Reads a batch given as compressed rows, as <see cref="SparseInputOps.Multiply"/> takes it.</summary>
    /// <exception cref="ArgumentException">The row pointers do not describe <paramref name="batch"/> samples of the given non-zeros.</exception>
    public void Build(ReadOnlySpan<long> rowPointers, ReadOnlySpan<int> features, ReadOnlySpan<float> values, int batch)
    {
        SparseInputOps.CheckRowPointers(rowPointers, Math.Min(features.Length, values.Length), batch);
        var nonZeros = (int)rowPointers[batch];
        if (_order.Length < nonZeros)
        {
            var capacity = Math.Max(nonZeros, 2 * _order.Length);
            (_order, _scratch, _sampleOf, Samples, Values, FeatureArray) = (new long[capacity], new long[capacity], new int[capacity], new int[capacity], new float[capacity], new int[capacity]);
            Pointers = new int[capacity + 1];
        }

        var widest = 0;
        for (var b = 0; b < batch; b++)
        {
            for (var e = (int)rowPointers[b]; e < rowPointers[b + 1]; e++)
            {
                if (features[e] < 0)
                {
                    throw new ArgumentException($"Feature {features[e]} of sample {b} is negative.", nameof(features));
                }

                // The feature above the non-zero's index: the sort reads its key from the item itself.
                _sampleOf[e] = b;
                _order[e] = ((long)features[e] << 32) | (uint)e;
                widest |= features[e];
            }
        }

        // The non-zeros by feature, stably: they come in sample order, so each feature's samples stay in order.
        var from = RadixSort<long, HighWord>(_order.AsSpan(0, nonZeros), _scratch.AsSpan(0, nonZeros), widest);

        // Without a branch on whether a feature starts (at narrow inputs features repeat at random within a batch):
        // every non-zero writes its feature and position at the current end, and the end moves on only where a feature
        // starts, so the last writes to the end are those of the next feature's first non-zero.
        var featureArray = FeatureArray.AsSpan(0, nonZeros);
        var pointers = Pointers.AsSpan(0, nonZeros);
        var samples = Samples.AsSpan(0, nonZeros);
        var sorted = Values.AsSpan(0, nonZeros);
        var sampleOf = _sampleOf.AsSpan(0, nonZeros);
        var count = 0;
        var previous = -1;
        for (var n = 0; n < nonZeros; n++)
        {
            var e = (int)from[n];
            var feature = (int)(from[n] >>> 32);
            featureArray[count] = feature;
            pointers[count] = n;
            count += feature != previous ? 1 : 0;
            previous = feature;
            samples[n] = sampleOf[e];
            sorted[n] = values[e];
        }

        Pointers[count] = nonZeros;
        Count = count;
        Batch = batch;
    }

    // A stable LSD radix sort of `items` by TKey's key, 11-bit digits, through `scratch` (as long); keys lie in
    // [0, widest], whose bits bound the passes (two up to 4,194,303). Returns whichever of the two spans holds the
    // sorted items. O(items) a pass.
    private static Span<T> RadixSort<T, TKey>(Span<T> items, Span<T> scratch, int widest)
        where TKey : IRadixKey<T>
    {
        const int Bits = 11;
        const int Mask = (1 << Bits) - 1;
        Span<int> counts = stackalloc int[1 << Bits];
        var from = items;
        var to = scratch;
        for (var shift = 0; shift < 31 && widest >> shift > 0; shift += Bits)
        {
            counts.Clear();
            foreach (var item in from)
            {
                counts[(TKey.Of(item) >> shift) & Mask]++;
            }

            var sum = 0;
            for (var d = 0; d < counts.Length; d++)
            {
                (counts[d], sum) = (sum, sum + counts[d]);
            }

            foreach (var item in from)
            {
                to[counts[(TKey.Of(item) >> shift) & Mask]++] = item;
            }

            var swap = from;
            from = to;
            to = swap;
        }

        return from;
    }

    /// <summary>How many connections of <paramref name="weights"/> the active features have: the length <see cref="Positions"/> writes.</summary>
    public long ConnectionCount(CsrMatrix weights)
    {
        ArgumentNullException.ThrowIfNull(weights);
        return RunLengths(weights.Transposed.ColumnPointers);
    }

    private long RunLengths(long[] pointers)
    {
        long total = 0;
        foreach (var f in Features)
        {
            total += pointers[f + 1] - pointers[f];
        }

        return total;
    }

    /// <summary>
    /// <see cref="Positions"/> in increasing order, so that an optimizer reading and writing those entries walks its
    /// arrays forward (a feature's connections lie in every row, so feature by feature they jump about the arrays).
    /// A radix sort of 11-bit digits through <paramref name="scratch"/> (at least as long); returns how many.
    /// </summary>
    /// <exception cref="ArgumentException">A span is shorter than <see cref="ConnectionCount"/>.</exception>
    public int SortedPositions(CsrMatrix weights, Span<int> destination, Span<int> scratch)
    {
        var count = Positions(weights, destination);
        if (scratch.Length < count)
        {
            throw new ArgumentException($"The scratch holds {scratch.Length} of {count} positions.", nameof(scratch));
        }

        var sorted = RadixSort<int, Itself>(destination[..count], scratch[..count], (int)Math.Max(0, weights.NonZeroCount - 1));
        if (sorted != destination[..count])
        {
            sorted.CopyTo(destination);
        }

        return count;
    }

    /// <summary>
    /// Writes where in <see cref="CsrMatrix.Values"/> the active features' connections are (feature by feature), and
    /// returns how many: the entries an optimizer steps after <see cref="SparseInputOps.WeightGradient"/>.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than <see cref="ConnectionCount"/>.</exception>
    public int Positions(CsrMatrix weights, Span<int> destination)
    {
        ArgumentNullException.ThrowIfNull(weights);
        var view = weights.Transposed;
        return WriteRuns(view.ColumnPointers, view.ValueIndices, destination);
    }

    // Writes each active feature's run [pointers[f], pointers[f + 1]): the entries of `positions` there, or the run's
    // own indices when there are none.
    private int WriteRuns(long[] pointers, int[]? positions, Span<int> destination)
    {
        var at = 0;
        foreach (var f in Features)
        {
            var from = (int)pointers[f];
            var length = (int)pointers[f + 1] - from;
            if (at + length > destination.Length)
            {
                throw new ArgumentException($"The active features have {RunLengths(pointers)} connections; the destination holds {destination.Length}.", nameof(destination));
            }

            var run = destination.Slice(at, length);
            if (positions is null)
            {
                for (var k = 0; k < length; k++)
                {
                    run[k] = from + k;
                }
            }
            else
            {
                positions.AsSpan(from, length).CopyTo(run);
            }

            at += length;
        }

        return at;
    }

    /// <summary>How many connections the active features have in a layer stored input-major (<paramref name="transposed"/> is W<sup>T</sup>, shape (in, out)).</summary>
    public long ConnectionCountInputMajor(CsrMatrix transposed)
    {
        ArgumentNullException.ThrowIfNull(transposed);
        return RunLengths(transposed.RowPointers);
    }

    /// <summary>
    /// <see cref="Positions"/> for a layer stored input-major (<paramref name="transposed"/> is W<sup>T</sup>, shape (in,
    /// out)): each active feature's connections are one run of its values, and the features are increasing, so the
    /// positions come out increasing without a sort. Returns how many.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than <see cref="ConnectionCountInputMajor"/>.</exception>
    public int PositionsInputMajor(CsrMatrix transposed, Span<int> destination)
    {
        ArgumentNullException.ThrowIfNull(transposed);
        return WriteRuns(transposed.RowPointers, null, destination);
    }

    /// <summary>
    /// The same entries as <see cref="PositionsInputMajor"/>, as runs: run <c>r</c> is the entries
    /// <c>[starts[r], starts[r] + lengths[r])</c>, increasing, disjoint and non-empty, the runs of features that lie
    /// side by side joined into one. At most <see cref="Count"/> runs; returns how many, and the entries they hold in
    /// <paramref name="entries"/>. An optimizer steps a run as one range, so it needs neither the entry list nor a pass
    /// to find the runs in it.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="starts"/> or <paramref name="lengths"/> is shorter than <see cref="Count"/>.</exception>
    public int RunsInputMajor(CsrMatrix transposed, Span<int> starts, Span<int> lengths, out long entries)
    {
        ArgumentNullException.ThrowIfNull(transposed);
        if (starts.Length < Count || lengths.Length < Count)
        {
            throw new ArgumentException($"{Count} active features need room for as many runs; got {starts.Length} starts and {lengths.Length} lengths.", nameof(starts));
        }

        var pointers = transposed.RowPointers;
        var runs = 0;
        entries = 0;
        foreach (var f in Features)
        {
            var from = pointers[f];
            var length = (int)(pointers[f + 1] - from);
            if (length == 0)
            {
                continue;
            }

            entries += length;
            if (runs > 0 && starts[runs - 1] + (long)lengths[runs - 1] == from)
            {
                lengths[runs - 1] += length;
            }
            else
            {
                starts[runs] = (int)from;
                lengths[runs++] = length;
            }
        }

        return runs;
    }

    // The key a radix sort orders an item by.
    private interface IRadixKey<T>
    {
        static abstract int Of(T item);
    }

    // An int is its own key.
    private readonly struct Itself : IRadixKey<int>
    {
        public static int Of(int item) => item;
    }

    // A long's key is its upper half.
    private readonly struct HighWord : IRadixKey<long>
    {
        public static int Of(long item) => (int)(item >>> 32);
    }
}
