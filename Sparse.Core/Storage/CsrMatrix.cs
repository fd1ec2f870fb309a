using System.Diagnostics;

namespace Sparse.Core;

/// <summary>
/// A sparse matrix of shape (<see cref="Rows"/>, <see cref="Columns"/>) in compressed sparse row form.
/// For a layer <c>in -> out</c> the weights are a <c>CsrMatrix</c> of shape (out, in): row <c>j</c> lists
/// the inputs of output neuron <c>j</c>.
/// </summary>
/// <remarks>
/// Invariants, checked by <see cref="Validate"/> and by every public constructor:
/// <list type="bullet">
/// <item><see cref="RowPointers"/> has <c>Rows + 1</c> entries, starts at 0, never decreases, and ends at
/// <see cref="NonZeroCount"/>.</item>
/// <item><see cref="ColumnIndices"/> and <see cref="Values"/> have exactly <see cref="NonZeroCount"/> entries.</item>
/// <item>Within each row the column indices are in <c>[0, Columns)</c>, sorted ascending and unique.</item>
/// <item><see cref="NonZeroCount"/> is at most <see cref="MaxNonZeros"/> (the largest .NET array); row
/// pointers are 64-bit so that offsets never overflow on the way there.</item>
/// </list>
/// A stored entry whose value is 0 is still a connection: structure and values are independent.
/// </remarks>
public sealed partial class CsrMatrix
{
    /// <summary>The largest number of stored entries a matrix may hold: the .NET array length limit.</summary>
    public static long MaxNonZeros => Array.MaxLength;

    private CscView? _transposed;
    private long _structureVersion;
    private int _reach;
    private long _reachVersion = -1;

    /// <summary>Creates a matrix from its three arrays (taken, not copied) after checking every invariant.</summary>
    /// <exception cref="ArgumentException">An invariant is broken; the message names it.</exception>
    public CsrMatrix(int rows, int columns, long[] rowPointers, int[] columnIndices, float[] values)
        : this(rows, columns, rowPointers, columnIndices, values, validate: true)
    {
    }

    internal CsrMatrix(int rows, int columns, long[] rowPointers, int[] columnIndices, float[] values, bool validate)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegative(columns);
        ArgumentNullException.ThrowIfNull(rowPointers);
        ArgumentNullException.ThrowIfNull(columnIndices);
        ArgumentNullException.ThrowIfNull(values);
        Rows = rows;
        Columns = columns;
        RowPointers = rowPointers;
        ColumnIndices = columnIndices;
        Values = values;
        if (validate)
        {
            Validate();
        }
        else
        {
            AssertValid();
        }
    }

    /// <summary>Creates an empty matrix (no stored entries) of the given shape.</summary>
    public static CsrMatrix Empty(int rows, int columns)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        return new CsrMatrix(rows, columns, new long[rows + 1], [], [], validate: false);
    }

    /// <summary>Number of rows (output neurons of a layer).</summary>
    public int Rows { get; private set; }

    /// <summary>Number of columns (input neurons of a layer).</summary>
    public int Columns { get; private set; }

    /// <summary>Row <c>j</c> owns entries <c>[RowPointers[j], RowPointers[j + 1])</c>; <c>Rows + 1</c> entries.</summary>
    public long[] RowPointers { get; private set; }

    /// <summary>Column of each stored entry, sorted and unique within a row; <see cref="NonZeroCount"/> entries.</summary>
    public int[] ColumnIndices { get; private set; }

    /// <summary>Value of each stored entry, aligned with <see cref="ColumnIndices"/>; <see cref="NonZeroCount"/> entries.</summary>
    public float[] Values { get; private set; }

    /// <summary>Number of stored entries (connections).</summary>
    public long NonZeroCount => RowPointers[Rows];

    /// <summary>Stored entries divided by <c>Rows x Columns</c>; 0 for an empty shape.</summary>
    public double Density => Rows == 0 || Columns == 0 ? 0 : NonZeroCount / ((double)Rows * Columns);

    /// <summary>Increases each time the sparsity pattern changes; a cached transposed view compares it.</summary>
    public long StructureVersion => _structureVersion;

    /// <summary>Number of stored entries in row <paramref name="row"/>.</summary>
    public int RowLength(int row) => (int)(RowPointers[row + 1] - RowPointers[row]);

    /// <summary>
    /// Rows <c>[firstRow, endRow)</c> and columns <c>[firstColumn, endColumn)</c> as a matrix of their own, renumbered
    /// from 0 (a copy): one block of a block-diagonal matrix, whose rows hold entries of their block's columns only.
    /// <see cref="ConnectionMap.Stack"/> puts blocks back together.
    /// </summary>
    /// <exception cref="ArgumentException">A row of the block holds an entry outside its columns.</exception>
    internal CsrMatrix RowBlock(int firstRow, int endRow, int firstColumn, int endColumn)
    {
        var start = (int)RowPointers[firstRow];
        var count = (int)RowPointers[endRow] - start;
        var pointers = new long[endRow - firstRow + 1];
        for (var r = 0; r < pointers.Length; r++)
        {
            pointers[r] = RowPointers[firstRow + r] - start;
        }

        var columns = ColumnIndices.AsSpan(start, count).ToArray();
        for (var k = 0; k < columns.Length; k++)
        {
            columns[k] -= firstColumn;
            if ((uint)columns[k] >= (uint)(endColumn - firstColumn))
            {
                ThrowHelper.Argument($"Rows {firstRow}-{endRow - 1} hold column {columns[k] + firstColumn}, outside their block's columns {firstColumn}-{endColumn - 1}.", nameof(firstColumn));
            }
        }

        return new CsrMatrix(endRow - firstRow, endColumn - firstColumn, pointers, columns, Values.AsSpan(start, count).ToArray());
    }

    /// <summary>
    /// Replaces the sparsity pattern and values (arrays taken, not copied) after checking every invariant,
    /// and marks the transposed view stale. The shape stays. Internal: a layer's structure changes only through
    /// its rewiring method, which moves every per-connection array along.
    /// </summary>
    /// <exception cref="ArgumentException">An invariant is broken; the message names it.</exception>
    internal void ReplaceStructure(long[] rowPointers, int[] columnIndices, float[] values)
    {
        ArgumentNullException.ThrowIfNull(rowPointers);
        ArgumentNullException.ThrowIfNull(columnIndices);
        ArgumentNullException.ThrowIfNull(values);
        CheckInvariants(Rows, Columns, rowPointers, columnIndices, values);
        RowPointers = rowPointers;
        ColumnIndices = columnIndices;
        Values = values;
        StructureChanged();
    }

    /// <summary>
    /// Tells the matrix that <see cref="RowPointers"/> or <see cref="ColumnIndices"/> were edited in place,
    /// so the transposed view is rebuilt on its next use. Checks the invariants in Debug builds.
    /// </summary>
    internal void StructureChanged()
    {
        AssertValid();
        _structureVersion++;
    }

    /// <summary>
    /// The transposed view (column pointers, row indices, and a permutation into <see cref="Values"/>),
    /// rebuilt in O(nnz + columns) when the structure changed since it was last built, reusing its arrays
    /// when the counts are unchanged. Values are never copied, so a value update needs no rebuild.
    /// </summary>
    public CscView Transposed
    {
        get
        {
            var view = _transposed;
            if (view is null)
            {
                view = new CscView(this);
                _transposed = view;
            }
            else if (view.BuiltForVersion != _structureVersion)
            {
                view.Rebuild(this);
            }

            return view;
        }
    }

    /// <summary>
    /// How many of the <see cref="Columns"/> operand rows neighbouring rows gather between them (<see cref="GatherReach"/>),
    /// computed in O(nnz) after each change of structure.
    /// </summary>
    internal int GatherReach
    {
        get
        {
            if (_reachVersion != _structureVersion)
            {
                _reach = Sparse.Core.GatherReach.Of(RowPointers, ColumnIndices, Rows, Columns);
                _reachVersion = _structureVersion;
            }

            return _reach;
        }
    }

    /// <summary>A deep copy: new arrays with the same contents.</summary>
    public CsrMatrix Clone() =>
        new(Rows, Columns, (long[])RowPointers.Clone(), (int[])ColumnIndices.Clone(), (float[])Values.Clone(), validate: false);

    /// <summary>The transpose as a new CSR matrix of shape (<see cref="Columns"/>, <see cref="Rows"/>).</summary>
    public CsrMatrix Transpose()
    {
        var view = Transposed;
        var values = new float[view.ValueIndices.Length];
        for (var k = 0; k < values.Length; k++)
        {
            values[k] = Values[view.ValueIndices[k]];
        }

        return new CsrMatrix(Columns, Rows, (long[])view.ColumnPointers.Clone(), (int[])view.RowIndices.Clone(), values, validate: false);
    }

    /// <summary>
    /// Becomes its own transpose, shape (<see cref="Columns"/>, <see cref="Rows"/>), in O(nnz + columns): the arrays of
    /// the transposed view become the structure, and the values are gathered into their new order. Returns where each
    /// new entry was before (new entry <c>k</c> is old entry <c>source[k]</c>), so that every array aligned with the
    /// values can follow. Internal: a layer changes the order it stores its connections in through its own method,
    /// which moves its gradient and optimizer state along.
    /// </summary>
    internal int[] TransposeInPlace()
    {
        var spare = GC.AllocateUninitializedArray<float>((int)NonZeroCount);
        return TransposeInPlace(ref spare);
    }

    /// <summary>
    /// <see cref="TransposeInPlace()"/> with the values gathered into <paramref name="spare"/> (as long as the values),
    /// which then holds the old values' array, free for the next array that follows the order: a layer of hundreds of
    /// millions of connections then allocates one array for all of them.
    /// </summary>
    internal int[] TransposeInPlace(ref float[] spare)
    {
        var view = Transposed;
        var source = view.ValueIndices;
        var values = spare;
        Permutation.Gather(Values, source, values);
        spare = Values;

        // The view's arrays are taken, so the view is dropped rather than rebuilt over them.
        (Rows, Columns) = (Columns, Rows);
        RowPointers = view.ColumnPointers;
        ColumnIndices = view.RowIndices;
        Values = values;
        _transposed = null;
        StructureChanged();
        return source;
    }

    /// <summary>Checks every invariant listed on the type.</summary>
    /// <exception cref="ArgumentException">An invariant is broken; the message names it and where.</exception>
    public void Validate() => CheckInvariants(Rows, Columns, RowPointers, ColumnIndices, Values);

    /// <summary>
    /// Whether every construction and structure change runs <see cref="Validate"/>: on when the AppContext switch
    /// <c>Sparse.Core.ValidateStructures</c> is set, as the test project's runtimeconfig sets it, so the checks
    /// run in the Release builds that CI tests; off elsewhere, where they would cost O(nnz) per change.
    /// </summary>
    internal static bool ValidatesEveryChange { get; } = AppContext.TryGetSwitch("Sparse.Core.ValidateStructures", out var on) && on;

    /// <summary>The checks of <see cref="Validate"/> when <see cref="ValidatesEveryChange"/>.</summary>
    internal void AssertValid()
    {
        if (ValidatesEveryChange)
        {
            Validate();
        }
    }

    // Fully optimised from the first call: it checks every entry of each structure an evolution step installs.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    internal static void CheckInvariants(int rows, int columns, long[] rowPointers, int[] columnIndices, float[] values)
    {
        if (rowPointers.Length != (long)rows + 1)
        {
            ThrowHelper.Argument($"RowPointers must have Rows + 1 = {(long)rows + 1} entries, has {rowPointers.Length}.", nameof(rowPointers));
        }

        if (rowPointers[0] != 0)
        {
            ThrowHelper.Argument($"RowPointers[0] must be 0, is {rowPointers[0]}.", nameof(rowPointers));
        }

        var nnz = rowPointers[rows];
        if (nnz > MaxNonZeros)
        {
            ThrowHelper.Argument($"A matrix holds at most {MaxNonZeros} stored entries, RowPointers[{rows}] says {nnz}.", nameof(rowPointers));
        }

        if (columnIndices.Length != nnz)
        {
            ThrowHelper.Argument($"ColumnIndices must have RowPointers[Rows] = {nnz} entries, has {columnIndices.Length}.", nameof(columnIndices));
        }

        if (values.Length != nnz)
        {
            ThrowHelper.Argument($"Values must have RowPointers[Rows] = {nnz} entries, has {values.Length}.", nameof(values));
        }

        for (var row = 0; row < rows; row++)
        {
            long start = rowPointers[row], end = rowPointers[row + 1];
            if (end < start)
            {
                ThrowHelper.Argument($"RowPointers must not decrease: RowPointers[{row}] = {start} > RowPointers[{row + 1}] = {end}.", nameof(rowPointers));
            }

            if (end > nnz)
            {
                ThrowHelper.Argument($"RowPointers[{row + 1}] = {end} passes the entry count {nnz}.", nameof(rowPointers));
            }

            var previous = -1;
            for (var k = start; k < end; k++)
            {
                var column = columnIndices[k];
                if ((uint)column >= (uint)columns)
                {
                    ThrowHelper.Argument($"Column index {column} at entry {k} (row {row}) is outside [0, {columns}).", nameof(columnIndices));
                }

                if (column <= previous)
                {
                    var what = column == previous ? "duplicate" : "unsorted";
                    ThrowHelper.Argument($"Column indices must be sorted and unique within a row: row {row} has {what} column {column} after {previous} at entry {k}.", nameof(columnIndices));
                }

                previous = column;
            }
        }
    }
}
