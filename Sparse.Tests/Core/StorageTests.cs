using Sparse.Core;

namespace Sparse.Tests.Core;

[TestFixture]
public class StorageTests
{
    [Test]
    public void A_valid_matrix_keeps_its_arrays_and_counts()
    {
        var m = new CsrMatrix(3, 4, [0, 2, 2, 3], [0, 3, 1], [1f, 2f, 3f]);
        Assert.Multiple(() =>
        {
            Assert.That(m.NonZeroCount, Is.EqualTo(3));
            Assert.That(m.RowLength(1), Is.Zero);
            Assert.That(m.Density, Is.EqualTo(3.0 / 12));
        });
    }

    public static IEnumerable<TestCaseData> BrokenInvariants()
    {
        yield return new TestCaseData(new long[] { 0, 2 }, new[] { 0, 1 }, new[] { 1f, 2f }, "Rows + 1").SetName("row pointers of the wrong length");
        yield return new TestCaseData(new long[] { 1, 2, 2 }, new[] { 0, 1 }, new[] { 1f, 2f }, "RowPointers[0] must be 0").SetName("row pointers not starting at 0");
        yield return new TestCaseData(new long[] { 0, 2, 1 }, new[] { 0 }, new[] { 1f }, "passes the entry count").SetName("row pointers ending off the entry count");
        yield return new TestCaseData(new long[] { 0, 2, 1, 3 }, new[] { 0, 1, 2 }, new[] { 1f, 2f, 3f }, "must not decrease").SetName("decreasing row pointers");
        yield return new TestCaseData(new long[] { 0, 2, 2 }, new[] { 0, 1 }, new[] { 1f }, "Values must have").SetName("values of the wrong length");
        yield return new TestCaseData(new long[] { 0, 2, 2 }, new[] { 1, 0 }, new[] { 1f, 2f }, "unsorted").SetName("unsorted columns");
        yield return new TestCaseData(new long[] { 0, 2, 2 }, new[] { 1, 1 }, new[] { 1f, 2f }, "duplicate").SetName("duplicate columns");
        yield return new TestCaseData(new long[] { 0, 1, 2 }, new[] { 0, 4 }, new[] { 1f, 2f }, "outside [0, 4)").SetName("column past the width");
        yield return new TestCaseData(new long[] { 0, 1, 2 }, new[] { 0, -1 }, new[] { 1f, 2f }, "outside [0, 4)").SetName("negative column");
    }

    [TestCaseSource(nameof(BrokenInvariants))]
    public void A_broken_invariant_is_named(long[] rowPointers, int[] columns, float[] values, string message)
    {
        var rows = rowPointers.Length == 2 ? 2 : rowPointers.Length - 1;
        Assert.That(() => new CsrMatrix(rows, 4, rowPointers, columns, values), Throws.ArgumentException.With.Message.Contains(message));
    }

    [Test]
    public void Structure_changes_are_validated_in_the_tests_release_build_too()
    {
        Assert.That(CsrMatrix.ValidatesEveryChange, Is.True, "the test project's runtimeconfig turns the checks on");
        var m = new CsrMatrix(2, 3, [0, 2, 3], [0, 2, 1], [1f, 2f, 3f]);
        m.ColumnIndices[0] = 2;
        Assert.That(() => m.StructureChanged(), Throws.ArgumentException, "an in-place edit that breaks sorting is caught");
    }

    [Test]
    public void Replacing_the_structure_checks_it_first()
    {
        var m = new CsrMatrix(2, 3, [0, 1, 2], [0, 2], [1f, 2f]);
        Assert.That(() => m.ReplaceStructure([0, 2, 2], [2, 1], [1f, 2f]), Throws.ArgumentException.With.Message.Contains("unsorted"));
        Assert.That(m.ColumnIndices, Is.EqualTo(new[] { 0, 2 }), "a refused replacement leaves the matrix as it was");
        m.ReplaceStructure([0, 0, 3], [0, 1, 2], [4f, 5f, 6f]);
        Assert.That(m.Transposed.RowIndices, Is.EqualTo(new[] { 1, 1, 1 }));
    }

    [Test]
    public void Coo_to_csr_sorts_each_row()
    {
        var coo = new CooMatrix(3, 5);
        coo.Add(2, 4, 1f);
        coo.Add(0, 3, 2f);
        coo.Add(2, 0, 3f);
        coo.Add(0, 1, 4f);
        coo.Add(2, 2, 5f);
        var m = coo.ToCsr();
        Assert.Multiple(() =>
        {
            Assert.That(m.RowPointers, Is.EqualTo(new long[] { 0, 2, 2, 5 }));
            Assert.That(m.ColumnIndices, Is.EqualTo(new[] { 1, 3, 0, 2, 4 }));
            Assert.That(m.Values, Is.EqualTo(new[] { 4f, 2f, 3f, 5f, 1f }));
        });
        m.Validate();
    }

    [Test]
    public void Coo_duplicates_are_rejected_or_summed_as_asked()
    {
        var coo = new CooMatrix(2, 2);
        coo.Add(1, 1, 1f);
        coo.Add(0, 0, 2f);
        coo.Add(1, 1, 3f);
        coo.Add(1, 0, 4f);
        coo.Add(1, 1, 5f);
        Assert.That(() => coo.ToCsr(DuplicatePolicy.Reject), Throws.ArgumentException.With.Message.Contains("row 1, column 1"));
        var summed = coo.ToCsr(DuplicatePolicy.Sum);
        Assert.Multiple(() =>
        {
            Assert.That(summed.RowPointers, Is.EqualTo(new long[] { 0, 1, 3 }));
            Assert.That(summed.ColumnIndices, Is.EqualTo(new[] { 0, 0, 1 }));
            Assert.That(summed.Values, Is.EqualTo(new[] { 2f, 4f, 9f }));
        });
    }

    [Test]
    public void Coo_rejects_positions_outside_the_shape()
    {
        var coo = new CooMatrix(2, 3);
        Assert.Multiple(() =>
        {
            Assert.That(() => coo.Add(2, 0, 1f), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("Row 2"));
            Assert.That(() => coo.Add(0, -1, 1f), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("Column -1"));
        });
    }

    [TestCase(0, 0, 0.5)]
    [TestCase(1, 1, 1.0)]
    [TestCase(40, 1, 0.5)]
    [TestCase(1, 40, 0.5)]
    [TestCase(57, 31, 0.1)]
    [TestCase(200, 300, 0.02)]
    public void Random_coo_round_trips_through_csr_and_transpose(int rows, int columns, double density)
    {
        var random = new Random(rows * 1000 + columns);
        var coo = new CooMatrix(rows, columns);
        var expected = new double[rows, columns];
        for (var r = 0; r < rows; r++)
        {
            for (var c = 0; c < columns; c++)
            {
                if (random.NextDouble() < density)
                {
                    var value = (float)random.NextDouble() + 0.5f;
                    expected[r, c] = value;
                    coo.Add(r, c, value);
                }
            }
        }

        // Shuffle the triplets so the conversion has real sorting to do.
        var shuffled = new CooMatrix(rows, columns);
        foreach (var t in Enumerable.Range(0, coo.Count).OrderBy(_ => random.Next()))
        {
            shuffled.Add(coo.RowIndices[t], coo.ColumnIndices[t], coo.Values[t]);
        }

        var m = shuffled.ToCsr();
        m.Validate();
        Assert.That(DenseReference.ToDense(m), Is.EqualTo(expected));

        var t1 = m.Transpose();
        t1.Validate();
        var transposedDense = DenseReference.ToDense(t1);
        for (var r = 0; r < rows; r++)
        {
            for (var c = 0; c < columns; c++)
            {
                Assert.That(transposedDense[c, r], Is.EqualTo(expected[r, c]));
            }
        }

        var back = t1.Transpose();
        Assert.Multiple(() =>
        {
            Assert.That(back.RowPointers, Is.EqualTo(m.RowPointers));
            Assert.That(back.ColumnIndices, Is.EqualTo(m.ColumnIndices));
            Assert.That(back.Values, Is.EqualTo(m.Values));
        });
    }

    [Test]
    public void Transposed_view_points_back_into_the_values()
    {
        var m = RandomSparse.Bernoulli(23, 19, 0.3, ValueDistribution.Uniform(1), 4);
        var view = m.Transposed;
        Assert.That(view.ColumnPointers, Has.Length.EqualTo(20));
        for (var c = 0; c < m.Columns; c++)
        {
            var previousRow = -1;
            for (var k = view.ColumnPointers[c]; k < view.ColumnPointers[c + 1]; k++)
            {
                var row = view.RowIndices[k];
                var entry = view.ValueIndices[k];
                Assert.That(row, Is.GreaterThan(previousRow), "rows sorted within a column");
                Assert.That(entry, Is.InRange(m.RowPointers[row], m.RowPointers[row + 1] - 1), "entry lies in its row");
                Assert.That(m.ColumnIndices[entry], Is.EqualTo(c));
                previousRow = row;
            }
        }

        Assert.That(view.ValueIndices.Order(), Is.EqualTo(Enumerable.Range(0, (int)m.NonZeroCount)), "a permutation");
        Assert.That(m.Transposed, Is.SameAs(view), "cached while the structure is unchanged");
    }

    [Test]
    public void A_transposed_view_built_in_blocks_of_rows_walks_each_column_in_row_order()
    {
        // Over 2^20 entries the view is sorted on the worker threads, each over a block of rows; every 97th row is
        // empty and the last 3 columns hold nothing. The reference walks the rows in order.
        var random = new Random(5);
        var pointers = new List<long> { 0 };
        var columns = new List<int>();
        for (var r = 0; r < 1500; r++)
        {
            for (var c = 0; c < 1400 && r % 97 != 0; c++)
            {
                if (random.NextDouble() < 0.55)
                {
                    columns.Add(c);
                }
            }

            pointers.Add(columns.Count);
        }

        var sparse = new CsrMatrix(1500, 1403, [.. pointers], [.. columns], new float[columns.Count]);
        Assert.That(sparse.NonZeroCount, Is.GreaterThan(1 << 20));
        var expectedRows = Enumerable.Range(0, sparse.Columns).Select(_ => new List<(int Row, int Entry)>()).ToArray();
        for (var r = 0; r < sparse.Rows; r++)
        {
            for (var k = (int)sparse.RowPointers[r]; k < sparse.RowPointers[r + 1]; k++)
            {
                expectedRows[sparse.ColumnIndices[k]].Add((r, k));
            }
        }

        var view = sparse.Transposed;
        for (var c = 0; c < sparse.Columns; c++)
        {
            var got = Enumerable.Range((int)view.ColumnPointers[c], (int)(view.ColumnPointers[c + 1] - view.ColumnPointers[c])).Select(k => (view.RowIndices[k], view.ValueIndices[k]));
            Assert.That(got, Is.EqualTo(expectedRows[c]), $"column {c}");
        }
    }

    [TestCase(23, 19, 0.3)]
    [TestCase(1, 40, 0.5)]
    [TestCase(40, 1, 0.5)]
    [TestCase(6, 9, 0.0)]
    public void A_matrix_transposed_in_place_is_its_transpose_and_says_where_each_entry_came_from(int rows, int columns, double density)
    {
        var m = RandomSparse.Bernoulli(rows, columns, density, ValueDistribution.Uniform(1), 8);
        var original = m.Clone();
        var expected = m.Transpose();
        var view = m.Transposed;
        var version = m.StructureVersion;
        var source = m.TransposeInPlace();
        m.Validate();
        Assert.Multiple(() =>
        {
            Assert.That((m.Rows, m.Columns), Is.EqualTo((columns, rows)));
            Assert.That(m.RowPointers, Is.EqualTo(expected.RowPointers));
            Assert.That(m.ColumnIndices, Is.EqualTo(expected.ColumnIndices));
            Assert.That(m.Values, Is.EqualTo(expected.Values));
            Assert.That(m.StructureVersion, Is.GreaterThan(version), "the structure changed");
            Assert.That(m.Transposed, Is.Not.SameAs(view), "the old view, whose arrays the matrix took, is dropped");
        });
        for (var k = 0; k < source.Length; k++)
        {
            Assert.That(m.Values[k], Is.EqualTo(original.Values[source[k]]), $"entry {k}");
        }

        m.TransposeInPlace();
        Assert.That((m.Rows, m.Columns, m.RowPointers, m.ColumnIndices, m.Values), Is.EqualTo((rows, columns, original.RowPointers, original.ColumnIndices, original.Values)), "back");
    }

    [Test]
    public void Empty_matrix_has_consistent_views()
    {
        var m = CsrMatrix.Empty(4, 6);
        m.Validate();
        Assert.Multiple(() =>
        {
            Assert.That(m.NonZeroCount, Is.Zero);
            Assert.That(m.Transposed.ColumnPointers, Is.All.Zero);
            Assert.That(m.Transpose().Rows, Is.EqualTo(6));
        });
    }
}
