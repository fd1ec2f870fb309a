using Sparse.Core;

namespace Sparse.Tests.Core;

[TestFixture]
public class GatherReachTests
{
    [Test]
    public void The_reach_is_the_shortest_circular_arc_over_each_row_and_the_next_non_empty_one()
    {
        var random = new Random(3);
        for (var trial = 0; trial < 200; trial++)
        {
            int rows = random.Next(0, 12), columns = random.Next(1, 40);
            var m = random.Next(3) == 0
                ? RandomSparse.Banded(rows, columns, random.NextDouble() * 0.3, random.Next(1, columns + 1), ValueDistribution.Constant(1), (ulong)trial)
                : RandomSparse.Bernoulli(rows, columns, random.NextDouble() * 0.4, ValueDistribution.Constant(1), (ulong)trial);
            Assert.That(m.GatherReach, Is.EqualTo(BruteForce(m)), $"trial {trial}: {rows} x {columns}");
        }
    }

    [Test]
    public void A_band_reaches_about_its_width_and_an_erdos_renyi_layer_nearly_everything()
    {
        var banded = RandomSparse.Banded(100_000, 100_000, 4e-4, 2048, ValueDistribution.Constant(1), 1);
        var plain = RandomSparse.Bernoulli(100_000, 100_000, 4e-4, ValueDistribution.Constant(1), 1);
        Assert.Multiple(() =>
        {
            Assert.That(banded.GatherReach, Is.InRange(1900, 2049));
            Assert.That(banded.Transposed.GatherReach(banded.Rows), Is.InRange(1900, 2049), "the transposed view of a square band is one too");
            Assert.That(plain.GatherReach, Is.GreaterThan(80_000));
        });
    }

    [Test]
    public void The_reach_follows_a_change_of_structure()
    {
        var m = new CsrMatrix(2, 10, [0, 1, 2], [0, 1], [1f, 1f]);
        Assert.That(m.GatherReach, Is.EqualTo(2));
        m.ReplaceStructure([0, 1, 2], [0, 5], [1f, 1f]);
        Assert.That(m.GatherReach, Is.EqualTo(6));
        m.ReplaceStructure([0, 1, 2], [1, 9], [1f, 1f]);
        Assert.That(m.GatherReach, Is.EqualTo(3), "9, 0, 1 around the end");
    }

    [Test]
    public void A_structure_large_enough_to_split_over_threads_has_the_reach_of_its_widest_pair_across_a_split()
    {
        // 4,096 rows of 300 entries each within 1,024 columns, above the size the walk splits at. The first half's
        // windows start at columns 0 to 511, the second half's at 2,048 to 2,559, and the middle row is empty: the one
        // wide pair is (2,047, 2,049), across the middle, where any split into an even number of chunks has a boundary.
        const int rows = 4096, columns = 4096;
        var random = new Random(5);
        var pointers = new long[rows + 1];
        var indices = new List<int>();
        for (var row = 0; row < rows; row++)
        {
            var start = row < 2048 ? row / 4 : 2048 + ((row - 2049) / 4);
            if (row != 2048)
            {
                indices.AddRange(Enumerable.Range(0, 1024).OrderBy(_ => random.Next()).Take(300).Select(c => (start + c) % columns).Order());
            }

            pointers[row + 1] = indices.Count;
        }

        var m = new CsrMatrix(rows, columns, pointers, [.. indices], new float[indices.Count]);
        Assert.That(m.GatherReach, Is.EqualTo(Reference(pointers, [.. indices], columns)));
        Assert.That(m.GatherReach, Is.GreaterThan(2048), "the pair across the middle is the widest");
        Assert.That(Reference(pointers[..2049], [.. indices], columns), Is.LessThan(1100), "the first half alone is narrow");
    }

    // The shortest arc over each pair of neighbouring non-empty rows: the width less the largest circular gap of the
    // pair's columns, plus one.
    private static int Reference(long[] pointers, int[] indices, int width)
    {
        var reach = 0;
        var previous = -1;
        for (var row = 0; row + 1 < pointers.Length; row++)
        {
            if (pointers[row] == pointers[row + 1])
            {
                continue;
            }

            var columns = indices[(int)pointers[row]..(int)pointers[row + 1]]
                .Concat(previous < 0 ? [] : indices[(int)pointers[previous]..(int)pointers[previous + 1]]).Distinct().Order().ToArray();
            var gap = columns[0] + width - columns[^1];
            for (var k = 1; k < columns.Length; k++)
            {
                gap = Math.Max(gap, columns[k] - columns[k - 1]);
            }

            reach = Math.Max(reach, width - gap + 1);
            previous = row;
        }

        return reach;
    }

    // Every circular arc, shortest first, until one holds both rows' columns.
    private static int BruteForce(CsrMatrix m)
    {
        var reach = 0;
        var previous = -1;
        for (var row = 0; row < m.Rows; row++)
        {
            if (m.RowLength(row) == 0)
            {
                continue;
            }

            var columns = Columns(m, row).Concat(previous < 0 ? [] : Columns(m, previous)).ToHashSet();
            var shortest = Enumerable.Range(1, m.Columns).First(length =>
                Enumerable.Range(0, m.Columns).Any(start => columns.All(c => (c - start + m.Columns) % m.Columns < length)));
            reach = Math.Max(reach, shortest);
            previous = row;
        }

        return reach;
    }

    private static IEnumerable<int> Columns(CsrMatrix m, int row)
    {
        for (var k = m.RowPointers[row]; k < m.RowPointers[row + 1]; k++)
        {
            yield return m.ColumnIndices[k];
        }
    }
}
