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
            return MarkSmallest(values, drop, fraction, v => true, v => Math.Abs(v));
        }

        // Zeros count as positive, as in SET's reference code (values >= 0 versus < 0).
        return MarkSmallest(values, drop, fraction, v => v >= 0, v => v) + MarkSmallest(values, drop, fraction, v => v < 0, v => -v);
    }

    /// <summary>Marks the <c>round(fraction x candidates)</c> entries of <paramref name="keys"/> with the smallest key (ties by position).</summary>
    internal static int MarkSmallest(ReadOnlySpan<float> keys, Span<bool> drop, double fraction) =>
        MarkSmallest(keys.ToArray(), drop, fraction, v => true, v => v);

    private static int MarkSmallest(float[] values, Span<bool> drop, double fraction, Func<float, bool> member, Func<float, float> key)
    {
        var candidates = new List<int>();
        for (var k = 0; k < values.Length; k++)
        {
            if (member(values[k]))
            {
                candidates.Add(k);
            }
        }

        var count = CountFor(candidates.Count, fraction);
        if (count == 0)
        {
            return 0;
        }

        // Order by (key, position) so equal keys fall in a fixed order and exactly `count` are taken.
        var keys = candidates.Select(k => (Key: key(values[k]), Index: k)).ToArray();
        Select(keys, count - 1);
        for (var n = 0; n < count; n++)
        {
            drop[keys[n].Index] = true;
        }

        return count;
    }

    // Hoare quickselect: afterwards items[0..=nth] are the nth + 1 smallest (in any order). Expected O(n).
    private static void Select((float Key, int Index)[] items, int nth)
    {
        int low = 0, high = items.Length - 1;
        var random = new Random(items.Length);
        while (low < high)
        {
            var pivot = items[random.Next(low, high + 1)];
            int i = low, j = high;
            while (i <= j)
            {
                while (Less(items[i], pivot))
                {
                    i++;
                }

                while (Less(pivot, items[j]))
                {
                    j--;
                }

                if (i <= j)
                {
                    (items[i], items[j]) = (items[j], items[i]);
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
                return;
            }
        }
    }

    private static bool Less((float Key, int Index) a, (float Key, int Index) b) => a.Key < b.Key || (a.Key == b.Key && a.Index < b.Index);
}
