using Sparse.Training;

namespace Sparse.Topology;

/// <summary>
/// Drops the weights closest to zero. SET style (the default): the asked fraction of the positive
/// weights (the smallest) and, separately, the same fraction of the negative weights (the largest, i.e.
/// closest to zero); otherwise that fraction of all weights by |w| (RigL's drop rule). Selection is a partial
/// selection (quickselect) in O(nnz), not a sort; ties are broken by position, so the count is exact.
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
        MarkSmallest(keys.ToArray(), drop, fraction, Sign.Key);

    private enum Sign
    {
        Any,
        Positive,
        Negative,
        Key,
    }

    // O(n): the key of every entry (NaN when it is not a candidate), the count-th smallest candidate key by
    // quickselect, then every key below it and, in position order, the keys equal to it until the count.
    private static int MarkSmallest(float[] values, Span<bool> drop, double fraction, Sign sign)
    {
        var pool = System.Buffers.ArrayPool<float>.Shared;
        var keys = pool.Rent(values.Length);
        var candidates = pool.Rent(values.Length);
        try
        {
            var count = 0;
            for (var k = 0; k < values.Length; k++)
            {
                var value = values[k];
                var key = sign switch
                {
                    Sign.Positive => value >= 0 ? value : float.NaN,
                    Sign.Negative => value < 0 ? -value : float.NaN,
                    Sign.Any => Math.Abs(value),
                    _ => value,
                };
                keys[k] = key;
                if (!float.IsNaN(key))
                {
                    candidates[count++] = key;
                }
            }

            var target = CountFor(count, fraction);
            if (target == 0)
            {
                return 0;
            }

            var threshold = Select(candidates.AsSpan(0, count), target - 1);
            var marked = 0;
            for (var k = 0; k < values.Length; k++)
            {
                // NaN compares false: non-candidates are never marked.
                if (keys[k] < threshold)
                {
                    drop[k] = true;
                    marked++;
                }
            }

            for (var k = 0; k < values.Length && marked < target; k++)
            {
                if (keys[k] == threshold)
                {
                    drop[k] = true;
                    marked++;
                }
            }

            return target;
        }
        finally
        {
            pool.Return(keys);
            pool.Return(candidates);
        }
    }

    // Hoare quickselect with a median-of-three pivot: the nth smallest of keys (reordered). Expected O(n).
    private static float Select(Span<float> keys, int nth)
    {
        int low = 0, high = keys.Length - 1;
        while (low < high)
        {
            var middle = low + ((high - low) / 2);
            var pivot = MedianOfThree(keys[low], keys[middle], keys[high]);
            int i = low, j = high;
            while (i <= j)
            {
                while (keys[i] < pivot)
                {
                    i++;
                }

                while (keys[j] > pivot)
                {
                    j--;
                }

                if (i <= j)
                {
                    (keys[i], keys[j]) = (keys[j], keys[i]);
                    i++;
                    j--;
                }
            }

            if (nth <= j)
            {
                high = j;
            }
            else if (nth >= i)
            {
                low = i;
            }
            else
            {
                return keys[nth];
            }
        }

        return keys[nth];
    }

    private static float MedianOfThree(float a, float b, float c) => Math.Max(Math.Min(a, b), Math.Min(Math.Max(a, b), c));
}
