using CommunityToolkit.HighPerformance.Buffers;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using nietras.SeparatedValues;

namespace Sparse.Training;

/// <summary>
/// Reads CSV through Sep's parser: comma, semicolon or tab (detected), quoted fields, a header that is
/// detected (at least two non-numeric cells, or every cell non-numeric) unless told, gzip when the name
/// ends in .gz (its length and CRC-32 checked). Rows and cells may be of any length that fits in memory;
/// numbers are parsed from the parser's spans. Every bad cell is reported as <c>file:line:column</c>,
/// where the line is the record number.
/// </summary>
public static class CsvTableReader
{
    private const int Ignored = -1;

    // Below this size a file is parsed on one thread: starting the parallel pipeline costs more than it saves.
    private const long ParallelBytes = 1 << 20;

    /// <summary>Reads a training file: every column but the label is a feature, in file order.</summary>
    /// <param name="path">The CSV file.</param>
    /// <param name="header">True or false to say whether there is a header; null to detect.</param>
    /// <param name="label">Label column as a header name or 0-based index; null for the last column.</param>
    /// <param name="report">Receives a line about throughput.</param>
    /// <exception cref="DataFormatException">The file is missing, empty, ragged, damaged, has a cell that is not
    /// a finite number, an empty label or duplicate column names; the message names file, line and column.</exception>
    public static CsvTable Read(string path, bool? header, string? label, Action<string>? report = null) =>
        ReadTraining(path, header, label, report, parallel: true) ?? ReadTraining(path, header, label, null, parallel: false)!;

    /// <summary>
    /// Reads a file for a trained model: with a header, columns are matched to <paramref name="schema"/>'s
    /// features and label by name, in any order (extra columns ignored, reported through
    /// <paramref name="report"/>); without one, only a file of exactly the model's features (and the label
    /// at its training position) is accepted. The table's features are in the model's order.
    /// </summary>
    /// <exception cref="DataFormatException">A feature or (when <paramref name="requireLabel"/>) the label is
    /// missing, a header-less file has another column count, or the file is malformed.</exception>
    public static CsvTable Read(string path, TabularSchema schema, bool? header, bool requireLabel, Action<string>? report = null) =>
        ReadForSchema(path, schema, header, requireLabel, report, parallel: true) ?? ReadForSchema(path, schema, header, requireLabel, null, parallel: false)!;

    private static CsvTable? ReadTraining(string path, bool? header, string? label, Action<string>? report, bool parallel)
    {
        using var source = CsvSource.Open(path);
        var first = source.First;
        var columns = first.Length;
        var hasHeader = header ?? LooksLikeHeader(first);
        var names = hasHeader ? HeaderNames(path, first) : [.. Enumerable.Range(1, columns).Select(c => $"column{c}")];
        var labelColumn = ResolveLabel(path, label, names, hasHeader, columns);
        if (columns < 2)
        {
            throw new DataFormatException($"{path}: need at least one feature column besides the label, found {columns} column(s).");
        }

        var map = new int[columns];
        var slot = 0;
        for (var c = 0; c < columns; c++)
        {
            map[c] = c == labelColumn ? Ignored : slot++;
        }

        var featureNames = names.Where((_, c) => c != labelColumn).ToArray();
        return source.ReadRows(hasHeader, map, featureNames, labelColumn, names, report, parallel);
    }

    private static CsvTable? ReadForSchema(string path, TabularSchema schema, bool? header, bool requireLabel, Action<string>? report, bool parallel)
    {
        ArgumentNullException.ThrowIfNull(schema);
        using var source = CsvSource.Open(path);
        var first = source.First;
        var columns = first.Length;
        var features = schema.FeatureNames.Count;
        var hasHeader = header ?? (first.Any(c => c == schema.LabelName || schema.FeatureIndex(c) >= 0) || LooksLikeHeader(first));
        var map = new int[columns];
        var labelColumn = -1;
        string[] names;
        if (hasHeader)
        {
            names = HeaderNames(path, first);
            var found = new bool[features];
            var extra = new List<string>();
            for (var c = 0; c < columns; c++)
            {
                var index = schema.FeatureIndex(names[c]);
                map[c] = index;
                if (index >= 0)
                {
                    found[index] = true;
                }
                else if (names[c] == schema.LabelName)
                {
                    labelColumn = c;
                }
                else
                {
                    extra.Add(names[c]);
                }
            }

            var missing = schema.FeatureNames.Where((_, f) => !found[f]).ToArray();
            if (missing.Length > 0)
            {
                throw new DataFormatException($"{path}: missing {(missing.Length == 1 ? "the feature column" : $"{missing.Length} feature columns")} " +
                    $"the model was trained with: {Names(missing)}.");
            }

            if (extra.Count > 0)
            {
                report?.Invoke($"{path}: ignoring {extra.Count} column(s) the model does not use: {Names(extra)}");
            }
        }
        else
        {
            names = [.. Enumerable.Range(1, columns).Select(c => $"column{c}")];
            var withLabel = features + 1;
            if (columns == withLabel && schema.LabelIndex is >= 0 and var position && position < columns)
            {
                labelColumn = position;
            }
            else if (columns != features)
            {
                throw new DataFormatException($"{path}: has no header line and {columns} columns; the model takes {features} features" +
                    $"{(schema.LabelIndex >= 0 ? $" (and the label '{schema.LabelName}' as column {schema.LabelIndex + 1})" : string.Empty)}, " +
                    "so its columns cannot be matched. Add the header line the model was trained with.");
            }

            var slot = 0;
            for (var c = 0; c < columns; c++)
            {
                map[c] = c == labelColumn ? Ignored : slot++;
            }
        }

        if (requireLabel && labelColumn < 0)
        {
            throw new DataFormatException(hasHeader
                ? $"{path}: has no label column '{schema.LabelName}'."
                : $"{path}: has {columns} columns, the model's {features} features and no label column.");
        }

        return source.ReadRows(hasHeader, map, [.. schema.FeatureNames], labelColumn, names, report, parallel);
    }

    // A data row has at most one text cell (a text label); a header row has names.
    private static bool LooksLikeHeader(string[] cells)
    {
        var text = cells.Count(c => !CsvNumber.IsNumber(c));
        return text >= 2 || text == cells.Length;
    }

    private static string[] HeaderNames(string path, string[] cells)
    {
        var names = new string[cells.Length];
        var seen = new Dictionary<string, int>(cells.Length, StringComparer.Ordinal);
        for (var c = 0; c < cells.Length; c++)
        {
            var name = cells[c].Trim();
            names[c] = name.Length == 0 ? $"column{c + 1}" : name;
            if (!seen.TryAdd(names[c], c))
            {
                throw new DataFormatException($"{path}:1:{c + 1}: column name '{Shorten(names[c])}' also names column {seen[names[c]] + 1}; " +
                    "columns are matched by name, so names must be unique.");
            }
        }

        return names;
    }

    private static int ResolveLabel(string path, string? label, string[] names, bool hasHeader, int columns)
    {
        if (label is null)
        {
            return columns - 1;
        }

        if (int.TryParse(label, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var index) && Array.IndexOf(names, label) < 0)
        {
            if (index >= columns)
            {
                throw new DataFormatException($"{path}: label column {index} does not exist (columns are 0 to {columns - 1}).");
            }

            return index;
        }

        var named = Array.IndexOf(names, label);
        if (!hasHeader || named < 0)
        {
            throw new DataFormatException(hasHeader
                ? $"{path}: no column is named '{label}' (columns: {Names(names)})."
                : $"{path}: no header line, so the label column can only be given by index, not as '{label}'.");
        }

        return named;
    }

    private static string Names(IReadOnlyCollection<string> names) =>
        string.Join(", ", names.Take(10).Select(n => $"'{Shorten(n)}'")) + (names.Count > 10 ? $" and {names.Count - 10} more" : string.Empty);

    internal static string Shorten(ReadOnlySpan<char> cell) => cell.Length <= 40 ? cell.ToString() : string.Concat(cell[..37], "...");

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

                if (parallel && _bytes >= ParallelBytes)
                {
                    // Rows parse on all cores into pooled buffers and come back in file order. The parallel rows do
                    // not know their line numbers, so a bad row sends the caller back to read the file in order.
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

    /// <summary>Parses a row's cells into its feature slot; safe to call from several threads at once.</summary>
    private sealed class RowParser(string path, int[] map, int labelColumn, string[] names)
    {
        /// <summary>A row from the reader.</summary>
        public RowOutcome Parse(SepReader.Row row, Span<float> destination)
        {
            // Sep reports the first row's line as 2; every later row (read in order) starts where it says.
            var line = row.RowIndex == 0 ? 1 : row.LineNumberFrom;
            return Parse(new SepCells(row), line, row.LineNumberToExcl - line, destination);
        }

        /// <summary>The first row, read as text before the header was decided.</summary>
        public RowOutcome Parse(string[] cells, int line, int lines, Span<float> destination) => Parse(new TextCells(cells), line, lines, destination);

        // Fully optimised from the first call: a file is read once, so tiered compilation would parse most of it
        // with unoptimised code (docs/performance.md, "Reading CSV").
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private RowOutcome Parse<TCells>(TCells cells, int line, int lines, Span<float> destination)
            where TCells : ICells, allows ref struct
        {
            if (cells.Count == 1 && map.Length > 1 && cells[0].IsWhiteSpace())
            {
                return RowOutcome.BlankLine;
            }

            if (cells.Count != map.Length)
            {
                return Ragged(cells.Count, line, lines);
            }

            string? label = null;
            for (var c = 0; c < map.Length; c++)
            {
                var slot = map[c];
                if (slot >= 0)
                {
                    var cell = cells[c];
                    if (!CsvNumber.TryParse(cell, out destination[slot]) || !float.IsFinite(destination[slot]))
                    {
                        return Bad(cell, c, line, lines);
                    }
                }
                else if (c == labelColumn)
                {
                    var cell = cells[c].Trim();
                    if (cell.IsEmpty)
                    {
                        return new RowOutcome(null, $"{path}:{line}:{c + 1}: missing label in column '{Shorten(names[c])}'.");
                    }

                    label = cell.ToString();
                }
            }

            return new RowOutcome(label, null);
        }

        private RowOutcome Ragged(int fields, int line, int lines) =>
            new(null, $"{path}:{line}: ragged row: {fields} fields, expected {map.Length} like line 1{Spanning(line, lines)}.");

        private RowOutcome Bad(ReadOnlySpan<char> cell, int column, int line, int lines)
        {
            if (cell.IsWhiteSpace())
            {
                return new(null, $"{path}:{line}:{column + 1}: column '{Shorten(names[column])}' is empty; missing values are not supported, so fill or drop them{Spanning(line, lines)}.");
            }

            var what = CsvNumber.TryParse(cell, out _) ? "is NaN, infinite or beyond the float range" : "is not a number";
            return new(null, $"{path}:{line}:{column + 1}: '{Shorten(cell)}' in column '{Shorten(names[column])}' {what}{Spanning(line, lines)}.");
        }

        // A row over several lines is a quoted field with line breaks, most often a quote that was never closed.
        private static string Spanning(int line, int lines) =>
            lines > 1 ? $" (the row runs over lines {line} to {line + lines - 1}: is a quote not closed?)" : string.Empty;
    }

    /// <summary>
    /// Feature rows by index: one array sized by the line bound when it is known (rows written in parallel),
    /// else chunks filled in order, so reading never holds more than the final array and one copy of it.
    /// </summary>
    private sealed class FeatureStore
    {
        private readonly string _path;
        private readonly int _features;
        private readonly List<float[]> _chunks = [];
        private readonly long _rowsPerChunk;

        public FeatureStore(string path, int features, long rowBound)
        {
            _path = path;
            _features = features;
            var maxRows = Array.MaxLength / features;
            if (rowBound > maxRows)
            {
                // Lines are an upper bound; chunks grow only as far as the rows really go.
                rowBound = -1;
            }

            _rowsPerChunk = rowBound > 0 ? rowBound : Math.Max(1, Math.Min(maxRows, (1 << 20) / features));
            if (rowBound > 0)
            {
                // Allocated before the parallel rows write into it: Row must not add chunks from several threads.
                _chunks.Add(GC.AllocateUninitializedArray<float>((int)(rowBound * features)));
            }
        }

        public Span<float> Row(long row)
        {
            var chunk = (int)(row / _rowsPerChunk);
            while (chunk >= _chunks.Count)
            {
                if ((_chunks.Count + 1) * _rowsPerChunk * _features > Array.MaxLength)
                {
                    throw new DataFormatException($"{_path}: more than {Array.MaxLength:N0} feature values; split the file.");
                }

                _chunks.Add(GC.AllocateUninitializedArray<float>((int)(_rowsPerChunk * _features)));
            }

            return _chunks[chunk].AsSpan((int)(row % _rowsPerChunk * _features), _features);
        }

        public float[] ToArray(long rows)
        {
            var length = rows * _features;
            if (_chunks.Count == 1 && _chunks[0].Length == length)
            {
                return _chunks[0];
            }

            var result = GC.AllocateUninitializedArray<float>((int)length);
            var offset = 0L;
            for (var n = 0; n < _chunks.Count && offset < length; n++)
            {
                var take = (int)Math.Min(_chunks[n].Length, length - offset);
                _chunks[n].AsSpan(0, take).CopyTo(result.AsSpan((int)offset));
                offset += take;
                _chunks[n] = [];
            }

            return result;
        }
    }

    /// <summary>Label text per row; repeated labels share one string while there are few distinct ones.</summary>
    private sealed class LabelColumn
    {
        private readonly List<string> _labels = [];
        private readonly Dictionary<string, string> _distinct = new(StringComparer.Ordinal);

        public void Add(ReadOnlySpan<char> label)
        {
            var lookup = _distinct.GetAlternateLookup<ReadOnlySpan<char>>();
            if (!lookup.TryGetValue(label, out var text))
            {
                text = label.ToString();
                if (_distinct.Count < 65_536)
                {
                    _distinct[text] = text;
                }
            }

            _labels.Add(text);
        }

        public string[] ToArray() => [.. CollectionsMarshal.AsSpan(_labels)];
    }
}
