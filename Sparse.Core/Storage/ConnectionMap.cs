using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Sparse.Core;

/// <summary>
/// One rewiring of a sparse matrix, as a value: the new CSR structure and values, and for each new entry
/// <c>k</c> the old entry it keeps, <c>Source[k]</c>, or -1 for a new connection. Applied by the layer that
/// owns the matrix, which moves every per-connection array (gradient, optimizer slots) along with it.
/// <see cref="Keep(CsrMatrix, ReadOnlySpan{bool})"/> (the kept part of a structure) and
/// <see cref="Merge(ConnectionMap, CooMatrix, long[], int[], float[])"/> (kept plus new connections) are the
/// two ways to build one: pruning and regrowth are a filter followed by a merge.
/// </summary>
/// <remarks>
/// Invariants, checked when applied: <c>RowPointers</c> has <c>Rows + 1</c> entries, columns within a row are
/// sorted and unique, <c>Values</c> and <c>Source</c> have one entry per stored connection, and each source is
/// -1 or an entry of the old structure.
/// </remarks>
/// <param name="RowPointers">Row <c>j</c>'s entries are <c>[RowPointers[j], RowPointers[j + 1])</c>.</param>
/// <param name="ColumnIndices">The column of each entry.</param>
/// <param name="Values">The value of each entry.</param>
/// <param name="Source">The old entry each new entry keeps, or -1; may be a pooled buffer's first <c>Count</c> items.</param>
public readonly record struct ConnectionMap(long[] RowPointers, int[] ColumnIndices, float[] Values, ReadOnlyMemory<int> Source)
{
    /// <summary>Stored connections after the rewiring.</summary>
    public int Count => ColumnIndices.Length;

    /// <summary>Rows of the structure.</summary>
    public int Rows => RowPointers.Length - 1;

    /// <summary>
    /// The entries of <paramref name="matrix"/> whose <paramref name="drop"/> flag is clear, in order, each with its
    /// position in <paramref name="matrix"/> as its source. O(nnz), no comparison.
    /// </summary>
    /// <param name="matrix">The current structure.</param>
    /// <param name="drop">One flag per stored entry of <paramref name="matrix"/>.</param>
    /// <exception cref="ArgumentException"><paramref name="drop"/> does not have one flag per entry.</exception>
    public static ConnectionMap Keep(CsrMatrix matrix, ReadOnlySpan<bool> drop)
    {
        ArgumentNullException.ThrowIfNull(matrix);
        if (drop.Length != matrix.NonZeroCount)
        {
            ThrowHelper.Argument($"Expected one drop flag per stored entry ({matrix.NonZeroCount}), got {drop.Length}.", nameof(drop));
        }

        var count = drop.Length - drop.Count(true);
        return Keep(matrix, drop, GC.AllocateUninitializedArray<int>(count), count);
    }

    /// <summary>
    /// <see cref="Keep(CsrMatrix, ReadOnlySpan{bool})"/> with the sources written into <paramref name="source"/>
    /// (a pooled buffer of at least <paramref name="count"/> entries, <paramref name="count"/> the clear flags):
    /// an evolution step every epoch would otherwise allocate it on the large-object heap each time.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static ConnectionMap Keep(CsrMatrix matrix, ReadOnlySpan<bool> drop, int[] source, int count)
    {
        var dropped = drop.Length - count;
        var pointers = new long[matrix.Rows + 1];
        var columns = GC.AllocateUninitializedArray<int>(count);
        var values = GC.AllocateUninitializedArray<float>(count);
        if (dropped == 0)
        {
            if (drop.Contains(true))
            {
                ThrowHelper.Argument("Every entry was to be kept, but some drop flags are set.", nameof(count));
            }

            matrix.RowPointers.AsSpan().CopyTo(pointers);
            matrix.ColumnIndices.AsSpan().CopyTo(columns);
            matrix.Values.AsSpan().CopyTo(values);
            for (var k = 0; k < count; k++)
            {
                source[k] = k;
            }

            return new ConnectionMap(pointers, columns, values, source.AsMemory(0, count));
        }

        // Whether an entry is dropped is a coin toss, so each entry is written unconditionally and the cursor
        // advances by 0 or 1, where a branch would mispredict on about a third of them. The last slot cannot take
        // a write past the kept count, so it is done apart.
        var kept = 0;
        var last = count - 1;
        var matrixColumns = matrix.ColumnIndices;
        var matrixValues = matrix.Values;
        for (var row = 0; row < matrix.Rows; row++)
        {
            var end = (int)matrix.RowPointers[row + 1];
            for (var k = (int)matrix.RowPointers[row]; k < end; k++)
            {
                if (kept < last)
                {
                    columns[kept] = matrixColumns[k];
                    values[kept] = matrixValues[k];
                    source[kept] = k;
                    kept += drop[k] ? 0 : 1;
                }
                else if (!drop[k])
                {
                    columns[kept] = matrixColumns[k];
                    values[kept] = matrixValues[k];
                    source[kept] = k;
                    kept++;
                }
            }

            pointers[row + 1] = kept;
        }

        if (kept != count)
        {
            ThrowHelper.Argument($"{count} entries were to be kept, but {kept} drop flags are clear.", nameof(count));
        }

        return new ConnectionMap(pointers, columns, values, source.AsMemory(0, count));
    }

    /// <summary>
    /// <paramref name="kept"/> (whose sources index the old structure) with the connections of
    /// <paramref name="added"/> (source -1) merged in, row by row by column. The new triplets may come in any
    /// order; in (row, column) order they are merged directly, otherwise ordered first by two counting sorts
    /// (<see cref="CooMatrix.ToCsr"/>'s). O(kept + added + rows).
    /// </summary>
    /// <param name="kept">The structure so far.</param>
    /// <param name="added">New connections, none at a kept position and none twice.</param>
    /// <param name="rowPointers">Where to write the row pointers, or null for a new array; at a constant budget the
    /// old structure's arrays can take the result, once nothing reads them any more.</param>
    /// <param name="columns">Where to write the columns, or null.</param>
    /// <param name="values">Where to write the values, or null.</param>
    /// <exception cref="ArgumentException">A new connection is already kept, or added twice; or the shapes differ.</exception>
    public static ConnectionMap Merge(ConnectionMap kept, CooMatrix added, long[]? rowPointers = null, int[]? columns = null, float[]? values = null)
    {
        ArgumentNullException.ThrowIfNull(added);
        return Merge(kept, added, rowPointers, columns, values, GC.AllocateUninitializedArray<int>(kept.Count + added.Count));
    }

    /// <summary>
    /// <see cref="Merge(ConnectionMap, CooMatrix, long[], int[], float[])"/> with the sources written into
    /// <paramref name="source"/>, a pooled buffer of at least kept + added entries.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static ConnectionMap Merge(ConnectionMap kept, CooMatrix added, long[]? rowPointers, int[]? columns, float[]? values, int[] source)
    {
        var rows = kept.Rows;
        if (added.Rows != rows)
        {
            ThrowHelper.Argument($"The new connections are for {added.Rows} rows, the structure has {rows}.", nameof(added));
        }

        var total = kept.Count + added.Count;
        rowPointers = rowPointers?.Length == rows + 1 ? rowPointers : new long[rows + 1];
        columns = columns?.Length == total ? columns : GC.AllocateUninitializedArray<int>(total);
        values = values?.Length == total ? values : GC.AllocateUninitializedArray<float>(total);

        // The new triplets in CSR order (as given when already ordered, else through two counting sorts), and where
        // each row's triplets start.
        var newStart = new long[rows + 1];
        ReadOnlySpan<int> newColumns = added.ColumnIndices;
        ReadOnlySpan<float> newValues = added.Values;
        if (added.IsOrdered())
        {
            TripletOrder.RowPointers(added.RowIndices, rows, newStart);
        }
        else
        {
            var order = TripletOrder.ByRowThenColumn(added.RowIndices, added.ColumnIndices, rows, added.Columns, newStart);
            var orderedColumns = GC.AllocateUninitializedArray<int>(order.Length);
            var orderedValues = GC.AllocateUninitializedArray<float>(order.Length);
            for (var k = 0; k < order.Length; k++)
            {
                orderedColumns[k] = newColumns[order[k]];
                orderedValues[k] = newValues[order[k]];
            }

            newColumns = orderedColumns;
            newValues = orderedValues;
        }

        var keptColumns = kept.ColumnIndices;
        var keptValues = kept.Values;
        var keptSource = kept.Source.Span;
        var keptPointers = kept.RowPointers;
        CheckAdditions(keptPointers, keptColumns, newStart, newColumns, added.Columns);
        var written = 0;
        rowPointers[0] = 0;
        for (var row = 0; row < rows; row++)
        {
            int a = (int)keptPointers[row], aEnd = (int)keptPointers[row + 1];
            int b = (int)newStart[row], bEnd = (int)newStart[row + 1];
            var end = written + (aEnd - a) + (bEnd - b);

            // Row by row, the kept entries and the new ones (both sorted by column) merged by column. An exhausted
            // run reads as column int.MaxValue.
            for (; written < end; written++)
            {
                var fromKept = a < aEnd ? keptColumns[a] : int.MaxValue;
                var fromNew = b < bEnd ? newColumns[b] : int.MaxValue;
                if (fromKept < fromNew)
                {
                    columns[written] = fromKept;
                    values[written] = keptValues[a];
                    source[written] = keptSource[a];
                    a++;
                }
                else
                {
                    columns[written] = fromNew;
                    values[written] = newValues[b];
                    source[written] = -1;
                    b++;
                }
            }

            rowPointers[row + 1] = written;
        }

        return new ConnectionMap(rowPointers, columns, values, source.AsMemory(0, total));
    }

    /// <summary>
    /// Row blocks one after another, as a block-diagonal matrix is made of its blocks: block k's rows follow block
    /// k-1's, its columns shifted by <paramref name="columnOffsets"/>[k], its sources by <paramref name="sourceOffsets"/>[k]
    /// (a new connection's -1 stays -1). With no source offsets the result has no sources (a structure, not a rewiring).
    /// </summary>
    /// <param name="blocks">The blocks, each numbered from 0.</param>
    /// <param name="columnOffsets">Where each block's columns start in the whole.</param>
    /// <param name="sourceOffsets">Where each block's old entries start in the whole's old structure, or empty.</param>
    /// <exception cref="ArgumentException">The whole would pass <see cref="CsrMatrix.MaxNonZeros"/> entries.</exception>
    internal static ConnectionMap Stack(IReadOnlyList<ConnectionMap> blocks, ReadOnlySpan<int> columnOffsets, ReadOnlySpan<int> sourceOffsets)
    {
        var total = blocks.Sum(b => (long)b.Count);
        if (total > CsrMatrix.MaxNonZeros)
        {
            ThrowHelper.Argument($"The blocks hold {total:N0} entries together, more than the {CsrMatrix.MaxNonZeros:N0} one matrix can.", nameof(blocks));
        }

        var withSources = !sourceOffsets.IsEmpty;
        var pointers = new long[blocks.Sum(b => b.Rows) + 1];
        var columns = new int[total];
        var values = new float[total];
        var source = withSources ? new int[total] : [];
        int row = 0, at = 0;
        for (var k = 0; k < blocks.Count; k++)
        {
            var block = blocks[k];
            for (var r = 0; r < block.Rows; r++)
            {
                pointers[row + r + 1] = at + block.RowPointers[r + 1];
            }

            var from = block.Source.Span;
            for (var e = 0; e < block.Count; e++)
            {
                columns[at + e] = block.ColumnIndices[e] + columnOffsets[k];
                if (withSources)
                {
                    source[at + e] = from[e] < 0 ? -1 : from[e] + sourceOffsets[k];
                }
            }

            block.Values.AsSpan(0, block.Count).CopyTo(values.AsSpan(at));
            row += block.Rows;
            at += block.Count;
        }

        return new ConnectionMap(pointers, columns, values, source);
    }

    // Every new connection against the kept ones of its row and the new ones before it, before anything is written: the
    // destination may be the layer's own structure, which must stay whole if this throws. Per row with additions, each
    // kept column is stamped with the row in a table of one slot per column, then each new column must find no stamp and
    // leaves one: stores and one rarely-taken branch per entry, where a merge of the two sorted runs mispredicts once
    // per new connection.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void CheckAdditions(long[] keptPointers, int[] keptColumns, long[] newStart, ReadOnlySpan<int> newColumns, int columnCount)
    {
        if (newColumns.IsEmpty)
        {
            return;
        }

        using var stampBuffer = new ScratchArray<int>(columnCount);
        var stamps = stampBuffer.Span;
        stamps.Fill(-1);
        for (var row = 0; row + 1 < keptPointers.Length; row++)
        {
            int b = (int)newStart[row], bEnd = (int)newStart[row + 1];
            if (b == bEnd)
            {
                continue;
            }

            // Kept columns are within the layer (a CSR invariant), new ones were checked when added to the COO matrix.
            ref var stamp = ref MemoryMarshal.GetReference(stamps);
            foreach (var column in keptColumns.AsSpan((int)keptPointers[row], (int)(keptPointers[row + 1] - keptPointers[row])))
            {
                Unsafe.Add(ref stamp, column) = row;
            }

            for (; b < bEnd; b++)
            {
                var column = newColumns[b];
                ref var slot = ref Unsafe.Add(ref stamp, column);
                if (slot == row)
                {
                    var kept = keptColumns.AsSpan((int)keptPointers[row], (int)(keptPointers[row + 1] - keptPointers[row])).Contains(column);
                    ThrowHelper.Argument($"The new connection at row {row}, column {column} is already {(kept ? "kept" : "added")}.", "added");
                }

                slot = row;
            }
        }
    }

}
