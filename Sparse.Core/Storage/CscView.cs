namespace Sparse.Core;

/// <summary>
/// The transposed structure of a <see cref="CsrMatrix"/> (compressed sparse column form) without a second
/// copy of the values: column <c>i</c> owns entries <c>[ColumnPointers[i], ColumnPointers[i + 1])</c>, whose
/// row is <see cref="RowIndices"/><c>[k]</c> and whose value is <c>Values[ValueIndices[k]]</c> of the matrix.
/// </summary>
/// <remarks>
/// Row indices within a column are sorted ascending (the build scatters rows in order), so the input
/// gradient sums in a fixed order. <see cref="ValueIndices"/> is 32-bit because a matrix holds at most
/// <see cref="CsrMatrix.MaxNonZeros"/> entries.
/// </remarks>
public sealed class CscView
{
    internal CscView(CsrMatrix matrix)
    {
        ColumnPointers = new long[matrix.Columns + 1];
        RowIndices = new int[matrix.NonZeroCount];
        ValueIndices = new int[matrix.NonZeroCount];
        Fill(matrix);
    }

    /// <summary>Column <c>i</c> owns entries <c>[ColumnPointers[i], ColumnPointers[i + 1])</c>; <c>Columns + 1</c> entries.</summary>
    public long[] ColumnPointers { get; }

    /// <summary>Row of each entry, sorted within a column.</summary>
    public int[] RowIndices { get; private set; }

    /// <summary>Position in the matrix's <see cref="CsrMatrix.Values"/> of each entry.</summary>
    public int[] ValueIndices { get; private set; }

    internal long BuiltForVersion { get; private set; }

    internal void Rebuild(CsrMatrix matrix)
    {
        if (RowIndices.Length != matrix.NonZeroCount)
        {
            RowIndices = new int[matrix.NonZeroCount];
            ValueIndices = new int[matrix.NonZeroCount];
        }

        Fill(matrix);
    }

    // Counting sort by column: count, cumulative sum, scatter (CSparse's cs_transpose). O(nnz + columns).
    // Fully optimised from the first call: a rebuild follows each evolution step, too rarely for tiered compilation.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private void Fill(CsrMatrix matrix)
    {
        var pointers = ColumnPointers;
        Array.Clear(pointers);
        var columns = matrix.ColumnIndices;
        foreach (var column in columns)
        {
            pointers[column + 1]++;
        }

        for (var i = 0; i < matrix.Columns; i++)
        {
            pointers[i + 1] += pointers[i];
        }

        // Scatter rows in order, using ColumnPointers[i] itself as the cursor of column i (no second array).
        var rowPointers = matrix.RowPointers;
        var rowIndices = RowIndices;
        var valueIndices = ValueIndices;
        for (var row = 0; row < matrix.Rows; row++)
        {
            for (var k = rowPointers[row]; k < rowPointers[row + 1]; k++)
            {
                var slot = pointers[columns[k]]++;
                rowIndices[slot] = row;
                valueIndices[slot] = (int)k;
            }
        }

        // Each cursor now sits at the start of the next column: shift right by one to restore the pointers.
        for (var i = matrix.Columns; i > 0; i--)
        {
            pointers[i] = pointers[i - 1];
        }

        pointers[0] = 0;
        BuiltForVersion = matrix.StructureVersion;
    }
}
