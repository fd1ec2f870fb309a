using System.Globalization;
using System.Runtime.CompilerServices;

namespace Sparse.Training;

/// <summary>Parses CSV cells as <see cref="float"/> straight from the reader's span, with no string per cell.</summary>
internal static class CsvNumber
{
    // 10^0 .. 10^10, every one exactly representable as a float (5^10 < 2^24).
    private static readonly float[] PowersOfTen = [1f, 1e1f, 1e2f, 1e3f, 1e4f, 1e5f, 1e6f, 1e7f, 1e8f, 1e9f, 1e10f];

    /// <summary>
    /// Parses <paramref name="cell"/> exactly as <c>float.TryParse(cell, NumberStyles.Float, InvariantCulture)</c>
    /// does. Plain decimals (<c>-12.5</c>) whose digits form an integer of at most 2^24 with at most 10 decimals
    /// take Clinger's fast path: both the integer and the power of ten are exact floats, so one IEEE division
    /// is the correctly rounded result; everything else goes to the framework's parser.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static bool TryParse(ReadOnlySpan<char> cell, out float value)
    {
        var i = 0;
        var negative = false;
        if (cell.Length > 0 && (cell[0] == '-' || cell[0] == '+'))
        {
            negative = cell[0] == '-';
            i = 1;
        }

        uint mantissa = 0;
        var digits = 0;
        var decimals = -1;
        for (; i < cell.Length; i++)
        {
            var digit = (uint)(cell[i] - '0');
            if (digit <= 9)
            {
                // Below 2^24 before, so this cannot overflow a uint; above 2^24 after, the integer is not an exact float.
                mantissa = (mantissa * 10) + digit;
                if (mantissa > 1 << 24)
                {
                    return Slow(cell, out value);
                }

                digits++;
                if (decimals >= 0)
                {
                    decimals++;
                }
            }
            else if (cell[i] == '.' && decimals < 0)
            {
                decimals = 0;
            }
            else
            {
                return Slow(cell, out value);
            }
        }

        if (digits == 0 || decimals > 10)
        {
            return Slow(cell, out value);
        }

        var result = (float)mantissa;
        if (decimals > 0)
        {
            result /= PowersOfTen[decimals];
        }

        value = negative ? -result : result;
        return true;
    }

    /// <summary>Whether <paramref name="cell"/> reads as a number (finite or not).</summary>
    public static bool IsNumber(ReadOnlySpan<char> cell) => TryParse(cell, out _);

    private static bool Slow(ReadOnlySpan<char> cell, out float value) =>
        float.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out value);
}
