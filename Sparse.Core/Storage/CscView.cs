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

    private int _reach;
    private long _reachVersion = -1;

    /// <summary>
    /// How many of the matrix's rows neighbouring columns gather between them (<see cref="Core.GatherReach"/>), for the
    /// input gradient's prefetch decision; computed in O(nnz) once per build.
    /// </summary>
    internal int GatherReach(int width)
    {
        if (_reachVersion != BuiltForVersion)
        {
            _reach = Core.GatherReach.Of(ColumnPointers, RowIndices, ColumnPointers.Length - 1, width);
            _reachVersion = BuiltForVersion;
        }

        return _reach;
    }

    internal void Rebuild(CsrMatrix matrix)
    {
        if (RowIndices.Length != matrix.NonZeroCount)
        {
            RowIndices = new int[matrix.NonZeroCount];
            ValueIndices = new int[matrix.NonZeroCount];
        }

        Fill(matrix);
    }

    // Entries from which the counting sort runs on the worker threads, each over a block of whole rows.
    private const long ParallelEntries = 1L << 20;

    // Counting sort by column: count, cumulative sum, scatter (CSparse's cs_transpose). O(nnz + columns).
    // Fully optimised from the first call: a rebuild follows each evolution step, too rarely for tiered compilation.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private void Fill(CsrMatrix matrix)
    {
        var threads = ComputeOptions.Default.Threads;
        var blocks = matrix.NonZeroCount < ParallelEntries || matrix.Rows < 2 ? 1 : (int)Math.Min(threads, matrix.Rows);
        if (blocks == 1)
        {
            FillSerial(matrix);
        }
        else
        {
            FillInBlocks(matrix, blocks);
        }

        BuiltForVersion = matrix.StructureVersion;
    }

    private void FillSerial(CsrMatrix matrix)
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
    }

    // The same sort with the rows cut into blocks of about equal entries: each block counts its columns, a serial pass
    // turns the counts into each block's cursor in each column (after the blocks above it), and each block scatters
    // its rows. Blocks hold whole rows in order, so every column's rows come out in order, as FillSerial puts them.
    private unsafe void FillInBlocks(CsrMatrix matrix, int blocks)
    {
        var rowPointers = matrix.RowPointers;
        var firstRows = new int[blocks + 1];
        for (var b = 1; b < blocks; b++)
        {
            var target = matrix.NonZeroCount * b / blocks;
            var at = Array.BinarySearch(rowPointers, 0, matrix.Rows + 1, target);
            firstRows[b] = Math.Max(firstRows[b - 1], at >= 0 ? at : ~at - 1);
        }

        firstRows[blocks] = matrix.Rows;
        var counts = new int[blocks][];
        for (var b = 0; b < blocks; b++)
        {
            counts[b] = new int[matrix.Columns];
        }

        fixed (long* rows = rowPointers)
        fixed (int* columns = matrix.ColumnIndices, rowIndices = RowIndices, valueIndices = ValueIndices, first = firstRows)
        {
            var count = new BlockAction(rows, columns, rowIndices, valueIndices, first, counts, scatter: false);
            SparseParallel.Run(ref count, blocks);

            // Column i starts after the columns before it; block b's cursor in it after the blocks above b.
            var pointers = ColumnPointers;
            long start = 0;
            for (var i = 0; i < matrix.Columns; i++)
            {
                pointers[i] = start;
                for (var b = 0; b < blocks; b++)
                {
                    var n = counts[b][i];
                    counts[b][i] = (int)start;
                    start += n;
                }
            }

            pointers[matrix.Columns] = start;
            var scatter = new BlockAction(rows, columns, rowIndices, valueIndices, first, counts, scatter: true);
            SparseParallel.Run(ref scatter, blocks);
        }
    }

    private readonly unsafe struct BlockAction(long* rowPointers, int* columns, int* rowIndices, int* valueIndices, int* firstRows, int[][] counts, bool scatter) : IChunkAction
    {
        public void Execute(int block)
        {
            var cursors = counts[block];
            fixed (int* cursor = cursors)
            {
                for (var row = firstRows[block]; row < firstRows[block + 1]; row++)
                {
                    for (var k = rowPointers[row]; k < rowPointers[row + 1]; k++)
                    {
                        if (scatter)
                        {
                            var slot = cursor[columns[k]]++;
                            rowIndices[slot] = row;
                            valueIndices[slot] = (int)k;
                        }
                        else
                        {
                            cursor[columns[k]]++;
                        }
                    }
                }
            }
        }
    }
}
