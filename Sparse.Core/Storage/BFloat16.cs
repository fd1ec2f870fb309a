using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Sparse.Core;

/// <summary>
/// A bfloat16 number: the upper 16 bits of an IEEE single (sign, the same 8-bit exponent, 7 mantissa bits), so it
/// has float's range at about 3 significant digits. The gather kernels read dense operands stored this way and
/// widen them to float in registers (<see cref="Precision.Bf16"/>): half the bytes per gathered row, all sums
/// in float.
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = 2)]
public readonly struct BFloat16 : IEquatable<BFloat16>
{
    /// <summary>The raw bits, the upper half of the float it stands for.</summary>
    public ushort Bits { get; }

    private BFloat16(ushort bits) => Bits = bits;

    /// <summary>The number with these raw bits.</summary>
    public static BFloat16 FromBits(ushort bits) => new(bits);

    /// <summary>The nearest bfloat16, ties to even; NaN stays NaN (quiet), infinities and signed zeros are kept.</summary>
    public static explicit operator BFloat16(float value) => new(Round(BitConverter.SingleToUInt32Bits(value)));

    /// <summary>Exactly the float this number stands for.</summary>
    public static implicit operator float(BFloat16 value) => BitConverter.UInt32BitsToSingle((uint)value.Bits << 16);

    /// <summary>
    /// <c>destination[k] = (BFloat16)source[k]</c>, rounding to nearest with ties to even, on vectors when
    /// <paramref name="options"/> allows them. Both paths give the same bits.
    /// </summary>
    /// <exception cref="ArgumentException">The destination is shorter than the source.</exception>
    public static unsafe void Convert(ReadOnlySpan<float> source, Span<BFloat16> destination, ComputeOptions? options = null)
    {
        if (destination.Length < source.Length)
        {
            ThrowHelper.Argument($"The destination has {destination.Length} elements, the source {source.Length}.", nameof(destination));
        }

        var k = 0;
        fixed (float* s = source)
        fixed (BFloat16* d = destination)
        {
            var input = (uint*)s;
            var output = (ushort*)d;
            if ((options ?? ComputeOptions.Default).Vectorized && Vector256.IsHardwareAccelerated)
            {
                for (; k + 16 <= source.Length; k += 16)
                {
                    var lower = Round(Vector256.Load(input + k));
                    var upper = Round(Vector256.Load(input + k + 8));
                    Vector256.Narrow(lower, upper).Store(output + k);
                }
            }

            for (; k < source.Length; k++)
            {
                output[k] = Round(input[k]);
            }
        }
    }

    /// <summary><c>destination[k] = (float)source[k]</c>, exactly.</summary>
    /// <exception cref="ArgumentException">The destination is shorter than the source.</exception>
    public static void Convert(ReadOnlySpan<BFloat16> source, Span<float> destination)
    {
        if (destination.Length < source.Length)
        {
            ThrowHelper.Argument($"The destination has {destination.Length} elements, the source {source.Length}.", nameof(destination));
        }

        for (var k = 0; k < source.Length; k++)
        {
            destination[k] = source[k];
        }
    }

    /// <inheritdoc/>
    public bool Equals(BFloat16 other) => Bits == other.Bits;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is BFloat16 other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => Bits;

    /// <summary>Whether the bits are equal (so NaN equals the same NaN, and +0 differs from -0).</summary>
    public static bool operator ==(BFloat16 left, BFloat16 right) => left.Equals(right);

    /// <summary>Whether the bits differ.</summary>
    public static bool operator !=(BFloat16 left, BFloat16 right) => !left.Equals(right);

    /// <inheritdoc/>
    public override string ToString() => ((float)this).ToString(System.Globalization.CultureInfo.InvariantCulture);

    // Round to nearest even: add 0x7FFF plus the lowest kept bit, then drop the low half. A NaN would carry into the
    // exponent (or become infinity), so NaNs keep their upper half with the quiet bit set instead.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ushort Round(uint bits) =>
        (bits & 0x7FFF_FFFF) > 0x7F80_0000 ? (ushort)((bits >> 16) | 0x40) : (ushort)((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16);

    // Eight floats' bits to their rounded bfloat16 in the low halves of the lanes.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<uint> Round(Vector256<uint> bits)
    {
        var rounded = (bits + Vector256.Create(0x7FFFu) + ((bits >> 16) & Vector256<uint>.One)) >> 16;
        var nan = Vector256.GreaterThan(bits & Vector256.Create(0x7FFF_FFFFu), Vector256.Create(0x7F80_0000u));
        return Vector256.ConditionalSelect(nan, (bits >> 16) | Vector256.Create(0x40u), rounded);
    }
}

/// <summary>How the gather kernels of a network store the dense operands they gather (layer inputs and output gradients).</summary>
public enum Precision
{
    /// <summary>IEEE single precision (4 bytes per value).</summary>
    Fp32,

    /// <summary>
    /// <see cref="BFloat16"/> copies (2 bytes per value), widened to float in registers; sums, weights, gradients
    /// and every element-wise step stay in float. Halves the bytes of every row a wide layer's kernels gather.
    /// </summary>
    Bf16,
}
