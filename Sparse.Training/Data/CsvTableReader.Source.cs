using CommunityToolkit.HighPerformance.Buffers;
using System.Diagnostics;
using nietras.SeparatedValues;

namespace Sparse.Training;

// The open file: Sep's reader, the record count bound, and every row's cells.
public static partial class CsvTableReader
{
    /// <summary>An open CSV file positioned after its first record.</summary>
    private sealed class CsvSource : IDisposable
    {
        private readonly string _path;
        private readonly Stopwatch _watch;
        private readonly SepReader _reader;
        private readonly long _lineBound;
        private readonly long _bytes;

        private CsvSource(string path, Stopwatch watch, SepReader reader, long lineBound, long bytes, string[] first)
        {
            (_bytes, _path, _watch, _reader, _lineBound, First) = (bytes, path, watch, reader, lineBound, first);
        }

        public string[] First { get; }

        public static CsvSource Open(string path)
        {
            if (Directory.Exists(path))
            {
                throw new DataFormatException($"{path}: is a directory, not a CSV file.");
            }

            if (!File.Exists(path))
            {
                throw new DataFormatException($"{path}: no such file.");
            }

            var watch = Stopwatch.StartNew();
            var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
            Stream stream = file;
            SepReader? reader = null;
            try
            {
                var lineBound = -1L;
                if (path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase))
                {
                    stream = CheckedGZipStream.Open(path, file);
                }
                else
                {
                    lineBound = CountLines(file);
                }

                reader = Sep.Reader(o => o with { HasHeader = false, Unescape = true, DisableColCountCheck = true }).From(stream);
                if (!reader.MoveNext())
                {
                    throw new DataFormatException($"{path}: the file is empty.");
                }

                var row = reader.Current;
                var first = new string[row.ColCount];
                for (var c = 0; c < first.Length; c++)
                {
                    first[c] = row[c].ToString();
                }

                if (first is [""])
                {
                    throw new DataFormatException($"{path}:1: the first line is empty.");
                }

                return new CsvSource(path, watch, reader, lineBound, file.Length, first);
            }
            catch (Exception e) when (e is not DataFormatException)
            {
                reader?.Dispose();
                stream.Dispose();
                throw Wrap(path, e);
            }
            catch
            {
                reader?.Dispose();
                stream.Dispose();
                throw;
            }
        }

        public void Dispose() => _reader.Dispose();

        /// <summary>
        /// Reads every data row: column <c>c</c> goes to feature <c>map[c]</c> (or nowhere when negative), the
        /// label column's text to the labels. With <paramref name="parallel"/>, rows of a file of 1 MiB or more are
        /// parsed on all cores, and null is returned at the first bad row (read the file again without
        /// <paramref name="parallel"/> for the message with its line). A plain file's rows go into one array sized by
        /// its line count; a gzip file's into chunks, copied into one array at the end.
        /// </summary>
        public CsvTable? ReadRows(bool hasHeader, int[] map, string[] featureNames, int labelColumn, string[] names, Action<string>? report, bool parallel)
        {
            var features = featureNames.Length;
            var firstDataLine = hasHeader ? 2 : 1;

            // Row indices count from the first line; data row r goes to slot r - skip.
            var skip = hasHeader ? 1 : 0;
            var bound = _lineBound < 0 ? -1 : _lineBound - skip;
            var store = new FeatureStore(_path, features, bound);
            var labels = labelColumn >= 0 ? new LabelColumn() : null;
            var parser = new RowParser(_path, map, labelColumn, names);
            long rows = 0;
            try
            {
                if (!hasHeader)
                {
                    Collect(parser.Parse(First, 1, 1, store.Row(0)), labels);
                    rows = 1;
                }

                if (parallel && _bytes >= ParallelBytes && First.Length <= ParallelMaxColumns)
                {
                    // Rows parse on all cores into pooled buffers and come back in file order. The parallel rows do
                    // not know their line numbers, so a bad row sends the caller back to read the file in order.
                    // Wide rows read in order: the parallel reader holds batches of row text in flight, which for
                    // 100,000 columns tripled the peak (1.1 GB against 0.37 GB for 300 rows) and read slower.
                    var outcomes = _reader.ParallelEnumerate(row =>
                    {
                        // Pooled: allocated on a worker, disposed by this thread once copied.
                        var buffer = MemoryOwner<float>.Allocate(features);
                        return (Outcome: parser.Parse(row, buffer.Span), Buffer: buffer);
                    });
                    foreach (var (outcome, buffer) in outcomes)
                    {
                        using (buffer)
                        {
                            if (outcome.Error is not null || (bound >= 0 && rows >= bound))
                            {
                                return null;
                            }

                            if (Collect(outcome, labels))
                            {
                                buffer.Span.CopyTo(store.Row(rows));
                                rows++;
                            }
                        }
                    }
                }
                else
                {
                    foreach (var row in _reader)
                    {
                        // A blank line leaves its slot to the next row.
                        if (Collect(parser.Parse(row, store.Row(rows)), labels))
                        {
                            rows++;
                        }
                    }
                }
            }
            catch (Exception e) when (e is not DataFormatException)
            {
                throw Wrap(_path, e);
            }

            if (rows == 0)
            {
                throw new DataFormatException($"{_path}: no data rows after the header.");
            }

            var table = new CsvTable(_path, store.ToArray(rows), featureNames, labelColumn >= 0 ? names[labelColumn] : null, labels?.ToArray(), firstDataLine, labelColumn);
            var seconds = Math.Max(1e-9, _watch.Elapsed.TotalSeconds);
            report?.Invoke($"read {rows:N0} rows of {features:N0} features from {_path} in {seconds:F2} s ({rows / seconds:N0} rows/s)");
            return table;
        }

        // Whether the outcome is a data row (blank lines are skipped).
        private static bool Collect(RowOutcome outcome, LabelColumn? labels)
        {
            if (outcome.Error is { } error)
            {
                throw new DataFormatException(error);
            }

            if (outcome.Blank)
            {
                return false;
            }

            labels?.Add(outcome.Label!);
            return true;
        }

        // Exceptions from the parser, the gzip stream or the parallel enumeration, with the file named.
        private static Exception Wrap(string path, Exception e)
        {
            var inner = e is AggregateException { InnerExceptions: [var only] } ? only : e;
            return inner switch
            {
                DataFormatException d => d,
                IOException or UnauthorizedAccessException => new DataFormatException($"{path}: cannot be read ({inner.Message})"),
                OutOfMemoryException => new DataFormatException($"{path}: does not fit in memory ({inner.Message})"),
                _ when inner.GetType().Namespace == typeof(Sep).Namespace || inner is InvalidDataException or ArgumentException or NotSupportedException
                    => new DataFormatException($"{path}: not valid CSV ({inner.Message})"),
                _ => inner,
            };
        }

        // An upper bound on the records of a plain file (every record but the last ends in a newline, or a
        // carriage return in files that have no newline), so the features go into one array without a copy.
        private static long CountLines(FileStream file)
        {
            var buffer = new byte[1 << 20];
            long newlines = 0, returns = 0;
            var last = (byte)'\n';
            int read;
            while ((read = file.Read(buffer)) > 0)
            {
                var span = buffer.AsSpan(0, read);
                newlines += span.Count((byte)'\n');
                if (newlines == 0)
                {
                    returns += span.Count((byte)'\r');
                }

                last = span[^1];
            }

            file.Seek(0, SeekOrigin.Begin);
            var lines = newlines > 0 ? newlines : returns;
            return lines + (last is (byte)'\n' or (byte)'\r' ? 0 : 1);
        }
    }

    /// <summary>A data row's result: its label text, or the message of its first bad cell.</summary>
    private readonly record struct RowOutcome(string? Label, string? Error, bool Blank = false)
    {
        public static RowOutcome BlankLine => new(null, null, true);
    }

    /// <summary>The cells of one row, whether the reader's or the first row's text.</summary>
    private interface ICells
    {
        int Count { get; }

        ReadOnlySpan<char> this[int column] { get; }
    }

    private readonly ref struct SepCells(SepReader.Row row) : ICells
    {
        private readonly SepReader.Row _row = row;

        public int Count => _row.ColCount;

        public ReadOnlySpan<char> this[int column] => _row[column].Span;
    }

    private readonly struct TextCells(string[] cells) : ICells
    {
        public int Count => cells.Length;

        public ReadOnlySpan<char> this[int column] => cells[column];
    }
}
