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

    /// <summary>
    /// Creates an empty triplet list for a matrix of shape (<paramref name="rows"/>, <paramref name="columns"/>), with
    /// room for <paramref name="capacity"/> triplets before it grows.
    /// </summary>
    public CooMatrix(int rows, int columns, int capacity = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegative(columns);
        ArgumentOutOfRangeException.ThrowIfNegative(capacity);
        Rows = rows;
        Columns = columns;
        _rows = new int[capacity];
        _columns = new int[capacity];
        _values = new float[capacity];
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

        EnsureCapacity(Count + 1);
        _rows[Count] = row;
        _columns[Count] = column;
        _values[Count] = value;
        Count++;
    }

    /// <summary>Appends the triplets <c>(rows[t], columns[t], values[t])</c>.</summary>
    /// <exception cref="ArgumentException">The spans differ in length.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A position is outside the shape; nothing is added.</exception>
    public void AddRange(ReadOnlySpan<int> rows, ReadOnlySpan<int> columns, ReadOnlySpan<float> values)
    {
        if (columns.Length != rows.Length || values.Length != rows.Length)
        {
            ThrowHelper.Argument($"Rows, columns and values differ in length ({rows.Length}, {columns.Length}, {values.Length}).", nameof(values));
        }

        for (var t = 0; t < rows.Length; t++)
        {
            if ((uint)rows[t] >= (uint)Rows || (uint)columns[t] >= (uint)Columns)
            {
                ThrowHelper.ArgumentOutOfRange(nameof(rows), $"Triplet {t} at ({rows[t]}, {columns[t]}) is outside ({Rows}, {Columns}).");
            }
        }

        var needed = Count + rows.Length;
        EnsureCapacity(needed);

        rows.CopyTo(_rows.AsSpan(Count));
        columns.CopyTo(_columns.AsSpan(Count));
        values.CopyTo(_values.AsSpan(Count));
        Count = needed;
    }

    /// <summary>Makes room for <paramref name="capacity"/> triplets in all.</summary>
    internal void EnsureCapacity(int capacity)
    {
        if (capacity > _rows.Length)
        {
            capacity = Math.Max(capacity, Math.Max(16, _rows.Length * 2));
            Array.Resize(ref _rows, capacity);
            Array.Resize(ref _columns, capacity);
            Array.Resize(ref _values, capacity);
        }
    }

    /// <summary>Appends a position with value 0, unchecked: for regrowers that pick positions inside the shape and fill values after.</summary>
    internal void AddPosition(int row, int column)
    {
        EnsureCapacity(Count + 1);
        _rows[Count] = row;
        _columns[Count] = column;
        _values[Count] = 0;
        Count++;
    }

    /// <summary>The rows, writable (a regrower reorders its own picks in place).</summary>
    internal Span<int> WritableRows => _rows.AsSpan(0, Count);

    /// <summary>The columns, writable.</summary>
    internal Span<int> WritableColumns => _columns.AsSpan(0, Count);

    /// <summary>The values, writable.</summary>
    internal Span<float> WritableValues => _values.AsSpan(0, Count);

    /// <summary>Whether the triplets are in strict (row, column) order: CSR order, with no position twice.</summary>
    public bool IsOrdered()
    {
        var rows = RowIndices;
        var columns = ColumnIndices;
        for (var t = 1; t < rows.Length; t++)
        {
            if (rows[t] < rows[t - 1] || (rows[t] == rows[t - 1] && columns[t] <= columns[t - 1]))
            {
                return false;
            }
        }

        return true;
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
