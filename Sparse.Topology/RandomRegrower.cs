using Sparse.Core;
using Sparse.Training;

namespace Sparse.Topology;

/// <summary>
/// SET's regrowth: missing connections chosen uniformly at random, reproducible from a seed, with new
/// values drawn from <see cref="Values"/> (default normal with standard deviation 0.1, as SET's
/// reference trainer draws them). The new positions are a uniform random subset of the free ones, produced
/// in (row, column) order by one pass over the layer's structure: O(nnz + rows + count) sequential work,
/// whatever the density, with no per-pick search through a random row.
/// With a <see cref="Band"/>, a layer whose connections all lie in their rows' bands (<see cref="RandomSparse.Banded"/>,
/// <c>SparseNetwork.CreateMlp</c>'s <c>band</c>) grows uniformly among the free positions of those bands, so it stays
/// banded; any other layer grows as without one.
/// </summary>
public sealed class RandomRegrower(ulong seed, ValueDistribution? values = null, int? band = null) : IRegrower, IResumableState
{
    private SparseRandom _random = new(seed);

    /// <summary>Distribution of new weights.</summary>
    public ValueDistribution Values { get; } = values ?? ValueDistribution.Normal(0.1f);

    /// <summary>The band width in inputs that banded layers keep (<see cref="RandomSparse.Banded"/>), or null for none.</summary>
    public int? Band { get; } = band is <= 0 ? throw new ArgumentOutOfRangeException(nameof(band), band, "A band holds at least one input.") : band;

    /// <inheritdoc/>
    public string Name => Band is { } width ? $"random in a band of {width}" : "random";

    /// <inheritdoc/>
    public void Grow(GrowthRequest request, CooMatrix grown)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(grown);
        if (Band is { } width && IsBanded(request.Kept, width))
        {
            GrowInBand(request.Kept, request.Count, width, ref _random, Values, grown);
            return;
        }

        GrowRandom(request.Kept, request.Count, ref _random, Values, grown, exclude: null);
    }

    /// <summary>
    /// Whether every connection of <paramref name="matrix"/> lies in its row's band of <paramref name="window"/> inputs,
    /// narrower than a row.
    /// </summary>
    public static bool IsBanded(CsrMatrix matrix, int window)
    {
        ArgumentNullException.ThrowIfNull(matrix);
        if (window >= matrix.Columns)
        {
            return false;
        }

        var pointers = matrix.RowPointers;
        var columns = matrix.ColumnIndices;
        for (var row = 0; row < matrix.Rows; row++)
        {
            var start = RandomSparse.BandStart(row, matrix.Rows, matrix.Columns, window);
            for (var k = pointers[row]; k < pointers[row + 1]; k++)
            {
                if (RandomSparse.BandOffset(columns[k], start, matrix.Columns) >= window)
                {
                    return false;
                }
            }
        }

        return true;
    }

    // Uniform among the free positions of the rows' bands, as GrowSorted draws over a whole layer: sorted ranks among
    // the rows x window - kept free band positions, mapped to (row, column) by one pass over the rows, so the picks come
    // in (row, column) order and the evolver's merge needs no sort.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private static void GrowInBand(CsrMatrix kept, int count, int window, ref SparseRandom random, ValueDistribution distribution, CooMatrix grown)
    {
        if (grown.Count != 0)
        {
            throw new ArgumentException("Band regrowth starts from an empty set of picks.", nameof(grown));
        }

        var free = ((long)kept.Rows * window) - kept.NonZeroCount;
        if (count > free)
        {
            throw new InvalidOperationException($"Cannot grow {count} connections in bands of {window}: only {free} positions in them are free.");
        }

        if (count == 0)
        {
            return;
        }

        var longs = System.Buffers.ArrayPool<long>.Shared;
        var ints = System.Buffers.ArrayPool<int>.Shared;
        var buffer = longs.Rent(count);
        var rowPicks = ints.Rent(window);
        try
        {
            var ranks = buffer.AsSpan(0, count);
            var distinct = free <= 4L * count ? SelectRanks(free, ranks, ref random) : SpacedRanks(free, ranks, ref random);
            grown.EnsureCapacity(count);
            MapBandRanks(kept, window, ranks[..distinct], rowPicks, grown);
            if (distinct < count)
            {
                TopUp(kept, count - distinct, ref random, grown, window);
            }

            distribution.Fill(grown.WritableValues[^count..], ref random);
        }
        finally
        {
            longs.Return(buffer);
            ints.Return(rowPicks);
        }
    }

    // The rank-th free band position for increasing ranks. A row's band runs from its start column and may wrap past
    // the last column: in band order its stored columns at or after the start come first, then the wrapped ones before
    // it. The j-th free offset of a row skips the stored offsets at or below it; the row's picks are then written in
    // column order (the wrapped offsets, which are the largest, first).
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private static void MapBandRanks(CsrMatrix kept, int window, ReadOnlySpan<long> ranks, int[] rowPicks, CooMatrix grown)
    {
        var pointers = kept.RowPointers;
        var stored = kept.ColumnIndices;
        var columns = kept.Columns;
        var next = 0;
        long before = 0; // free band positions in the rows before `row`
        for (var row = 0; row < kept.Rows && next < ranks.Length; row++)
        {
            int first = (int)pointers[row], end = (int)pointers[row + 1];
            var rowFree = window - (end - first);
            if (ranks[next] >= before + rowFree)
            {
                before += rowFree;
                continue;
            }

            var start = RandomSparse.BandStart(row, kept.Rows, columns, window);
            var split = Array.BinarySearch(stored, first, end - first, start);
            split = split < 0 ? ~split : split;
            var tail = end - split; // stored columns at or after the start: the first in band order
            var passed = 0;
            var taken = 0;
            while (next < ranks.Length && ranks[next] < before + rowFree)
            {
                var offset = (int)(ranks[next++] - before) + passed;
                while (passed < end - first)
                {
                    var column = passed < tail ? stored[split + passed] : stored[first + passed - tail];
                    if (RandomSparse.BandOffset(column, start, columns) > offset)
                    {
                        break;
                    }

                    passed++;
                    offset++;
                }

                rowPicks[taken++] = offset;
            }

            before += rowFree;
            var wrapsAt = columns - start; // offsets from here on are columns 0, 1, ...
            var wrapped = taken;
            while (wrapped > 0 && rowPicks[wrapped - 1] >= wrapsAt)
            {
                wrapped--;
            }

            for (var k = wrapped; k < taken; k++)
            {
                grown.AddPosition(row, rowPicks[k] - wrapsAt);
            }

            for (var k = 0; k < wrapped; k++)
            {
                grown.AddPosition(row, start + rowPicks[k]);
            }
        }
    }

    /// <inheritdoc/>
    public void WriteState(BinaryWriter writer) => WriteRandom(writer, _random);

    /// <inheritdoc/>
    public void ReadState(BinaryReader reader) => _random = ReadRandom(reader);

    internal static void WriteRandom(BinaryWriter writer, in SparseRandom random)
    {
        Span<ulong> state = stackalloc ulong[SparseRandom.StateLength];
        random.GetState(state);
        foreach (var word in state)
        {
            writer.Write(word);
        }
    }

    internal static SparseRandom ReadRandom(BinaryReader reader)
    {
        Span<ulong> state = stackalloc ulong[SparseRandom.StateLength];
        for (var n = 0; n < state.Length; n++)
        {
            state[n] = reader.ReadUInt64();
        }

        try
        {
            return SparseRandom.FromState(state);
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException(e.Message, e);
        }
    }

    /// <summary>
    /// Adds <paramref name="count"/> uniformly random positions missing from <paramref name="kept"/>, from the
    /// picks already in <paramref name="grown"/>, and from <paramref name="exclude"/>.
    /// </summary>
    internal static void GrowRandom(CsrMatrix kept, int count, ref SparseRandom random, ValueDistribution distribution,
        CooMatrix grown, IReadOnlySet<long>? exclude)
    {
        var free = ((long)kept.Rows * kept.Columns) - kept.NonZeroCount - grown.Count;
        if (exclude is not null && count > free - exclude.Count)
        {
            exclude = null; // not enough room to avoid them all: allow the excluded positions again
        }

        if (count > free)
        {
            throw new InvalidOperationException($"Cannot grow {count} connections: only {free} positions are free.");
        }

        if (count == 0)
        {
            return;
        }

        if (grown.Count == 0 && (exclude is null || exclude.Count == 0))
        {
            GrowSorted(kept, count, free, ref random, distribution, grown);
            return;
        }

        // Picks of this call are chained per row (head[row] -> next[pick]), so "already picked?" scans only
        // the few picks of one row: no hash set, O(rows + count) memory.
        var pool = System.Buffers.ArrayPool<int>.Shared;
        var head = pool.Rent(kept.Rows);
        var next = pool.Rent(grown.Count + count);
        head.AsSpan(0, kept.Rows).Fill(-1);
        try
        {
            var rows = grown.RowIndices;
            for (var n = 0; n < rows.Length; n++)
            {
                next[n] = head[rows[n]];
                head[rows[n]] = n;
            }

            var target = grown.Count + count;
            grown.EnsureCapacity(target);
            while (grown.Count < target)
            {
                var row = random.NextInt(kept.Rows);
                var column = random.NextInt(kept.Columns);
                if (Array.BinarySearch(kept.ColumnIndices, (int)kept.RowPointers[row], kept.RowLength(row), column) >= 0
                    || exclude?.Contains(((long)row * kept.Columns) + column) == true
                    || Picked(head[row], next, grown.ColumnIndices, column))
                {
                    continue;
                }

                next[grown.Count] = head[row];
                head[row] = grown.Count;
                grown.Add(row, column, distribution.Sample(ref random));
            }
        }
        finally
        {
            pool.Return(head);
            pool.Return(next);
        }
    }

    private static bool Picked(int pick, int[] next, ReadOnlySpan<int> columns, int column)
    {
        for (; pick >= 0; pick = next[pick])
        {
            if (columns[pick] == column)
            {
                return true;
            }
        }

        return false;
    }

    // Uniform without replacement, in order: draw sorted ranks among the free positions, map each rank to its
    // (row, column) by walking the rows once, then top up the few ranks lost to duplicates by rejection. Drawing
    // iid ranks until `count` distinct ones are seen is the same process as SET's draw-and-reject loop, so the
    // subset is uniform; only the order of the work differs.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private static void GrowSorted(CsrMatrix kept, int count, long free, ref SparseRandom random, ValueDistribution distribution, CooMatrix grown)
    {
        var pool = System.Buffers.ArrayPool<long>.Shared;
        var buffer = pool.Rent(count);
        try
        {
            var ranks = buffer.AsSpan(0, count);
            var distinct = free <= 4L * count ? SelectRanks(free, ranks, ref random) : SpacedRanks(free, ranks, ref random);
            grown.EnsureCapacity(grown.Count + count);
            MapRanks(kept, ranks[..distinct], grown);
            if (distinct < count)
            {
                TopUp(kept, count - distinct, ref random, grown);
            }

            distribution.Fill(grown.WritableValues[^count..], ref random);
        }
        finally
        {
            pool.Return(buffer);
        }
    }

    // Knuth's selection sampling (Algorithm S) over every free rank: exact, O(free), used when free <= 4 x count.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private static int SelectRanks(long free, Span<long> ranks, ref SparseRandom random)
    {
        var chosen = 0;
        for (long rank = 0; rank < free && chosen < ranks.Length; rank++)
        {
            if ((free - rank) * random.NextDouble() < ranks.Length - chosen)
            {
                ranks[chosen++] = rank;
            }
        }

        return chosen;
    }

    // Sorted iid uniform ranks in O(count): the order statistics of n uniforms are the partial sums of n + 1
    // exponential spacings divided by their total (Devroye, Non-Uniform Random Variate Generation, V.2).
    // Equal neighbours are dropped; returns how many distinct ranks remain.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private static int SpacedRanks(long free, Span<long> ranks, ref SparseRandom random)
    {
        var sums = System.Runtime.InteropServices.MemoryMarshal.Cast<long, double>(ranks);
        var total = 0.0;
        for (var n = 0; n < sums.Length; n++)
        {
            total -= Math.Log(1.0 - random.NextDouble());
            sums[n] = total;
        }

        total -= Math.Log(1.0 - random.NextDouble());
        var distinct = 0;
        var last = -1L;
        for (var n = 0; n < sums.Length; n++)
        {
            // Reads slot n before writing slot distinct <= n, so the conversion runs in place.
            var rank = Math.Min((long)(sums[n] / total * free), free - 1);
            if (rank != last)
            {
                ranks[distinct++] = rank;
                last = rank;
            }
        }

        return distinct;
    }

    // The rank-th free position in row-major order, for increasing ranks, in one pass: a row holds
    // columns - length free positions, and the j-th free column of a row skips the stored columns at or below it.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private static void MapRanks(CsrMatrix kept, ReadOnlySpan<long> ranks, CooMatrix grown)
    {
        var pointers = kept.RowPointers;
        var stored = kept.ColumnIndices;
        var row = 0;
        long before = 0; // free positions in the rows before `row`
        long rowFree = kept.Columns - kept.RowLength(0);
        var passed = pointers[0];
        foreach (var rank in ranks)
        {
            while (rank >= before + rowFree)
            {
                before += rowFree;
                row++;
                rowFree = kept.Columns - kept.RowLength(row);
                passed = pointers[row];
            }

            var j = rank - before;
            var end = pointers[row + 1];
            var column = j + (passed - pointers[row]);
            while (passed < end && stored[passed] <= column)
            {
                passed++;
                column++;
            }

            grown.AddPosition(row, (int)column);
        }
    }

    // Adds `missing` more distinct free positions by rejection and merges them into the sorted picks.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private static void TopUp(CsrMatrix kept, int missing, ref SparseRandom random, CooMatrix grown, int window = 0)
    {
        // A list sorted once at the end, and a hash set against picking one position twice.
        var extra = new List<(int Row, int Column)>(missing);
        var seen = new HashSet<long>(missing);
        while (extra.Count < missing)
        {
            var row = random.NextInt(kept.Rows);
            var column = window == 0 ? random.NextInt(kept.Columns) : RandomSparse.BandStart(row, kept.Rows, kept.Columns, window) + random.NextInt(window);
            column -= column >= kept.Columns ? kept.Columns : 0;
            if (Array.BinarySearch(kept.ColumnIndices, (int)kept.RowPointers[row], kept.RowLength(row), column) < 0
                && FindPick(grown.RowIndices, grown.ColumnIndices, row, column) < 0
                && seen.Add(((long)row * kept.Columns) + column))
            {
                extra.Add((row, column));
            }
        }

        extra.Sort();

        // Merge from the back: the picks grow by `missing` and every entry moves at most once.
        var oldCount = grown.Count;
        foreach (var _ in extra)
        {
            grown.AddPosition(0, 0);
        }

        var r = grown.WritableRows;
        var c = grown.WritableColumns;
        var write = r.Length - 1;
        var read = oldCount - 1;
        for (var e = extra.Count - 1; e >= 0; e--)
        {
            var (row, column) = extra[e];
            while (read >= 0 && (r[read] > row || (r[read] == row && c[read] > column)))
            {
                r[write] = r[read];
                c[write] = c[read];
                write--;
                read--;
            }

            r[write] = row;
            c[write] = column;
            write--;
        }
    }

    // Index of (row, column) among picks sorted by (row, column), or negative.
    private static int FindPick(ReadOnlySpan<int> rows, ReadOnlySpan<int> columns, int row, int column)
    {
        int low = 0, high = rows.Length - 1;
        while (low <= high)
        {
            var middle = low + ((high - low) / 2);
            var order = rows[middle] != row ? rows[middle].CompareTo(row) : columns[middle].CompareTo(column);
            if (order == 0)
            {
                return middle;
            }

            if (order < 0)
            {
                low = middle + 1;
            }
            else
            {
                high = middle - 1;
            }
        }

        return -1;
    }
}
