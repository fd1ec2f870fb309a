namespace Sparse.Core;

/// <summary>The instruction set a computation runs on (<see cref="ComputeOptions.Simd"/>).</summary>
public enum SimdLevel
{
    /// <summary>Plain scalar loops: the reference path, and what runs without hardware intrinsics.</summary>
    Scalar,

    /// <summary>256-bit vectors with fused multiply-add (AVX2 + FMA, or the platform's equivalent).</summary>
    Vector256,

    /// <summary>512-bit vectors (AVX-512).</summary>
    Vector512,
}
