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

    /// <inheritdoc/>
    public string Name => SeparateSigns ? "magnitude (each sign)" : "magnitude";

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

        // Zeros count as positive, as in SET's reference code (values >= 0 versus < 0). Each sign is its own class.
        return SeparateSigns ? MarkSmallest<SignedMagnitudeKey>(values, drop, fraction) : MarkSmallest<MagnitudeKey>(values, drop, fraction);
    }

    /// <summary>Marks the <c>round(fraction x n)</c> smallest of <paramref name="keys"/> (ties by position).</summary>
    internal static int MarkSmallest(ReadOnlySpan<float> keys, Span<bool> drop, double fraction) =>
        MarkSmallest<ValueKey>(keys, drop, fraction);

    /// <summary>
    /// Marks the smallest keys over several layers side by side, so that <paramref name="keep"/> of them stay (ties by
    /// position): <paramref name="fill"/> writes layer <c>l</c>'s <c>counts[l]</c> keys into the span it is given. One
    /// flag per key, the layers in order; global pruning's selection (Sup-tickets' superposition, EarlyCroP's steps).
    /// </summary>
    internal static bool[] MarkSmallestAcross(long[] counts, System.Buffers.SpanAction<float, int> fill, long keep)
    {
        var total = counts.Sum();
        var keys = new float[total];
        long at = 0;
        for (var l = 0; l < counts.Length; l++)
        {
            fill(keys.AsSpan((int)at, (int)counts[l]), l);
            at += counts[l];
        }

        var drop = new bool[total];
        MarkSmallest(keys, drop, total == 0 ? 0 : (double)(total - Math.Min(keep, total)) / total);
        return drop;
    }

    // O(n): a radix select on the key's bits, for each class of the rule at once (SET's two signs; one class
    // otherwise). Keys are unsigned integers that sort like the float keys. One pass histograms the top 11 bits
    // per class; a second copies the keys of the bucket holding each class's count-th smallest into a scratch
    // list; the next 11 and the last 10 bits are resolved on that list alone. That gives each class's exact
    // threshold key T and how many of its keys lie below it. A third pass marks every key below its class's T
    // and, in position order, as many keys equal to T as remain. Small histograms (2 x 2048 counters) stay in
    // L1, and every pass serves both classes.
    // TKey is a struct, so each rule gets its own compiled loops with no per-entry switch.
    // Fully optimised from the first call: an evolution step runs once an epoch, too rarely for tiered
    // compilation to promote it, and a stackalloc keeps its loops from on-stack replacement.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private static int MarkSmallest<TKey>(ReadOnlySpan<float> values, Span<bool> drop, double fraction)
        where TKey : struct, IKey
    {
        Span<int> histogram = stackalloc int[2 * Buckets];
        histogram.Clear();

        // Non-candidates land in their class's top bucket, which no number's key reaches: counting them there
        // instead of branching keeps this loop free of a branch the sign of each weight would decide.
        foreach (var value in values)
        {
            var (key, @class) = TKey.Of(value);
            histogram[(@class * Buckets) + (int)(key >> 21)]++;
        }

        Span<int> target = stackalloc int[2];
        Span<int> high = stackalloc int[2];
        Span<int> below = stackalloc int[2];
        var total = 0;
        var scratchLength = 0;
        for (var c = 0; c < 2; c++)
        {
            var counts = histogram.Slice(c * Buckets, Buckets);
            var candidates = Sum(counts) - counts[Buckets - 1];
            target[c] = CountFor(candidates, fraction);
            high[c] = -1;
            if (target[c] > 0)
            {
                (high[c], below[c]) = Locate(counts, target[c]);
                scratchLength += counts[high[c]];
            }

            total += target[c];
        }

        if (total == 0)
        {
            return 0;
        }

        var pool = System.Buffers.ArrayPool<uint>.Shared;
        var scratch = pool.Rent(scratchLength);
        try
        {
            // The keys of each class's located bucket, class 0 first.
            Span<int> filled = stackalloc int[2];
            filled[0] = 0;
            filled[1] = high[0] >= 0 ? histogram[high[0]] : 0;
            foreach (var value in values)
            {
                var (key, @class) = TKey.Of(value);
                if ((int)(key >> 21) == high[@class])
                {
                    scratch[filled[@class]++] = key;
                }
            }

            Span<uint> threshold = stackalloc uint[2];
            Span<int> equalToMark = stackalloc int[2];
            threshold.Clear();
            equalToMark.Clear();
            var start = 0;
            for (var c = 0; c < 2; c++)
            {
                if (target[c] == 0)
                {
                    continue; // threshold 0: every key (top bit set) is above it, nothing marked
                }

                var keys = scratch.AsSpan(start, histogram[(c * Buckets) + high[c]]);
                start += keys.Length;
                var rest = target[c] - below[c];
                var prefix = (uint)high[c];
                for (var shift = 10; shift >= 0; shift -= 10)
                {
                    // Bits 20..10, then 9..0, among the keys that share the prefix found so far.
                    var width = shift == 10 ? 11 : 10;
                    var counts = histogram[..(1 << width)];
                    counts.Clear();
                    foreach (var key in keys)
                    {
                        if (key >> (shift + width) == prefix)
                        {
                            counts[(int)((key >> shift) & ((1u << width) - 1))]++;
                        }
                    }

                    var (bucket, under) = Locate(counts, rest);
                    prefix = (prefix << width) | (uint)bucket;
                    rest -= under;
                }

                threshold[c] = prefix;
                equalToMark[c] = rest;
            }

            drop = drop[..values.Length];
            for (var k = 0; k < values.Length; k++)
            {
                var (key, @class) = TKey.Of(values[k]);
                var t = threshold[@class];
                if (key == t)
                {
                    drop[k] |= equalToMark[@class]-- > 0;
                    continue;
                }

                drop[k] |= key < t; // no branch: which side of T a weight falls on is a coin toss
            }

            return total;
        }
        finally
        {
            pool.Return(scratch);
        }
    }

    private static int Sum(ReadOnlySpan<int> counts)
    {
        var sum = 0;
        foreach (var count in counts)
        {
            sum += count;
        }

        return sum;
    }

    // Buckets of the first level: the top 11 bits of a key.
    private const int Buckets = 1 << 11;

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
    // sort as the float does; the top bit is set on every number's key so that a NaN's key (all ones) sits
    // above them all, in the top bucket, never a candidate. Masks below are all ones when their condition holds.
    private interface IKey
    {
        // The key of a weight and its class (0 or 1).
        static abstract (uint Key, int Class) Of(float value);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static (uint Magnitude, uint Negative, uint Zero, uint NaN) Decompose(float value)
    {
        var bits = BitConverter.SingleToUInt32Bits(value);
        var magnitude = bits & 0x7FFF_FFFFu;
        return (magnitude, (uint)((int)bits >> 31), (uint)((int)(magnitude - 1) >> 31), (uint)((int)(0x7F80_0000u - magnitude) >> 31));
    }

    // SET: |w| within each sign, so the smallest positive weights and the negative weights closest to zero go
    // first. Zeros (either sign) are positive, as in SET's reference code (values >= 0 versus < 0).
    private readonly struct SignedMagnitudeKey : IKey
    {
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        public static (uint Key, int Class) Of(float value)
        {
            var (magnitude, negative, zero, nan) = Decompose(value);
            return (magnitude | 0x8000_0000u | nan, (int)(negative & ~zero & 1));
        }
    }

    // RigL: |w| over all weights, one class.
    private readonly struct MagnitudeKey : IKey
    {
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        public static (uint Key, int Class) Of(float value)
        {
            var (magnitude, _, _, nan) = Decompose(value);
            return (magnitude | 0x8000_0000u | nan, 0);
        }
    }

    // Any float key, one class: negative numbers map below the non-negative ones, in reverse bit order; -0 as +0.
    private readonly struct ValueKey : IKey
    {
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        public static (uint Key, int Class) Of(float value)
        {
            var (magnitude, negative, zero, nan) = Decompose(value);
            var signed = negative & ~zero;
            return (((magnitude | (signed & 0x8000_0000u)) ^ (signed | 0x8000_0000u)) | nan, 0);
        }
    }
}
