namespace Sparse.Core;

/// <summary>
/// A sparse matrix as (row, column, value) triplets in any order, the easy form to build by hand;
/// convert with <see cref="ToCsr"/> to train with it.
/// </summary>
public sealed class CooMatrix
{
    private int[] _rows = [];
    private int[] _columns = [];
    private float[] _values = [];

    /// <summary>Creates an empty triplet list for a matrix of shape (<paramref name="rows"/>, <paramref name="columns"/>).</summary>
    public CooMatrix(int rows, int columns)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegative(columns);
        Rows = rows;
        Columns = columns;
    }

    /// <summary>Number of rows.</summary>
    public int Rows { get; }

    /// <summary>Number of columns.</summary>
    public int Columns { get; }

    /// <summary>Number of triplets added so far (duplicates included).</summary>
    public int Count { get; private set; }

    /// <summary>The row of each triplet, in insertion order.</summary>
    public ReadOnlySpan<int> RowIndices => _rows.AsSpan(0, Count);

    /// <summary>The column of each triplet, in insertion order.</summary>
    public ReadOnlySpan<int> ColumnIndices => _columns.AsSpan(0, Count);

    /// <summary>The value of each triplet, in insertion order.</summary>
    public ReadOnlySpan<float> Values => _values.AsSpan(0, Count);

    /// <summary>Appends the triplet (<paramref name="row"/>, <paramref name="column"/>, <paramref name="value"/>).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The position is outside the shape.</exception>
    public void Add(int row, int column, float value)
    {
        if ((uint)row >= (uint)Rows)
        {
            ThrowHelper.ArgumentOutOfRange(nameof(row), $"Row {row} is outside [0, {Rows}).");
        }

        if ((uint)column >= (uint)Columns)
        {
            ThrowHelper.ArgumentOutOfRange(nameof(column), $"Column {column} is outside [0, {Columns}).");
        }

        if (Count == _rows.Length)
        {
            var capacity = Math.Max(16, _rows.Length * 2);
            Array.Resize(ref _rows, capacity);
            Array.Resize(ref _columns, capacity);
            Array.Resize(ref _values, capacity);
        }

        _rows[Count] = row;
        _columns[Count] = column;
        _values[Count] = value;
        Count++;
    }

    /// <summary>
    /// Converts to CSR in O(nnz + rows + columns) with two counting sorts (by column, then stably by row),
    /// so columns come out sorted within each row without a comparison sort.
    /// </summary>
    /// <param name="duplicates">Whether triplets at the same position are rejected or summed.</param>
    /// <exception cref="ArgumentException">A duplicate position under <see cref="DuplicatePolicy.Reject"/>.</exception>
    public CsrMatrix ToCsr(DuplicatePolicy duplicates = DuplicatePolicy.Reject)
    {
        var count = Count;

        // Passes 1 and 2: counting sorts by column, then stably by row.
        var rowPointers = new long[Rows + 1];
        var order = TripletOrder.ByRowThenColumn(_rows.AsSpan(0, count), _columns.AsSpan(0, count), Rows, Columns, rowPointers);

        // Pass 3: write the entries, merging or rejecting neighbours at the same column.
        var columnIndices = new int[count];
        var values = new float[count];
        long written = 0;
        for (var r = 0; r < Rows; r++)
        {
            var rowStart = written;
            for (var k = rowPointers[r]; k < rowPointers[r + 1]; k++)
            {
                var t = order[k];
                if (written > rowStart && columnIndices[written - 1] == _columns[t])
                {
                    if (duplicates == DuplicatePolicy.Reject)
                    {
                        ThrowHelper.Argument($"Duplicate entry at row {r}, column {_columns[t]} (triplets {order[k - 1]} and {t}).", nameof(duplicates));
                    }

                    values[written - 1] += _values[t];
                    continue;
                }

                columnIndices[written] = _columns[t];
                values[written] = _values[t];
                written++;
            }

            rowPointers[r] = rowStart;
        }

        rowPointers[Rows] = written;
        if (written != count)
        {
            Array.Resize(ref columnIndices, (int)written);
            Array.Resize(ref values, (int)written);
        }

        return new CsrMatrix(Rows, Columns, rowPointers, columnIndices, values, validate: false);
    }
}
