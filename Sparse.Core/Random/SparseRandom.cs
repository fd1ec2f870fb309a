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

    /// <summary>
    /// A standard normal sample (Box-Muller; one of the pair is discarded to keep no state). Initialisation draws
    /// with it, so a seed keeps naming the same network; <see cref="NextNormal"/> is faster.
    /// </summary>
    public double NextGaussian()
    {
        double u1;
        do
        {
            u1 = NextDouble();
        }
        while (u1 <= double.Epsilon);

        var u2 = NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    /// <summary>
    /// A standard normal sample by the ziggurat method (Marsaglia and Tsang, 2000; 128 layers): about 99 % of
    /// draws cost one 64-bit number, a table lookup and a multiply, with no logarithm. The layer index and the
    /// value come from separate bits of the draw (Doornik, 2005, on the original's correlation).
    /// </summary>
    public double NextNormal()
    {
        while (true)
        {
            var bits = NextUInt64();
            var layer = (int)(bits & 127);
            var value = (int)(bits >> 32);
            var x = value * Ziggurat.Width[layer];
            if ((uint)Math.Abs((long)value) < Ziggurat.Inner[layer])
            {
                return x; // inside the layer's rectangle, under the curve everywhere
            }

            if (layer == 0)
            {
                // The base layer's tail beyond R (Marsaglia's exact tail method).
                double tail, y;
                do
                {
                    tail = -Math.Log(1.0 - NextDouble()) / Ziggurat.R;
                    y = -Math.Log(1.0 - NextDouble());
                }
                while (y + y < tail * tail);

                return value > 0 ? Ziggurat.R + tail : -Ziggurat.R - tail;
            }

            // The wedge between the rectangle and the curve: accept under the density.
            if (Ziggurat.Height[layer] + (NextDouble() * (Ziggurat.Height[layer - 1] - Ziggurat.Height[layer])) < Math.Exp(-0.5 * x * x))
            {
                return x;
            }
        }
    }

    // The 128-layer ziggurat for the standard normal: R is the base layer's edge and V each layer's area.
    private static class Ziggurat
    {
        public const double R = 3.442619855899;
        private const double V = 9.91256303526217e-3;
        private const double Scale = 2147483648.0; // 2^31: values are signed 32-bit integers

        // Inner[i]: |value| below it lies inside layer i's rectangle; Width[i] maps a value to x; Height[i] = f(x_i).
        public static readonly uint[] Inner = new uint[128];
        public static readonly double[] Width = new double[128];
        public static readonly double[] Height = new double[128];

#pragma warning disable CA1810 // the tables are built in order, each layer from the previous
        static Ziggurat()
#pragma warning restore CA1810
        {
            var edge = R;
            var previous = R;
            var q = V / Math.Exp(-0.5 * edge * edge);
            Inner[0] = (uint)(edge / q * Scale);
            Inner[1] = 0;
            Width[0] = q / Scale;
            Width[127] = edge / Scale;
            Height[0] = 1.0;
            Height[127] = Math.Exp(-0.5 * edge * edge);
            for (var i = 126; i >= 1; i--)
            {
                edge = Math.Sqrt(-2.0 * Math.Log((V / edge) + Math.Exp(-0.5 * edge * edge)));
                Inner[i + 1] = (uint)(edge / previous * Scale);
                previous = edge;
                Height[i] = Math.Exp(-0.5 * edge * edge);
                Width[i] = edge / Scale;
            }
        }
    }

    private static ulong SplitMix(ref ulong state)
    {
        var z = state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
