namespace Sparse.Bench;

/// <summary>
/// <c>locality WIDTH[,WIDTH...] [BAND,...]</c>: how many of a square epsilon-20 layer's gathers an LRU cache of a given size
/// misses when the forward product walks it (rows in order, each row's entries in column order, one thread), for the
/// Erdos-Renyi layer as stored, the same layer with its rows relabelled by their first input, and banded layers
/// (<see cref="RandomSparse.Banded"/>). Each gather's reuse distance (the distinct rows gathered since the same row was
/// last gathered) is counted exactly with a Fenwick tree over gather times, so one walk gives the miss ratio of every
/// cache size: a gather misses a cache of C rows when its distance is at least C. This is the I/O count of the
/// two-level memory model, independent of the machine; a row is 128 bytes at batch 32 (512 KiB of L2 holds 4,096 rows,
/// 32 MiB of L3 262,144).
/// </summary>
internal static class Locality
{
    private static readonly int[] CacheRows = [4_096, 32_768, 262_144];

    public static void Run(int[] widths, int[] bands)
    {
        Console.WriteLine($"misses per gather of an LRU cache holding C activation rows (C = {string.Join(", ", CacheRows.Select(c => c.ToString("N0", System.Globalization.CultureInfo.InvariantCulture)))})");
        foreach (var width in widths)
        {
            var density = RandomSparse.ErdosRenyiDensity(width, width, 20);
            var layer = RandomSparse.Bernoulli(width, width, density, ValueDistribution.Constant(1), seed: 1);
            Report($"{width:N0}, Erdos-Renyi", layer, order: null);
            Report($"{width:N0}, Erdos-Renyi, rows by first input", layer, ByFirstInput(layer));
            foreach (var band in bands.Where(b => b < width))
            {
                Report($"{width:N0}, band {band:N0}", RandomSparse.Banded(width, width, density, band, ValueDistribution.Constant(1), seed: 1), order: null);
            }
        }
    }

    // A relabelling of the layer's outputs: rows sorted by their smallest input, so rows that start in the same
    // neighbourhood run together.
    private static int[] ByFirstInput(CsrMatrix layer)
    {
        var keys = new long[layer.Rows];
        var order = new int[layer.Rows];
        for (var r = 0; r < layer.Rows; r++)
        {
            keys[r] = layer.RowLength(r) == 0 ? long.MaxValue : layer.ColumnIndices[layer.RowPointers[r]];
            order[r] = r;
        }

        Array.Sort(keys, order);
        return order;
    }

    private static void Report(string name, CsrMatrix layer, int[]? order)
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var misses = Misses(layer, order, CacheRows);
        var gathers = layer.NonZeroCount;
        Console.WriteLine($"{name,-48} {gathers,13:N0} gathers  " +
            string.Join("  ", misses.Select(m => $"{(double)m / gathers,6:P1}")) + $"  ({watch.Elapsed.TotalSeconds:F0} s)");
    }

    /// <summary>
    /// The gathers of the forward product over <paramref name="layer"/> (rows in <paramref name="order"/>, or stored order)
    /// that miss a fully associative LRU cache of each of <paramref name="cacheRows"/> rows, first gathers included.
    /// </summary>
    internal static long[] Misses(CsrMatrix layer, int[]? order, int[] cacheRows)
    {
        var gathers = layer.NonZeroCount;
        var misses = new long[cacheRows.Length];
        var lastSeen = new long[layer.Columns];
        Array.Fill(lastSeen, -1);

        // tree marks, for each gather time, whether it is the latest gather of its row; the distinct rows gathered
        // after time t are the marks after t.
        var tree = new int[gathers + 1];
        long time = 0;
        for (var n = 0; n < layer.Rows; n++)
        {
            var row = order?[n] ?? n;
            for (var k = layer.RowPointers[row]; k < layer.RowPointers[row + 1]; k++)
            {
                var input = layer.ColumnIndices[k];
                var last = lastSeen[input];
                var distance = long.MaxValue;
                if (last >= 0)
                {
                    distance = Prefix(tree, time) - Prefix(tree, last + 1);
                    Add(tree, last + 1, -1);
                }

                for (var c = 0; c < cacheRows.Length; c++)
                {
                    misses[c] += distance >= cacheRows[c] ? 1 : 0;
                }

                Add(tree, time + 1, 1);
                lastSeen[input] = time++;
            }
        }

        return misses;
    }

    // Marks in tree positions 1..position.
    private static long Prefix(int[] tree, long position)
    {
        long sum = 0;
        for (var p = position; p > 0; p -= p & -p)
        {
            sum += tree[p];
        }

        return sum;
    }

    private static void Add(int[] tree, long position, int delta)
    {
        for (var p = position; p < tree.Length; p += p & -p)
        {
            tree[p] += delta;
        }
    }
}
