using System.Numerics;

namespace Sparse.Core;

/// <summary>
/// A small, fast, seedable generator (xoshiro256**, seeded through SplitMix64) whose sequence is fixed by
/// its seed on every machine and .NET version, so a seed names one network.
/// </summary>
public struct SparseRandom
{
    private ulong _s0, _s1, _s2, _s3;

    /// <summary>Creates a generator whose whole sequence is determined by <paramref name="seed"/>.</summary>
    public SparseRandom(ulong seed)
    {
        _s0 = SplitMix(ref seed);
        _s1 = SplitMix(ref seed);
        _s2 = SplitMix(ref seed);
        _s3 = SplitMix(ref seed);
    }

    /// <summary>The next 64 random bits.</summary>
    public ulong NextUInt64()
    {
        var result = BitOperations.RotateLeft(_s1 * 5, 7) * 9;
        var t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = BitOperations.RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>A uniform double in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>A uniform integer in [0, <paramref name="bound"/>) without modulo bias (Lemire's method).</summary>
    public int NextInt(int bound)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bound);
        var product = (ulong)(uint)(NextUInt64() >> 32) * (uint)bound;
        var low = (uint)product;
        if (low < (uint)bound)
        {
            var threshold = (uint)-bound % (uint)bound;
            while (low < threshold)
            {
                product = (ulong)(uint)(NextUInt64() >> 32) * (uint)bound;
                low = (uint)product;
            }
        }

        return (int)(product >> 32);
    }

    /// <summary>A standard normal sample (Box-Muller; one of the pair is discarded to keep no state).</summary>
    public double NextGaussian() => NextGaussianPair().First;

    /// <summary>
    /// Two independent standard normal samples from one Box-Muller transform: half the logarithms and roots
    /// of two <see cref="NextGaussian"/> calls. <c>First</c> is the sample <see cref="NextGaussian"/> returns.
    /// </summary>
    public (double First, double Second) NextGaussianPair()
    {
        double u1;
        do
        {
            u1 = NextDouble();
        }
        while (u1 <= double.Epsilon);

        var u2 = NextDouble();
        var radius = Math.Sqrt(-2.0 * Math.Log(u1));
        var (sin, cos) = Math.SinCos(2.0 * Math.PI * u2);
        return (radius * cos, radius * sin);
    }

    private static ulong SplitMix(ref ulong state)
    {
        var z = state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
