namespace Sparse.Training;

/// <summary>
/// Reads CSV through Sep's parser: comma, semicolon or tab (detected), quoted fields, a header that is
/// detected (at least two non-numeric cells, or every cell non-numeric) unless told, gzip when the name
/// ends in .gz (its length and CRC-32 checked). Rows and cells may be of any length that fits in memory;
/// numbers are parsed from the parser's spans. Every bad cell is reported as <c>file:line:column</c>,
/// where the line is the record number.
/// </summary>
public static partial class CsvTableReader
{
    private const int Ignored = -1;

    // Below this size a file is parsed on one thread: starting the parallel pipeline costs more than it saves.
    private const long ParallelBytes = 1 << 20;

    // Rows of more cells than this are read on one thread (see ReadRows): Sparse.Bench csv on 2,000 x 10,000 cells read
    // at 354 MB/s in parallel with a 308 MB peak and at 320 MB/s in order with a 200 MB peak.
    private const int ParallelMaxColumns = 8192;

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
}
