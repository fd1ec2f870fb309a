using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Sparse.Core;

/// <summary>The instruction set a kernel call runs on.</summary>
public enum SimdLevel
{
    /// <summary>Plain scalar loops: the reference path, and what runs without hardware intrinsics.</summary>
    Scalar,

    /// <summary>256-bit vectors with fused multiply-add (AVX2 + FMA, or the platform's equivalent).</summary>
    Vector256,

    /// <summary>512-bit vectors (AVX-512).</summary>
    Vector512,
}

/// <summary>Chooses the SIMD path of the kernels; tests force each path in turn.</summary>
public static class KernelDispatch
{
    private static SimdLevel _level = Best;

    /// <summary>The widest path this machine accelerates.</summary>
    public static SimdLevel Best
    {
        get
        {
            if (Vector512.IsHardwareAccelerated)
            {
                return SimdLevel.Vector512;
            }

            // A Vector256 FMA without hardware FMA is emulated, slower than scalar code.
            if (Vector256.IsHardwareAccelerated && (Fma.IsSupported || !X86Base.IsSupported))
            {
                return SimdLevel.Vector256;
            }

            return SimdLevel.Scalar;
        }
    }

    /// <summary>
    /// The path kernels take; defaults to <see cref="Best"/>. Setting a level above <see cref="Best"/> is
    /// refused, so a forced path always runs in hardware.
    /// </summary>
    public static SimdLevel Level
    {
        get => _level;
        set
        {
            if (value > Best)
            {
                ThrowHelper.ArgumentOutOfRange(nameof(value), $"{value} is not accelerated on this machine; the best is {Best}.");
            }

            _level = value;
        }
    }
}
