using System.Globalization;
using System.IO.Compression;
using System.Text;
using CsCheck;
using Sparse.Training;

namespace Sparse.Tests.Training;

/// <summary>
/// The svmlight / LIBSVM reader: scikit-learn's rules (comments, blank lines, the index base detected over the files
/// read together, increasing indices), labels as text, every error with file, line, column and token, the same rows
/// whether a file parses in one block or many in parallel, and hostile bytes that end in a table or a
/// <see cref="DataFormatException"/>, never another exception.
/// </summary>
[TestFixture]
public class SvmLightReadingTests
{
    private string _directory = null!;

    [SetUp]
    public void MakeDirectory() => _directory = Directory.CreateTempSubdirectory("sparse-svm-").FullName;

    [TearDown]
    public void RemoveDirectory() => Directory.Delete(_directory, recursive: true);

    private string WriteFile(string name, string text) => WriteFile(name, Encoding.UTF8.GetBytes(text));

    private string WriteFile(string name, byte[] bytes)
    {
        var path = Path.Combine(_directory, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    // Rows as (label, [(feature, value)]) in zero-based features, from a table.
    private static List<(string Label, (int, float)[] Values)> Rows(SvmLightTable table)
    {
        var rows = new List<(string, (int, float)[])>();
        var m = table.Features;
        for (var r = 0; r < m.Rows; r++)
        {
            var values = new (int, float)[m.RowLength(r)];
            for (var k = 0; k < values.Length; k++)
            {
                var at = (int)m.RowPointers[r] + k;
                values[k] = (m.ColumnIndices[at], m.Values[at]);
            }

            rows.Add((table.Labels[r], values));
        }

        return rows;
    }

    [Test]
    public void Comments_blank_lines_and_whitespace_are_read_as_scikit_learn_reads_them()
    {
        var path = WriteFile("a.svm", "# a header comment\n1 1:0.5 3:2 # trailing\r\n\n  \t\n-1\t2:1e-1  4:-3\n+1 1:0 4:7\nham\n");
        var table = SvmLightReader.Read(path);
        Assert.That(table.OneBased, Is.True, "no index 0: one-based");
        Assert.That(table.FeatureCount, Is.EqualTo(4));
        Assert.That(Rows(table), Is.EqualTo(new List<(string, (int, float)[])>
        {
            ("1", [(0, 0.5f), (2, 2f)]),
            ("-1", [(1, 0.1f), (3, -3f)]),
            ("+1", [(3, 7f)]),
            ("ham", []),
        }));
        Assert.That(table.ClassNames(), Is.EqualTo(new[] { "+1", "-1", "1", "ham" }), "text labels: ordinal");
    }

    [Test]
    public void An_index_0_makes_the_file_zero_based_and_files_read_together_share_base_and_width()
    {
        var zero = SvmLightReader.Read(WriteFile("z.svm", "1 0:1 5:2\n"));
        Assert.That((zero.OneBased, zero.FeatureCount), Is.EqualTo((false, 6)));

        // scikit-learn decides over all files: the test file's index 0 makes both zero-based.
        var both = SvmLightReader.Read([WriteFile("train.svm", "1 1:1 9:1\n0 2:1\n"), WriteFile("test.svm", "1 0:3\n")]);
        Assert.That(both.Select(t => (t.OneBased, t.FeatureCount)), Is.EqualTo(new[] { (false, 10), (false, 10) }));
        Assert.That(Rows(both[1])[0].Values, Is.EqualTo(new[] { (0, 3f) }));

        // An explicit zero still counts for the base and the width.
        var explicitZero = SvmLightReader.Read(WriteFile("e.svm", "1 0:0 2:1 7:0\n"));
        Assert.That((explicitZero.OneBased, explicitZero.FeatureCount, explicitZero.Features.NonZeroCount), Is.EqualTo((false, 8, 1L)));

        // A test file of fewer columns lines up with its training file through the feature count.
        var narrow = SvmLightReader.Read(WriteFile("n.svm", "1 2:1\n"), new SvmLightOptions { FeatureCount = 100, ZeroBased = false });
        Assert.That((narrow.FeatureCount, Rows(narrow)[0].Values[0]), Is.EqualTo((100, (1, 1f))));
    }

    [TestCase("1 3:1 2:1\n", "u.svm:1:7: '2:1': index 2 after 3; the indices of a line must increase")]
    [TestCase("1 2:1\n1 2:1 2:5\n", "u.svm:2:7: '2:5': index 2 after 2")]
    [TestCase("1 qid:3 1:1\n", "u.svm:1:3: 'qid:3': query ids (qid:, for ranking) are not supported")]
    [TestCase("1,2 1:1\n", "u.svm:1:1: '1,2': multi-label lines")]
    [TestCase("\n\n  1:1 2:2\n", "u.svm:3:3: '1:1' stands where the label should")]
    [TestCase("1 1:x\n", "u.svm:1:3: '1:x': the value 'x' is not a finite number")]
    [TestCase("1 1:1e39\n", "u.svm:1:3: '1:1e39': the value '1e39' is not a finite number")]
    [TestCase("1 1:nan\n", "is not a finite number")]
    [TestCase("1 -1:2\n", "u.svm:1:3: '-1:2': the index '-1' is not a whole number")]
    [TestCase("1 99999999999:2\n", "the index '99999999999' is not a whole number from 0 to 2147483646")]
    [TestCase("1 1:2 3\n", "u.svm:1:7: '3' is not an index:value pair")]
    [TestCase("1 :2\n", "u.svm:1:3: ':2' is not an index:value pair")]
    [TestCase("", "u.svm: the file is empty")]
    [TestCase("# only\n\n", "u.svm: no data lines (only blank lines and comments)")]
    public void Malformed_files_are_named_with_line_column_and_token(string text, string message)
    {
        var path = WriteFile("u.svm", text);
        var error = Assert.Throws<DataFormatException>(() => SvmLightReader.Read(path));
        Assert.That(error!.Message, Does.Contain(message));
    }

    [Test]
    public void Index_errors_that_need_every_file_name_the_line_of_the_index()
    {
        var zeroInOneBased = WriteFile("o.svm", "1 1:1\n1 0:2\n");
        Assert.That(Assert.Throws<DataFormatException>(() => SvmLightReader.Read(zeroInOneBased, new SvmLightOptions { ZeroBased = false }))!.Message,
            Does.Contain("o.svm:2:3: '0:2': index 0 in a file read as one-based; say --zero-based"));

        var wide = WriteFile("w.svm", "1 1:1\n1 2:1 40:2\n1 3:1\n");
        Assert.That(Assert.Throws<DataFormatException>(() => SvmLightReader.Read(wide, new SvmLightOptions { FeatureCount = 10 }))!.Message,
            Does.Contain("w.svm:2:7: index 40 is feature 40 (one-based), beyond the 10 features given"));
    }

    [Test]
    public void Large_files_parse_in_parallel_blocks_to_the_rows_of_a_plain_reading()
    {
        // About 6 MB: several 1 MiB blocks, one line longer than a block, labels of both kinds and blank lines.
        var random = new Random(5);
        var expected = new List<(string, (int, float)[])>();
        var width = 0;
        var text = new StringBuilder();
        for (var n = 0; n < 40_000; n++)
        {
            var count = n == 20_000 ? 120_000 : random.Next(0, 30);
            var features = new SortedSet<int>();
            while (features.Count < count)
            {
                features.Add(random.Next(1, 200_001));
            }

            var label = n % 7 == 0 ? "spam" : (n % 3).ToString(CultureInfo.InvariantCulture);
            var values = features.Select(f => (f - 1, (float)Math.Round(random.NextDouble() * 10 - 5, 3))).ToArray();
            text.Append(label);
            foreach (var (f, v) in values)
            {
                text.Append(' ').Append(f + 1).Append(':').Append(v.ToString("R", CultureInfo.InvariantCulture));
            }

            text.Append(n % 1000 == 0 ? "\n\n" : "\n");
            expected.Add((label, [.. values.Where(p => p.Item2 != 0)]));
            width = Math.Max(width, features.Count == 0 ? 0 : features.Max);
        }

        var bytes = Encoding.UTF8.GetBytes(text.ToString());
        Assert.That(bytes.Length, Is.GreaterThan(4 << 20));
        var table = SvmLightReader.Read(WriteFile("big.svm", bytes));
        Assert.That(Rows(table), Is.EqualTo(expected));
        Assert.That(table.FeatureCount, Is.EqualTo(width));

        // gzip: the same rows.
        using (var file = File.Create(Path.Combine(_directory, "big.svm.gz")))
        using (var gzip = new GZipStream(file, CompressionLevel.Fastest))
        {
            gzip.Write(bytes);
        }

        Assert.That(Rows(SvmLightReader.Read(Path.Combine(_directory, "big.svm.gz"))), Is.EqualTo(expected));

        // An error in a late block names its line in the whole file.
        var broken = text.ToString().Split('\n');
        broken[30_500] = "1 5:1 3:1";
        var error = Assert.Throws<DataFormatException>(() => SvmLightReader.Read(WriteFile("late.svm", string.Join('\n', broken))));
        Assert.That(error!.Message, Does.StartWith(Path.Combine(_directory, "late.svm") + ":30501:7: '3:1': index 3 after 5"));
    }

    [Test]
    public void A_damaged_gzip_file_is_an_error_that_names_it()
    {
        var path = Path.Combine(_directory, "d.svm.gz");
        using (var file = File.Create(path))
        using (var gzip = new GZipStream(file, CompressionLevel.Fastest))
        {
            gzip.Write(Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("1 1:1 2:2\n", 5000))));
        }

        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length - 20)]);
        Assert.That(Assert.Throws<DataFormatException>(() => SvmLightReader.Read(path))!.Message, Does.StartWith(path + ":"));
    }

    [Test]
    public void Hostile_bytes_end_in_a_table_or_a_data_format_error()
    {
        var alphabet = "0123456789 :\t\r\n#.-+eE,qidxnaNI\u00e9\0"u8.ToArray();
        Gen.Select(Gen.Int[0, 400], Gen.Int[0, int.MaxValue]).Sample((length, seed) =>
        {
            var random = new Random(seed);
            var bytes = new byte[length];
            for (var n = 0; n < length; n++)
            {
                bytes[n] = random.Next(8) == 0 ? (byte)random.Next(256) : alphabet[random.Next(alphabet.Length)];
            }

            var path = WriteFile("f.svm", bytes);
            try
            {
                var table = SvmLightReader.Read(path, new SvmLightOptions { ZeroBased = random.Next(3) switch { 0 => true, 1 => false, _ => null } });
                table.Features.Validate();
                return table.Rows > 0 && table.Labels.Length == table.Rows;
            }
            catch (DataFormatException e)
            {
                return e.Message.StartsWith(path + ":", StringComparison.Ordinal);
            }
        }, iter: 3_000);
    }
}
