using System.Numerics;
using System.Runtime.CompilerServices;

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

    /// <summary>Words in <see cref="GetState"/>'s output.</summary>
    public const int StateLength = 4;

    /// <summary>Copies the generator's state into <paramref name="destination"/> (<see cref="StateLength"/> words), so a run can be resumed.</summary>
    public readonly void GetState(Span<ulong> destination)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(destination.Length, StateLength, nameof(destination));
        destination[0] = _s0;
        destination[1] = _s1;
        destination[2] = _s2;
        destination[3] = _s3;
    }

    /// <summary>A generator that continues from a state saved by <see cref="GetState"/>.</summary>
    /// <exception cref="ArgumentException">The state is all zero, which xoshiro256** never reaches.</exception>
    public static SparseRandom FromState(ReadOnlySpan<ulong> state)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(state.Length, StateLength, nameof(state));
        if ((state[0] | state[1] | state[2] | state[3]) == 0)
        {
            throw new ArgumentException("An all-zero state is not a state of this generator.", nameof(state));
        }

        var random = default(SparseRandom);
        random._s0 = state[0];
        random._s1 = state[1];
        random._s2 = state[2];
        random._s3 = state[3];
        return random;
    }

    /// <summary>The next 64 random bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
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
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public double NextNormal()
    {
        // The common case, inlined into the caller's loop; the rest (about 1 % of draws) is a call.
        var bits = NextUInt64();
        var layer = (int)(bits & 127);
        var value = (int)(bits >> 32);
        return (uint)Math.Abs((long)value) < Ziggurat.Inner[layer] ? value * Ziggurat.Width[layer] : NextNormalOutside(bits);
    }

    // A draw that fell outside its layer's rectangle: the base layer's tail, or a wedge test, or a fresh draw.
    private double NextNormalOutside(ulong bits)
    {
        while (true)
        {
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

            bits = NextUInt64();
        }
    }

    // The 128-layer ziggurat for the standard normal: R is the base layer's edge and V each layer's area.
    private static class Ziggurat
    {
        public const double R = 3.442619855899;
        private const double V = 9.91256303526217e-3;
        private const double Scale = 2147483648.0; // 2^31: values are signed 32-bit integers

        // Inner[i]: |value| below it lies inside layer i's rectangle; Width[i] maps a value to x; Height[i] = f(x_i).
        // Built by field initialisers (no static constructor), so compiled callers need no initialisation check.
        private static readonly (uint[] Inner, double[] Width, double[] Height) Tables = Build();
        public static readonly uint[] Inner = Tables.Inner;
        public static readonly double[] Width = Tables.Width;
        public static readonly double[] Height = Tables.Height;

        private static (uint[] Inner, double[] Width, double[] Height) Build()
        {
            var inner = new uint[128];
            var width = new double[128];
            var height = new double[128];
            var edge = R;
            var previous = R;
            var q = V / Math.Exp(-0.5 * edge * edge);
            inner[0] = (uint)(edge / q * Scale);
            inner[1] = 0;
            width[0] = q / Scale;
            width[127] = edge / Scale;
            height[0] = 1.0;
            height[127] = Math.Exp(-0.5 * edge * edge);
            for (var i = 126; i >= 1; i--)
            {
                edge = Math.Sqrt(-2.0 * Math.Log((V / edge) + Math.Exp(-0.5 * edge * edge)));
                inner[i + 1] = (uint)(edge / previous * Scale);
                previous = edge;
                height[i] = Math.Exp(-0.5 * edge * edge);
                width[i] = edge / Scale;
            }

            return (inner, width, height);
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
