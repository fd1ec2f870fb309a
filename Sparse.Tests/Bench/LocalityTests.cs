using Sparse.Bench;
using Sparse.Core;

namespace Sparse.Tests.Bench;

[TestFixture]
public class LocalityTests
{
    [Test]
    public void Misses_match_a_plain_lru_cache_for_every_size()
    {
        int[] sizes = [1, 2, 5, 17, 64, 1000];
        for (var seed = 0UL; seed < 6; seed++)
        {
            var layer = RandomSparse.Banded(120, 90, 0.08, seed % 2 == 0 ? 30 : 90, ValueDistribution.Constant(1), seed);
            var order = seed % 3 == 0 ? Enumerable.Range(0, 120).Reverse().ToArray() : null;
            var misses = Locality.Misses(layer, order, sizes);
            for (var c = 0; c < sizes.Length; c++)
            {
                Assert.That(misses[c], Is.EqualTo(LruMisses(layer, order, sizes[c])), $"seed {seed}, cache of {sizes[c]}");
            }
        }
    }

    // A list kept in recency order, most recent first: a gather misses when its row is not among the first `capacity`.
    private static long LruMisses(CsrMatrix layer, int[]? order, int capacity)
    {
        var recent = new List<int>();
        long misses = 0;
        for (var n = 0; n < layer.Rows; n++)
        {
            var row = order?[n] ?? n;
            for (var k = layer.RowPointers[row]; k < layer.RowPointers[row + 1]; k++)
            {
                var input = layer.ColumnIndices[k];
                var at = recent.IndexOf(input);
                if (at < 0 || at >= capacity)
                {
                    misses++;
                }

                if (at >= 0)
                {
                    recent.RemoveAt(at);
                }

                recent.Insert(0, input);
            }
        }

        return misses;
    }
}
