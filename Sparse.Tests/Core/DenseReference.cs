using Sparse.Core;

namespace Sparse.Tests.Core;

/// <summary>Textbook dense products in double precision, the reference every kernel is checked against.</summary>
internal static class DenseReference
{
    public static double[,] ToDense(CsrMatrix m)
    {
        var dense = new double[m.Rows, m.Columns];
        for (var r = 0; r < m.Rows; r++)
        {
            for (var k = m.RowPointers[r]; k < m.RowPointers[r + 1]; k++)
            {
                dense[r, m.ColumnIndices[k]] = m.Values[k];
            }
        }

        return dense;
    }

    /// <summary>y[j, b] = bias[j] + sum_i w[j, i] x[i, b], with the sum of |terms| for a tolerance.</summary>
    public static (double[] Value, double[] Magnitude) Multiply(double[,] w, float[] x, float[]? bias, int batch)
    {
        int rows = w.GetLength(0), columns = w.GetLength(1);
        var y = new double[rows * batch];
        var magnitude = new double[rows * batch];
        for (var j = 0; j < rows; j++)
        {
            for (var b = 0; b < batch; b++)
            {
                double sum = bias?[j] ?? 0, abs = Math.Abs(sum);
                for (var i = 0; i < columns; i++)
                {
                    var term = w[j, i] * x[(i * batch) + b];
                    sum += term;
                    abs += Math.Abs(term);
                }

                y[(j * batch) + b] = sum;
                magnitude[(j * batch) + b] = abs;
            }
        }

        return (y, magnitude);
    }

    /// <summary>dx[i, b] = sum_j w[j, i] dy[j, b].</summary>
    public static (double[] Value, double[] Magnitude) MultiplyTransposed(double[,] w, float[] dy, int batch)
    {
        int rows = w.GetLength(0), columns = w.GetLength(1);
        var t = new double[columns, rows];
        for (var j = 0; j < rows; j++)
        {
            for (var i = 0; i < columns; i++)
            {
                t[i, j] = w[j, i];
            }
        }

        return Multiply(t, dy, null, batch);
    }

    /// <summary>dw[k] = sum_b dy[j, b] x[i, b] for each stored (j, i).</summary>
    public static (double[] Value, double[] Magnitude) WeightGradient(CsrMatrix m, float[] dy, float[] x, int batch)
    {
        var dw = new double[m.NonZeroCount];
        var magnitude = new double[m.NonZeroCount];
        for (var j = 0; j < m.Rows; j++)
        {
            for (var k = m.RowPointers[j]; k < m.RowPointers[j + 1]; k++)
            {
                var i = m.ColumnIndices[k];
                for (var b = 0; b < batch; b++)
                {
                    var term = (double)dy[(j * batch) + b] * x[(i * batch) + b];
                    dw[k] += term;
                    magnitude[k] += Math.Abs(term);
                }
            }
        }

        return (dw, magnitude);
    }

    public static void AssertClose(ReadOnlySpan<float> actual, (double[] Value, double[] Magnitude) expected, string what)
    {
        Assert.That(actual.Length, Is.EqualTo(expected.Value.Length), what + ": length");
        for (var n = 0; n < actual.Length; n++)
        {
            // Float accumulation error grows with the sum of |terms|, not with the (possibly cancelling) result.
            var tolerance = (2e-6 * expected.Magnitude[n]) + 1e-7;
            if (Math.Abs(actual[n] - expected.Value[n]) > tolerance)
            {
                Assert.Fail($"{what}: element {n} is {actual[n]}, expected {expected.Value[n]} (tolerance {tolerance:G3}).");
            }
        }
    }

    public static float[] RandomDense(int length, int seed)
    {
        var random = new Random(seed);
        var a = new float[length];
        for (var n = 0; n < a.Length; n++)
        {
            a[n] = (float)((random.NextDouble() * 2) - 1);
        }

        return a;
    }
}
