using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Sparse.Core;

/// <summary>
/// Width-generic vector operations for <c>TV</c> = <see cref="Vector256{T}"/> or <see cref="Vector512{T}"/>
/// of float. The <c>typeof</c> tests are constants to the JIT, so each instantiation compiles to the
/// bare instructions of its width.
/// </summary>
internal static unsafe class Simd
{
    public static int Count<TV>()
        where TV : struct => typeof(TV) == typeof(Vector512<float>) ? Vector512<float>.Count : Vector256<float>.Count;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Load<TV>(float* source)
        where TV : struct
    {
        if (typeof(TV) == typeof(Vector512<float>))
        {
            return (TV)(object)Vector512.Load(source);
        }

        return (TV)(object)Vector256.Load(source);
    }

    /// <summary>
    /// One vector of floats from <paramref name="source"/>, whose elements are floats or <see cref="BFloat16"/> (widened
    /// in the register: zero-extend each 16-bit value and shift it into the upper half of its lane).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Load<TV, TX>(TX* source)
        where TV : struct
        where TX : unmanaged
    {
        if (typeof(TX) == typeof(float))
        {
            return Load<TV>((float*)source);
        }

        var bits = (ushort*)source;
        if (typeof(TV) == typeof(Vector512<float>))
        {
            return (TV)(object)Vector512.ShiftLeft(Vector512.WidenLower(Vector256.Load(bits).ToVector512Unsafe()), 16).AsSingle();
        }

        if (Avx2.IsSupported)
        {
            return (TV)(object)Avx2.ShiftLeftLogical(Avx2.ConvertToVector256Int32(bits), 16).AsSingle();
        }

        return (TV)(object)Vector256.ShiftLeft(Vector256.WidenLower(Vector128.Load(bits).ToVector256Unsafe()), 16).AsSingle();
    }

    /// <summary>The float that element <paramref name="value"/> (a float or a <see cref="BFloat16"/>) stands for.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float ToSingle<TX>(TX value)
        where TX : unmanaged
    {
        if (typeof(TX) == typeof(float))
        {
            return Unsafe.As<TX, float>(ref value);
        }

        return Unsafe.As<TX, BFloat16>(ref value);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store<TV>(TV value, float* destination)
        where TV : struct
    {
        if (typeof(TV) == typeof(Vector512<float>))
        {
            ((Vector512<float>)(object)value).Store(destination);
        }
        else
        {
            ((Vector256<float>)(object)value).Store(destination);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Broadcast<TV>(float value)
        where TV : struct
    {
        if (typeof(TV) == typeof(Vector512<float>))
        {
            return (TV)(object)Vector512.Create(value);
        }

        return (TV)(object)Vector256.Create(value);
    }

    /// <summary><c>a * b + c</c>, fused.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Fma<TV>(TV a, TV b, TV c)
        where TV : struct
    {
        if (typeof(TV) == typeof(Vector512<float>))
        {
            return (TV)(object)Vector512.FusedMultiplyAdd((Vector512<float>)(object)a, (Vector512<float>)(object)b, (Vector512<float>)(object)c);
        }

        return (TV)(object)Vector256.FusedMultiplyAdd((Vector256<float>)(object)a, (Vector256<float>)(object)b, (Vector256<float>)(object)c);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Multiply<TV>(TV a, TV b)
        where TV : struct
    {
        if (typeof(TV) == typeof(Vector512<float>))
        {
            return (TV)(object)((Vector512<float>)(object)a * (Vector512<float>)(object)b);
        }

        return (TV)(object)((Vector256<float>)(object)a * (Vector256<float>)(object)b);
    }

    /// <summary>Lane-wise IEEE 754:2019 maximum (NaN propagates, +0 above -0), as <c>TensorPrimitives.Max</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Max<TV>(TV a, TV b)
        where TV : struct
    {
        if (typeof(TV) == typeof(Vector512<float>))
        {
            return (TV)(object)Vector512.Max((Vector512<float>)(object)a, (Vector512<float>)(object)b);
        }

        return (TV)(object)Vector256.Max((Vector256<float>)(object)a, (Vector256<float>)(object)b);
    }

    /// <summary><paramref name="value"/> in the lanes where <paramref name="gate"/> is above zero, +0 elsewhere (NaN gates give 0).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV WherePositive<TV>(TV gate, TV value)
        where TV : struct
    {
        if (typeof(TV) == typeof(Vector512<float>))
        {
            var mask = Vector512.GreaterThan((Vector512<float>)(object)gate, Vector512<float>.Zero);
            return (TV)(object)Vector512.BitwiseAnd((Vector512<float>)(object)value, mask);
        }

        var mask256 = Vector256.GreaterThan((Vector256<float>)(object)gate, Vector256<float>.Zero);
        return (TV)(object)Vector256.BitwiseAnd((Vector256<float>)(object)value, mask256);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Add<TV>(TV a, TV b)
        where TV : struct
    {
        if (typeof(TV) == typeof(Vector512<float>))
        {
            return (TV)(object)((Vector512<float>)(object)a + (Vector512<float>)(object)b);
        }

        return (TV)(object)((Vector256<float>)(object)a + (Vector256<float>)(object)b);
    }

    /// <summary>The lane sums of four vectors, as the four lanes of one (horizontal adds shared between them).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Sum4<TV>(TV a, TV b, TV c, TV d)
        where TV : struct
    {
        Vector256<float> a2, b2, c2, d2;
        if (typeof(TV) == typeof(Vector512<float>))
        {
            a2 = Fold((Vector512<float>)(object)a);
            b2 = Fold((Vector512<float>)(object)b);
            c2 = Fold((Vector512<float>)(object)c);
            d2 = Fold((Vector512<float>)(object)d);
        }
        else
        {
            (a2, b2, c2, d2) = ((Vector256<float>)(object)a, (Vector256<float>)(object)b, (Vector256<float>)(object)c, (Vector256<float>)(object)d);
        }

        if (Avx.IsSupported)
        {
            // Per 128-bit lane: [a, b, c, d] pairwise, then again: lane sums of a..d, one lane half each.
            var h = Avx.HorizontalAdd(Avx.HorizontalAdd(a2, b2), Avx.HorizontalAdd(c2, d2));
            return h.GetLower() + h.GetUpper();
        }

        return Vector128.Create(Vector256.Sum(a2), Vector256.Sum(b2), Vector256.Sum(c2), Vector256.Sum(d2));

        static Vector256<float> Fold(Vector512<float> v) => v.GetLower() + v.GetUpper();
    }

    /// <summary>The sum of the lanes of <c>a + b</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float SumOfBoth<TV>(TV a, TV b)
        where TV : struct
    {
        if (typeof(TV) == typeof(Vector512<float>))
        {
            var s = (Vector512<float>)(object)a + (Vector512<float>)(object)b;
            return Vector256.Sum(s.GetLower() + s.GetUpper());
        }

        return Vector256.Sum((Vector256<float>)(object)a + (Vector256<float>)(object)b);
    }
}
