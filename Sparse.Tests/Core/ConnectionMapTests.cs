using Sparse.Core;

namespace Sparse.Tests.Core;

/// <summary>The filter and the merge every rewiring is built from, against a dictionary of positions.</summary>
[TestFixture]
public class ConnectionMapTests
{
    // (rows, columns, density, drop share, new share): empty rows, one column, nothing dropped, everything dropped.
    [TestCase(1, 1, 1.0, 0.0, 0.0)]
    [TestCase(7, 1, 0.5, 0.5, 0.3)]
    [TestCase(40, 30, 0.2, 0.3, 0.3)]
    [TestCase(40, 30, 0.02, 0.0, 0.5)]
    [TestCase(40, 30, 0.2, 1.0, 0.1)]
    [TestCase(300, 200, 0.05, 0.3, 0.3)]
    public void Keep_then_merge_gives_the_kept_and_new_connections_each_with_its_source(int rows, int columns, double density, double dropShare, double newShare)
    {
        foreach (var ordered in new[] { true, false })
        {
            var matrix = RandomSparse.Bernoulli(rows, columns, density, ValueDistribution.Normal(1), 11);
            var random = new Random(rows + columns);
            var drop = new bool[matrix.NonZeroCount];
            for (var k = 0; k < drop.Length; k++)
            {
                drop[k] = random.NextDouble() < dropShare;
            }

            var kept = ConnectionMap.Keep(matrix, drop);
            var expected = new Dictionary<(int, int), (float Value, int Source)>();
            for (var row = 0; row < rows; row++)
            {
                for (var k = (int)matrix.RowPointers[row]; k < matrix.RowPointers[row + 1]; k++)
                {
                    if (!drop[k])
                    {
                        expected[(row, matrix.ColumnIndices[k])] = (matrix.Values[k], k);
                    }
                }
            }

            Assert.That(kept.Count, Is.EqualTo(expected.Count), "kept count");

            // New connections at free positions, in shuffled or in (row, column) order.
            var free = Enumerable.Range(0, rows * columns).Select(p => (p / columns, p % columns))
                .Where(p => !expected.ContainsKey(p) && !IsStored(matrix, p.Item1, p.Item2)).ToList();
            var picks = free.OrderBy(_ => random.Next()).Take((int)(free.Count * newShare)).ToList();
            if (ordered)
            {
                picks.Sort();
            }

            var added = new CooMatrix(rows, columns);
            foreach (var (row, column) in picks)
            {
                var value = (float)random.NextDouble();
                added.Add(row, column, value);
                expected[(row, column)] = (value, -1);
            }

            Assert.That(added.IsOrdered(), Is.EqualTo(ordered || picks.Count < 2 || picks.SequenceEqual(picks.Order())));
            var map = ConnectionMap.Merge(kept, added);
            var source = map.Source.Span;
            Assert.That(map.Count, Is.EqualTo(expected.Count));
            Assert.That(map.RowPointers[0], Is.Zero);
            for (var row = 0; row < rows; row++)
            {
                for (var k = (int)map.RowPointers[row]; k < map.RowPointers[row + 1]; k++)
                {
                    if (k > map.RowPointers[row])
                    {
                        Assert.That(map.ColumnIndices[k], Is.GreaterThan(map.ColumnIndices[k - 1]), $"row {row} sorted and unique");
                    }

                    Assert.That(expected.TryGetValue((row, map.ColumnIndices[k]), out var entry), Is.True, $"({row}, {map.ColumnIndices[k]}) expected");
                    Assert.That((map.Values[k], source[k]), Is.EqualTo(entry), $"value and source of ({row}, {map.ColumnIndices[k]})");
                }
            }

            // Applying the map is a valid structure.
            Assert.DoesNotThrow(() => _ = new CsrMatrix(rows, columns, map.RowPointers, map.ColumnIndices, map.Values));
        }
    }

    [Test]
    public void Merge_refuses_a_new_connection_that_is_kept_or_added_twice()
    {
        var matrix = new CsrMatrix(2, 3, [0, 2, 3], [0, 2, 1], [1f, 2f, 3f]);
        var kept = ConnectionMap.Keep(matrix, new bool[3]);
        var clash = new CooMatrix(2, 3);
        clash.Add(0, 2, 5f);
        var twice = new CooMatrix(2, 3);
        twice.Add(1, 0, 5f);
        twice.Add(1, 0, 6f);
        Assert.Multiple(() =>
        {
            Assert.That(() => ConnectionMap.Merge(kept, clash), Throws.ArgumentException.With.Message.Contains("row 0, column 2 is already kept"));
            Assert.That(() => ConnectionMap.Merge(kept, twice), Throws.ArgumentException.With.Message.Contains("already added"));
            Assert.That(() => ConnectionMap.Keep(matrix, new bool[2]), Throws.ArgumentException);
        });
    }

    [Test]
    public void Merge_writes_into_given_arrays_of_the_right_size()
    {
        var matrix = new CsrMatrix(2, 3, [0, 2, 3], [0, 2, 1], [1f, 2f, 3f]);
        var kept = ConnectionMap.Keep(matrix, [false, true, false]);
        var added = new CooMatrix(2, 3);
        added.Add(1, 2, 9f);
        var map = ConnectionMap.Merge(kept, added, matrix.RowPointers, matrix.ColumnIndices, matrix.Values);
        Assert.Multiple(() =>
        {
            Assert.That(map.ColumnIndices, Is.SameAs(matrix.ColumnIndices));
            Assert.That(map.ColumnIndices, Is.EqualTo(new[] { 0, 1, 2 }));
            Assert.That(map.RowPointers, Is.EqualTo(new long[] { 0, 1, 3 }));
            Assert.That(map.Values, Is.EqualTo(new[] { 1f, 3f, 9f }));
            Assert.That(map.Source.ToArray(), Is.EqualTo(new[] { 0, 2, -1 }));
        });
    }

    [Test]
    public void AddRange_checks_every_position_before_adding_any()
    {
        var coo = new CooMatrix(2, 2);
        Assert.That(() => coo.AddRange([0, 2], [0, 0], [1f, 1f]), Throws.InstanceOf<ArgumentOutOfRangeException>());
        Assert.That(coo.Count, Is.Zero);
        coo.AddRange([1, 0], [0, 1], [1f, 2f]);
        Assert.That(coo.Count, Is.EqualTo(2));
        Assert.That(coo.IsOrdered(), Is.False);
        Assert.That(() => coo.AddRange([0], [0, 1], [1f]), Throws.ArgumentException);
    }

    // Blocks of 3, 1, 0 and 5 rows over 4, 1, 2 and 6 columns (an empty block, a one-column one) cut out and stacked again.
    [Test]
    public void Row_blocks_cut_from_a_block_diagonal_matrix_stack_back_into_it()
    {
        int[] rowStarts = [0, 3, 4, 4, 9], columnStarts = [0, 4, 5, 7, 13];
        var random = new Random(3);
        var whole = new CooMatrix(9, 13, 0);
        for (var k = 0; k < 4; k++)
        {
            for (var row = rowStarts[k]; row < rowStarts[k + 1]; row++)
            {
                for (var column = columnStarts[k]; column < columnStarts[k + 1]; column++)
                {
                    if (random.NextDouble() < 0.6)
                    {
                        whole.Add(row, column, (float)random.NextDouble());
                    }
                }
            }
        }

        var matrix = whole.ToCsr();
        var blocks = Enumerable.Range(0, 4).Select(k => matrix.RowBlock(rowStarts[k], rowStarts[k + 1], columnStarts[k], columnStarts[k + 1])).ToArray();
        Assert.That(blocks.Select(b => (b.Rows, b.Columns)), Is.EqualTo(new[] { (3, 4), (1, 1), (0, 2), (5, 6) }));

        var structure = ConnectionMap.Stack([.. blocks.Select(b => new ConnectionMap(b.RowPointers, b.ColumnIndices, b.Values, ReadOnlyMemory<int>.Empty))], columnStarts, []);
        Assert.That((structure.RowPointers, structure.ColumnIndices, structure.Values), Is.EqualTo((matrix.RowPointers, matrix.ColumnIndices, matrix.Values)));
        Assert.That(structure.Source.Length, Is.Zero);

        // As a rewiring: each block's kept entries point back into the whole's old structure, new ones stay -1.
        var maps = blocks.Select(b => ConnectionMap.Keep(b, new bool[b.NonZeroCount])).ToArray();
        var sources = blocks.Select((b, k) => (int)matrix.RowPointers[rowStarts[k]]).ToArray();
        var identity = ConnectionMap.Stack(maps, columnStarts, sources);
        Assert.That(identity.Source.ToArray(), Is.EqualTo(Enumerable.Range(0, (int)matrix.NonZeroCount)));

        Assert.That(() => matrix.RowBlock(0, 3, 0, 2), Throws.ArgumentException.With.Message.Contains("outside their block's columns"));
    }

    private static bool IsStored(CsrMatrix m, int row, int column) =>
        Array.BinarySearch(m.ColumnIndices, (int)m.RowPointers[row], m.RowLength(row), column) >= 0;
}
