namespace Sparse.Core;

/// <summary>
/// Random sparse matrices built in O(nnz + rows) time and memory: positions are sampled directly, never
/// through a dense mask. The same arguments and seed always give the same matrix.
/// </summary>
public static class RandomSparse
{
    /// <summary>
    /// The Erdos-Renyi connection probability of SET, <c>p = epsilon * (rows + columns) / (rows * columns)</c>,
    /// capped at 1; the expected number of connections is <c>p * rows * columns</c>.
    /// </summary>
    public static double ErdosRenyiDensity(int rows, int columns, double epsilon)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(epsilon);
        if (rows == 0 || columns == 0)
        {
            return 0;
        }

        return Math.Min(1.0, epsilon * ((double)rows + columns) / ((double)rows * columns));
    }

    /// <summary>
    /// An Erdos-Renyi random matrix (SET's initialisation): every position is stored independently with
    /// probability <see cref="ErdosRenyiDensity"/>.
    /// </summary>
    public static CsrMatrix ErdosRenyi(int rows, int columns, double epsilon, ValueDistribution values, ulong seed) =>
        Bernoulli(rows, columns, ErdosRenyiDensity(rows, columns, epsilon), values, seed);

    /// <summary>Every position stored independently with probability <paramref name="density"/> in [0, 1].</summary>
    public static CsrMatrix Bernoulli(int rows, int columns, double density, ValueDistribution values, ulong seed) =>
        Banded(rows, columns, density, int.MaxValue, values, seed);

    /// <summary>
    /// A banded random matrix: row <c>r</c> may connect only to the <paramref name="window"/> columns centred on
    /// <c>(r + 0.5) * columns / rows</c>, wrapping around the last column to the first (<see cref="BandStart"/>),
    /// each stored independently with probability <c>density * columns / window</c> (capped at 1), so a row
    /// expects the same connections as in <see cref="Bernoulli"/>. Rows that are processed together then gather
    /// from about <paramref name="window"/> columns between them instead of from all of them: at a million neurons
    /// a layer's gathered rows stay in cache where an Erdos-Renyi layer fetches each from memory. A window of at least
    /// <paramref name="columns"/> gives <see cref="Bernoulli"/>'s matrix for the same seed.
    /// </summary>
    public static CsrMatrix Banded(int rows, int columns, double density, int window, ValueDistribution values, ulong seed)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegative(columns);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(window);
        if (!(density >= 0 && density <= 1))
        {
            ThrowHelper.ArgumentOutOfRange(nameof(density), $"Density must be in [0, 1], is {density}.");
        }

        return Sample(rows, columns, density, Math.Min(window, columns), values, seed);
    }

    /// <summary>
    /// The first column of row <paramref name="row"/>'s band of <paramref name="window"/> columns (<see cref="Banded"/>):
    /// the band is <c>start, start + 1, ...</c> modulo <paramref name="columns"/>.
    /// </summary>
    public static int BandStart(int row, int rows, int columns, int window)
    {
        var centre = (long)((row + 0.5) * columns / rows);
        var start = (centre - (window / 2)) % columns;
        return (int)(start < 0 ? start + columns : start);
    }

    /// <summary>
    /// How far <paramref name="column"/> lies past a band's <paramref name="start"/>, modulo <paramref name="columns"/>:
    /// the column is in a band of W columns from that start when this is below W.
    /// </summary>
    internal static int BandOffset(int column, int start, int columns) => column >= start ? column - start : column + columns - start;

    // Bernoulli draws within each row's band; the band is the whole row when window == columns.
    private static CsrMatrix Sample(int rows, int columns, double density, int window, ValueDistribution values, ulong seed)
    {
        var bandDensity = window == columns ? density : Math.Min(1.0, density * columns / window);
        var expected = bandDensity * rows * window;
        if (expected > CsrMatrix.MaxNonZeros * 0.99)
        {
            ThrowHelper.Argument($"Expected {expected:N0} stored entries, more than a matrix holds ({CsrMatrix.MaxNonZeros:N0}).", nameof(density));
        }

        var random = new SparseRandom(seed);
        var rowPointers = new long[rows + 1];
        var capacity = (int)Math.Min(CsrMatrix.MaxNonZeros, (long)(expected + 6 * Math.Sqrt(expected + 1) + 16));
        var columnIndices = new int[capacity];
        var stored = new float[capacity];
        long count = 0;

        // Geometric skips between stored positions give each position an independent Bernoulli(density)
        // draw at O(1) cost per stored entry, and the columns come out sorted.
        var logSkip = bandDensity is > 0 and < 1 ? Math.Log(1.0 - bandDensity) : 0.0;
        for (var row = 0; row < rows; row++)
        {
            if (bandDensity > 0)
            {
                var start = window == columns ? 0 : BandStart(row, rows, columns, window);
                var end = (long)start + window;
                if (end > columns)
                {
                    // The band wraps: its head [0, end - columns) comes first in column order.
                    Segment(0, end - columns);
                    Segment(start, columns);
                }
                else
                {
                    Segment(start, end);
                }
            }

            rowPointers[row + 1] = count;
        }

        Array.Resize(ref columnIndices, (int)count);
        Array.Resize(ref stored, (int)count);
        return new CsrMatrix(rows, columns, rowPointers, columnIndices, stored, validate: false);

        void Segment(long first, long end)
        {
            var column = first - 1;
            while (true)
            {
                column += bandDensity >= 1 ? 1 : 1 + (long)Math.Floor(Math.Log(1.0 - random.NextDouble()) / logSkip);
                if (column >= end)
                {
                    break;
                }

                if (count == columnIndices.Length)
                {
                    var grown = (int)Math.Min(CsrMatrix.MaxNonZeros, columnIndices.Length * 3L / 2 + 16);
                    Array.Resize(ref columnIndices, grown);
                    Array.Resize(ref stored, grown);
                }

                columnIndices[count] = (int)column;
                stored[count] = values.Sample(ref random);
                count++;
            }
        }
    }

    /// <summary>
    /// Exactly <paramref name="fanIn"/> distinct random columns in every row (Floyd's sampling), sorted.
    /// </summary>
    public static CsrMatrix FixedFanIn(int rows, int columns, int fanIn, ValueDistribution values, ulong seed)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegative(columns);
        if (fanIn < 0 || fanIn > columns)
        {
            ThrowHelper.ArgumentOutOfRange(nameof(fanIn), $"Fan-in must be in [0, {columns}], is {fanIn}.");
        }

        var nnz = (long)rows * fanIn;
        if (nnz > CsrMatrix.MaxNonZeros)
        {
            ThrowHelper.Argument($"{rows} x {fanIn} = {nnz:N0} stored entries is more than a matrix holds ({CsrMatrix.MaxNonZeros:N0}).", nameof(fanIn));
        }

        var random = new SparseRandom(seed);
        var rowPointers = new long[rows + 1];
        var columnIndices = new int[nnz];
        var stored = new float[nnz];
        var chosen = new HashSet<int>(fanIn);
        for (var row = 0; row < rows; row++)
        {
            var start = (long)row * fanIn;
            chosen.Clear();

            // Floyd: for j in [columns - fanIn, columns), take t in [0, j]; if t is taken already, take j.
            var written = 0;
            for (var j = columns - fanIn; j < columns; j++)
            {
                var t = random.NextInt(j + 1);
                var pick = chosen.Add(t) ? t : j;
                if (pick == j)
                {
                    chosen.Add(j);
                }

                columnIndices[start + written++] = pick;
            }

            var rowColumns = columnIndices.AsSpan((int)start, fanIn);
            rowColumns.Sort();
            for (var k = 0; k < fanIn; k++)
            {
                stored[start + k] = values.Sample(ref random);
            }

            rowPointers[row + 1] = start + fanIn;
        }

        return new CsrMatrix(rows, columns, rowPointers, columnIndices, stored, validate: false);
    }
}
