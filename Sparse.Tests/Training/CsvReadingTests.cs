using System.Globalization;
using System.IO.Compression;
using System.Text;
using CsCheck;
using Sparse.Training;

namespace Sparse.Tests.Training;

/// <summary>
/// The CSV reader on hostile input. The property tests use CsCheck: its generators shrink a failing input to a
/// small one, and a seed printed on failure replays it, which is what a fuzz test needs in CI.
/// </summary>
[TestFixture]
public class CsvReadingTests
{
    private string _directory = null!;

    [SetUp]
    public void MakeDirectory() => _directory = Directory.CreateTempSubdirectory("sparse-csv-").FullName;

    [TearDown]
    public void RemoveDirectory() => Directory.Delete(_directory, recursive: true);

    private string WriteFile(string name, string text)
    {
        var path = Path.Combine(_directory, name);
        File.WriteAllText(path, text);
        return path;
    }

    private static readonly Gen<string> NumberText = Gen.OneOf(
        Gen.Float.Select(f => f.ToString("R", CultureInfo.InvariantCulture)),
        Gen.Int[-20_000_000, 20_000_000].Select(i => i.ToString(CultureInfo.InvariantCulture)),
        Gen.Select(Gen.Int[-99_999_999, 99_999_999], Gen.Int[0, 12], (m, d) => (m / Math.Pow(10, d)).ToString("F" + d, CultureInfo.InvariantCulture)),
        Gen.String[Gen.Char["0123456789.-+eE \tNaInfity,x"], 0, 14]);

    [Test]
    public void Cells_parse_exactly_as_float_TryParse_does_from_utf16_and_utf8()
    {
        NumberText.Sample(text =>
        {
            var expected = float.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var e);
            var actual = CsvNumber.TryParse(text, out var a);
            var utf8 = CsvNumber.TryParse(Encoding.UTF8.GetBytes(text), out var u);
            return actual == expected && utf8 == expected &&
                (!expected || (BitConverter.SingleToInt32Bits(a) == BitConverter.SingleToInt32Bits(e) && BitConverter.SingleToInt32Bits(u) == BitConverter.SingleToInt32Bits(e)));
        }, iter: 200_000);
    }

    [TestCase("16777216", 16777216f)]
    [TestCase("16777217", 16777216f)]
    [TestCase("0.1", 0.1f)]
    [TestCase("-0", -0f)]
    [TestCase("1.0000000001", 1f)]
    [TestCase(".5", 0.5f)]
    [TestCase("5.", 5f)]
    public void Edge_numbers_parse_like_the_framework(string text, float expected)
    {
        Assert.That(CsvNumber.TryParse(text, out var value), Is.True);
        Assert.That(BitConverter.SingleToInt32Bits(value), Is.EqualTo(BitConverter.SingleToInt32Bits(expected)));
    }

    [Test]
    public void A_table_of_100000_columns_is_read()
    {
        const int columns = 100_000;
        var text = new StringBuilder();
        text.AppendLine(string.Join(",", Enumerable.Range(0, columns).Select(c => $"f{c}")) + ",label");
        for (var r = 0; r < 3; r++)
        {
            text.AppendLine(string.Join(",", Enumerable.Range(0, columns).Select(c => ((c + r) % 10).ToString(CultureInfo.InvariantCulture))) + $",{r % 2}");
        }

        var table = CsvTableReader.Read(WriteFile("wide.csv", text.ToString()), null, null);
        Assert.Multiple(() =>
        {
            Assert.That(table.Rows, Is.EqualTo(3));
            Assert.That(table.FeatureNames, Has.Length.EqualTo(columns));
            Assert.That(table.Features[(2 * columns) + 99_999], Is.EqualTo((99_999 + 2) % 10));
            Assert.That(table.Labels, Is.EqualTo(new[] { "0", "1", "0" }));
        });
    }

    [Test]
    public void A_5_MB_cell_is_read()
    {
        var big = new string('x', 5_000_000);
        var table = CsvTableReader.Read(WriteFile("big.csv", $"a,b,label\n1,2,\"{big}\"\n3,4,small\n"), null, null);
        Assert.That(table.Labels![0], Has.Length.EqualTo(5_000_000));
        Assert.That(table.Features, Is.EqualTo(new float[] { 1, 2, 3, 4 }));
    }

    [Test]
    public void Quoted_cells_may_hold_delimiters_quotes_and_line_breaks()
    {
        var table = CsvTableReader.Read(WriteFile("q.csv", "a,b,label\n1,\"2\",\"x, \"\"y\"\"\nz\"\n3,4,w\n"), null, null);
        Assert.That(table.Labels, Is.EqualTo(new[] { "x, \"y\"\nz", "w" }));
        Assert.That(table.Features, Is.EqualTo(new float[] { 1, 2, 3, 4 }));
    }

    [TestCase("a,b,c\n1,\"2\n3,4,5\n", "is a quote not closed?")]
    [TestCase("a,b,c\n1,2,3\n4,5\n", "u.csv:3: ragged row: 2 fields, expected 3")]
    [TestCase("a,b,c\n1,2,3\n4,1e39,0\n", "u.csv:3:2: '1e39' in column 'b' is NaN, infinite or beyond the float range")]
    [TestCase("a,a,c\n1,2,3\n", "u.csv:1:2: column name 'a' also names column 1")]
    [TestCase("a,b,c\n1,,3\n", "u.csv:2:2: column 'b' is empty; missing values are not supported")]
    [TestCase("", "u.csv: the file is empty")]
    [TestCase("a,b,c\n", "u.csv: no data rows after the header")]
    public void Malformed_files_are_named_with_line_and_column(string text, string message)
    {
        var path = WriteFile("u.csv", text);
        var error = Assert.Throws<DataFormatException>(() => CsvTableReader.Read(path, null, null));
        Assert.That(error!.Message, Does.Contain(message));
    }

    [Test]
    public void Blank_lines_are_skipped_in_small_and_large_files()
    {
        var small = CsvTableReader.Read(WriteFile("b.csv", "a,b,c\n\n1,2,3\n   \n4,5,6\n\n\n"), null, null);
        Assert.That(small.Features, Is.EqualTo(new float[] { 1, 2, 4, 5 }));
        Assert.That(small.Labels, Is.EqualTo(new[] { "3", "6" }));

        // Large enough to be parsed in parallel.
        var text = new StringBuilder("a,b,label\n");
        for (var n = 0; n < 100_000; n++)
        {
            text.Append(n).Append(",1,").Append(n % 3).Append(n % 1000 == 0 ? "\n\n" : "\n");
        }

        var large = CsvTableReader.Read(WriteFile("l.csv", text.ToString()), null, null);
        Assert.That(large.Rows, Is.EqualTo(100_000));
        Assert.That(large.Features[2 * 99_999], Is.EqualTo(99_999));
    }

    [Test]
    public void A_bad_cell_in_a_large_file_is_named_with_its_line()
    {
        var text = new StringBuilder("a,b,label\n");
        for (var n = 0; n < 100_000; n++)
        {
            text.Append(n == 77_777 ? "oops" : n.ToString(CultureInfo.InvariantCulture)).Append(",1,").Append(n % 3).Append('\n');
        }

        var error = Assert.Throws<DataFormatException>(() => CsvTableReader.Read(WriteFile("l.csv", text.ToString()), null, null));
        Assert.That(error!.Message, Does.Contain("l.csv:77779:1: 'oops' in column 'a' is not a number"));
    }

    [Test]
    public void A_directory_and_a_missing_file_are_told_apart()
    {
        Assert.That(Assert.Throws<DataFormatException>(() => CsvTableReader.Read(_directory, null, null))!.Message, Does.Contain("is a directory"));
        Assert.That(Assert.Throws<DataFormatException>(() => CsvTableReader.Read(Path.Combine(_directory, "none.csv"), null, null))!.Message, Does.Contain("no such file"));
    }

    [Test]
    public void Gzip_files_read_as_the_plain_file_and_damage_is_an_error_naming_the_file()
    {
        var text = "a,b,label\n" + string.Concat(Enumerable.Range(0, 2000).Select(n => $"{n * 0.5},{n % 7},{n % 3}\n"));
        var plain = CsvTableReader.Read(WriteFile("t.csv", text), null, null);
        var gz = Path.Combine(_directory, "t.csv.gz");
        using (var file = File.Create(gz))
        using (var zip = new GZipStream(file, CompressionLevel.Optimal))
        {
            zip.Write(Encoding.UTF8.GetBytes(text));
        }

        var zipped = CsvTableReader.Read(gz, null, null);
        Assert.That(zipped.Features, Is.EqualTo(plain.Features));
        Assert.That(zipped.Labels, Is.EqualTo(plain.Labels));

        var bytes = File.ReadAllBytes(gz);
        var damaged = Path.Combine(_directory, "d.csv.gz");
        var tried = 0;
        for (var cut = 1; cut < bytes.Length; cut += Math.Max(1, bytes.Length / 97))
        {
            File.WriteAllBytes(damaged, bytes[..cut]);
            var error = Assert.Throws<DataFormatException>(() => CsvTableReader.Read(damaged, null, null), $"truncated at {cut} of {bytes.Length}");
            Assert.That(error!.Message, Does.StartWith(damaged));
            tried++;
        }

        var random = new Random(3);
        for (var n = 0; n < 300; n++)
        {
            var copy = (byte[])bytes.Clone();
            copy[random.Next(10, copy.Length)] ^= (byte)(1 << random.Next(8));
            File.WriteAllBytes(damaged, copy);
            try
            {
                var read = CsvTableReader.Read(damaged, null, null);
                Assert.That(read.Features, Is.EqualTo(plain.Features), "a flipped bit that reads must read the same data");
            }
            catch (DataFormatException e)
            {
                Assert.That(e.Message, Does.StartWith(damaged));
            }
        }

        File.WriteAllText(damaged, "not gzip at all, just text");
        Assert.That(Assert.Throws<DataFormatException>(() => CsvTableReader.Read(damaged, null, null))!.Message, Does.Contain("d.csv.gz: not a gzip file"));
        Assert.That(tried, Is.GreaterThan(90));
    }

    private static readonly Gen<string> Cell = Gen.Frequency(
        (12, Gen.Int[-999, 999].Select(i => i.ToString(CultureInfo.InvariantCulture))),
        (3, NumberText),
        (1, Gen.String[Gen.Char["abc,;\t\"\r\n 019.-"], 0, 8]),
        (1, Gen.Const("")));

    private static readonly Gen<string> CsvText = Gen.Select(Gen.Int[1, 6], Gen.Int[0, 6], Gen.OneOf(Gen.Const(","), Gen.Const(";"), Gen.Const("\t")))
        .SelectMany((columns, rows, delimiter) => Cell.Array[columns].Array[rows + 1].Select(table =>
            string.Concat(table.Select(row => string.Join(delimiter, row) + "\n"))));

    [Test]
    public void Generated_csv_text_either_reads_consistently_or_raises_DataFormatException()
    {
        var path = Path.Combine(_directory, "fuzz.csv");
        long read = 0, refused = 0;
        CsvText.Sample(text =>
        {
            File.WriteAllText(path, text);
            try
            {
                var table = CsvTableReader.Read(path, null, null);
                Assert.That(table.Features, Has.Length.EqualTo(table.Rows * table.FeatureNames.Length));
                Assert.That(table.Labels, Has.Length.EqualTo(table.Rows));
                Assert.That(table.Features.All(float.IsFinite), Is.True);
                Interlocked.Increment(ref read);
            }
            catch (DataFormatException)
            {
                Interlocked.Increment(ref refused);
            }
        }, iter: 5_000, threads: 1);
        TestContext.Out.WriteLine($"generated CSV files: {read} read, {refused} refused with DataFormatException, 0 other exceptions");
        Assert.That(read, Is.GreaterThan(100), "the generator makes valid files too");
    }

    [Test]
    public void Well_formed_numeric_tables_read_back_exactly()
    {
        var path = Path.Combine(_directory, "table.csv");
        var gen = Gen.Select(Gen.Int[1, 5], Gen.Int[1, 20]).SelectMany((columns, rows) => Gen.Float[-1e6f, 1e6f].Array[columns + 1].Array[rows]);
        gen.Sample(rows =>
        {
            File.WriteAllText(path, string.Concat(rows.Select(r => string.Join(",", r.Select(v => v.ToString("R", CultureInfo.InvariantCulture))) + "\n")));
            var table = CsvTableReader.Read(path, false, null);
            var expected = rows.SelectMany(r => r[..^1]).ToArray();
            Assert.That(table.Features, Is.EqualTo(expected));
            Assert.That(table.Labels, Is.EqualTo(rows.Select(r => r[^1].ToString("R", CultureInfo.InvariantCulture)).ToArray()));
        }, iter: 2_000, threads: 1);
    }

    [Test]
    public void Columns_are_matched_to_the_schema_by_name_in_any_order()
    {
        var train = CsvTableReader.Read(WriteFile("train.csv", "kind,x,y,z\na,1,2,3\nb,4,5,6\n"), null, "kind");
        var schema = TabularSchema.Infer(train);
        Assert.That(schema.FeatureNames, Is.EqualTo(new[] { "x", "y", "z" }));
        Assert.That(schema.LabelIndex, Is.Zero);

        var shuffled = CsvTableReader.Read(WriteFile("s.csv", "z,extra,x,kind,y\n3,9,1,a,2\n6,9,4,b,5\n"), schema, null, requireLabel: true);
        Assert.That(shuffled.Features, Is.EqualTo(train.Features));
        Assert.That(shuffled.Labels, Is.EqualTo(train.Labels));

        var headerless = CsvTableReader.Read(WriteFile("h.csv", "a,1,2,3\nb,4,5,6\n"), schema, false, requireLabel: true);
        Assert.That(headerless.Features, Is.EqualTo(train.Features));

        var missing = Assert.Throws<DataFormatException>(() => CsvTableReader.Read(WriteFile("m.csv", "x,z,kind\n1,3,a\n"), schema, null, requireLabel: false));
        Assert.That(missing!.Message, Does.Contain("missing the feature column the model was trained with: 'y'"));
        var noLabel = Assert.Throws<DataFormatException>(() => CsvTableReader.Read(WriteFile("n.csv", "x,y,z\n1,2,3\n"), schema, null, requireLabel: true));
        Assert.That(noLabel!.Message, Does.Contain("has no label column 'kind'"));
    }
}
