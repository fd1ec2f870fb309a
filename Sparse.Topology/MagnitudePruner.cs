using Sparse.Training;

namespace Sparse.Topology;

/// <summary>
/// Drops the weights closest to zero. SET style (the default): the asked fraction of the positive
/// weights (the smallest) and, separately, the same fraction of the negative weights (the largest, i.e.
/// closest to zero); otherwise that fraction of all weights by |w| (RigL's drop rule). Selection is a partial
/// selection (a radix select on the float bits) in O(nnz), not a sort; ties are broken by position, so the count is exact.
/// </summary>
public sealed class MagnitudePruner : IPruner
{
    /// <summary>Prunes by magnitude, each sign apart (SET) or all together.</summary>
    public MagnitudePruner(bool separateSigns = true) => SeparateSigns = separateSigns;

    /// <summary>Whether positive and negative weights are pruned separately (SET).</summary>
    public bool SeparateSigns { get; }

    /// <summary>How many of <paramref name="available"/> weights a fraction drops: rounded to nearest.</summary>
    public static int CountFor(int available, double fraction) => (int)Math.Round(available * fraction, MidpointRounding.AwayFromZero);

    /// <inheritdoc/>
    public int SelectDrops(SparseLinear layer, double fraction, LayerSignals? signals, Span<bool> drop)
    {
        if (!(fraction >= 0 && fraction <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(fraction), $"The pruning fraction must be in [0, 1], is {fraction}.");
        }

        var values = layer.Weights.Values;
        if (!SeparateSigns)
        {
            return MarkSmallest(values, drop, fraction, Sign.Any);
        }

        // Zeros count as positive, as in SET's reference code (values >= 0 versus < 0).
        return MarkSmallest(values, drop, fraction, Sign.Positive) + MarkSmallest(values, drop, fraction, Sign.Negative);
    }

    /// <summary>Marks the <c>round(fraction x n)</c> smallest of <paramref name="keys"/> (ties by position).</summary>
    internal static int MarkSmallest(ReadOnlySpan<float> keys, Span<bool> drop, double fraction) =>
        MarkSmallest(keys, drop, fraction, Sign.Key);

    private enum Sign
    {
        Any,
        Positive,
        Negative,
        Key,
    }

    private static int MarkSmallest(ReadOnlySpan<float> values, Span<bool> drop, double fraction, Sign sign) => sign switch
    {
        Sign.Positive => MarkSmallest<PositiveKey>(values, drop, fraction),
        Sign.Negative => MarkSmallest<NegativeKey>(values, drop, fraction),
        Sign.Any => MarkSmallest<MagnitudeKey>(values, drop, fraction),
        _ => MarkSmallest<ValueKey>(values, drop, fraction),
    };

    // O(n) with no scratch the size of the layer: a radix select on the key's bits. Keys are unsigned integers
    // that sort like the float keys. One pass histograms the high 16 bits, a second the low 16 bits inside the
    // bucket holding the count-th smallest, which gives the exact threshold key T and how many keys lie below
    // it. A third pass marks every key below T and, in position order, as many keys equal to T as remain.
    // TKey is a struct, so each rule gets its own compiled loop with no per-entry switch.
    private static int MarkSmallest<TKey>(ReadOnlySpan<float> values, Span<bool> drop, double fraction)
        where TKey : struct, IKey
    {
        var pool = System.Buffers.ArrayPool<int>.Shared;
        var histogram = pool.Rent(Buckets);
        try
        {
            var counts = histogram.AsSpan(0, Buckets);
            counts.Clear();
            // Non-candidates land in the top bucket, which no number's key reaches: counting them there
            // instead of branching keeps this loop free of a branch the sign of each weight would decide.
            foreach (var value in values)
            {
                counts[(int)(TKey.Of(value) >> 16)]++;
            }

            var count = values.Length - counts[Buckets - 1];

            var target = CountFor(count, fraction);
            if (target == 0)
            {
                return 0;
            }

            var (high, belowHigh) = Locate(counts, target);
            counts.Clear();
            foreach (var value in values)
            {
                var key = TKey.Of(value);
                if (key >> 16 == (uint)high)
                {
                    counts[(int)(key & 0xFFFF)]++;
                }
            }

            var (low, belowLow) = Locate(counts, target - belowHigh);
            var threshold = ((uint)high << 16) | (uint)low;
            var equalToMark = target - belowHigh - belowLow;
            drop = drop[..values.Length];
            for (var k = 0; k < values.Length; k++)
            {
                var key = TKey.Of(values[k]);
                if (key == threshold)
                {
                    drop[k] |= equalToMark-- > 0;
                    continue;
                }

                drop[k] |= key < threshold; // no branch: which side of T a weight falls on is a coin toss
            }

            return target;
        }
        finally
        {
            pool.Return(histogram);
        }
    }

    private const int Buckets = 1 << 16;

    // Greater than every key a number maps to, and alone in the top histogram bucket (that bucket would
    // otherwise hold only NaN bit patterns, which are never candidates).
    private const uint NotACandidate = uint.MaxValue;

    // The bucket holding the nth smallest (1-based) and how many keys lie in the buckets below it.
    private static (int Bucket, int Below) Locate(ReadOnlySpan<int> counts, int nth)
    {
        var below = 0;
        for (var bucket = 0; bucket < counts.Length; bucket++)
        {
            if (below + counts[bucket] >= nth)
            {
                return (bucket, below);
            }

            below += counts[bucket];
        }

        throw new InvalidOperationException("The histogram holds fewer keys than asked for.");
    }

    // Keys are built with integer masks, not comparisons: whether a weight is positive is a coin toss, and a
    // branch on it mispredicts half the time, which tripled the cost of every pass. A non-negative float's bits
    // sort as the float does; the top bit is set on every number's key so that NotACandidate (all ones) sits
    // above them all. Masks below are all ones when their condition holds.
    private interface IKey
    {
        // The key of a weight, or NotACandidate.
        static abstract uint Of(float value);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static (uint Magnitude, uint Negative, uint Zero, uint NaN) Decompose(float value)
    {
        var bits = BitConverter.SingleToUInt32Bits(value);
        var magnitude = bits & 0x7FFF_FFFFu;
        return (magnitude, (uint)((int)bits >> 31), (uint)((int)(magnitude - 1) >> 31), (uint)((int)(0x7F80_0000u - magnitude) >> 31));
    }

    // Zeros count as positive, as in SET's reference code (values >= 0 versus < 0); -0 keys as +0.
    private readonly struct PositiveKey : IKey
    {
        public static uint Of(float value)
        {
            var (magnitude, negative, zero, nan) = Decompose(value);
            return magnitude | 0x8000_0000u | (negative & ~zero) | nan;
        }
    }

    private readonly struct NegativeKey : IKey
    {
        public static uint Of(float value)
        {
            var (magnitude, negative, zero, nan) = Decompose(value);
            return magnitude | 0x8000_0000u | ~negative | zero | nan;
        }
    }

    private readonly struct MagnitudeKey : IKey
    {
        public static uint Of(float value)
        {
            var (magnitude, _, _, nan) = Decompose(value);
            return magnitude | 0x8000_0000u | nan;
        }
    }

    // Any float key: negative numbers map below the non-negative ones, in reverse bit order; -0 as +0.
    private readonly struct ValueKey : IKey
    {
        public static uint Of(float value)
        {
            var (magnitude, negative, zero, nan) = Decompose(value);
            var signed = negative & ~zero;
            return ((magnitude | (signed & 0x8000_0000u)) ^ (signed | 0x8000_0000u)) | nan;
        }
    }
}
