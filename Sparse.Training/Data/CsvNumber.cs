using System.Globalization;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Sparse.Training;

/// <summary>Parses CSV cells and svmlight values as <see cref="float"/> straight from the reader's span (UTF-16 or UTF-8), with no string per cell.</summary>
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
    public static bool TryParse(ReadOnlySpan<char> cell, out float value) => TryParse<char>(cell, out value);

    /// <summary>As <see cref="TryParse(ReadOnlySpan{char}, out float)"/>, on UTF-8 bytes.</summary>
    public static bool TryParse(ReadOnlySpan<byte> cell, out float value) => TryParse<byte>(cell, out value);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static bool TryParse<T>(ReadOnlySpan<T> cell, out float value)
        where T : unmanaged, IBinaryInteger<T>
    {
        var i = 0;
        var negative = false;
        var sign = cell.Length > 0 ? uint.CreateTruncating(cell[0]) : 0;
        if (sign is '-' or '+')
        {
            negative = sign == '-';
            i = 1;
        }

        uint mantissa = 0;
        var digits = 0;
        var decimals = -1;
        for (; i < cell.Length; i++)
        {
            var c = uint.CreateTruncating(cell[i]);
            var digit = c - '0';
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
            else if (c == '.' && decimals < 0)
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

    private static bool Slow<T>(ReadOnlySpan<T> cell, out float value)
        where T : unmanaged, IBinaryInteger<T> =>
        typeof(T) == typeof(char)
            ? float.TryParse(MemoryMarshal.Cast<T, char>(cell), NumberStyles.Float, CultureInfo.InvariantCulture, out value)
            : float.TryParse(MemoryMarshal.Cast<T, byte>(cell), NumberStyles.Float, CultureInfo.InvariantCulture, out value);
}
