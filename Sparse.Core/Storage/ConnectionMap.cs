namespace Sparse.Core;

/// <summary>
/// One rewiring of a sparse matrix, as a value: the new CSR structure and values, and for each new entry
/// <c>k</c> the old entry it keeps, <c>Source[k]</c>, or -1 for a new connection. Applied by the layer that
/// owns the matrix, which moves every per-connection array (gradient, optimizer slots) along with it.
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
}
