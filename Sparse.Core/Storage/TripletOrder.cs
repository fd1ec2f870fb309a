namespace Sparse.Core;

/// <summary>
/// Puts (row, column) triplets in CSR order with two counting sorts, by column and then stably by row, in
/// O(count + rows + columns): columns ascend within each row, and triplets at the same position keep their
/// insertion order. The one triplet-to-CSR ordering, shared by <see cref="CooMatrix.ToCsr"/> and
/// <see cref="ConnectionMap.Merge(ConnectionMap, CooMatrix, long[], int[], float[])"/>.
/// </summary>
internal static class TripletOrder
{
    /// <summary>
    /// Returns <c>order</c>, where <c>order[k]</c> is the triplet at CSR position <c>k</c>, and fills
    /// <paramref name="rowPointers"/> (<c>rowCount + 1</c> entries): row <c>r</c>'s triplets are at
    /// <c>[rowPointers[r], rowPointers[r + 1])</c>.
    /// </summary>
    public static int[] ByRowThenColumn(ReadOnlySpan<int> rows, ReadOnlySpan<int> columns, int rowCount, int columnCount, Span<long> rowPointers)
    {
        var count = rows.Length;
        var columnStart = new int[columnCount + 1];
        foreach (var column in columns)
        {
            columnStart[column + 1]++;
        }

        for (var c = 0; c < columnCount; c++)
        {
            columnStart[c + 1] += columnStart[c];
        }

        var byColumn = new int[count];
        for (var t = 0; t < count; t++)
        {
            byColumn[columnStart[columns[t]]++] = t;
        }

        RowPointers(rows, rowCount, rowPointers);
        var cursor = rowPointers[..rowCount].ToArray();
        var order = new int[count];
        foreach (var t in byColumn)
        {
            order[cursor[rows[t]]++] = t;
        }

        return order;
    }

    /// <summary>
    /// Fills <paramref name="rowPointers"/> (<c>rowCount + 1</c> entries) with where each row's triplets start once
    /// they are in row order: a count per row and its running sum.
    /// </summary>
    public static void RowPointers(ReadOnlySpan<int> rows, int rowCount, Span<long> rowPointers)
    {
        rowPointers.Clear();
        foreach (var row in rows)
        {
            rowPointers[row + 1]++;
        }

        for (var r = 0; r < rowCount; r++)
        {
            rowPointers[r + 1] += rowPointers[r];
        }
    }
}
