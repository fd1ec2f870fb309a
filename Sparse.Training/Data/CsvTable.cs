using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using Sylvan.Data.Csv;

namespace Sparse.Training;

/// <summary>A CSV file read into numeric features and the raw text of an optional label column, by <see cref="CsvTableReader"/>.</summary>
/// <param name="Path">The file.</param>
/// <param name="Features">Sample-major features.</param>
/// <param name="FeatureNames">One name per feature column (from the header, or f1, f2, ...).</param>
/// <param name="LabelName">The label column's name, or null when the file has none.</param>
/// <param name="Labels">The label text of each row, or null.</param>
/// <param name="FirstDataLine">The line of the first data row (1 or 2), to name lines in later errors.</param>
public sealed record CsvTable(string Path, float[] Features, string[] FeatureNames, string? LabelName, string[]? Labels, int FirstDataLine)
{
    /// <summary>Data rows read.</summary>
    public int Rows => FeatureNames.Length == 0 ? 0 : Features.Length / FeatureNames.Length;

    /// <summary>The distinct labels as class names: numerically sorted when all are numbers, else ordinally.</summary>
    public string[] ClassNames()
    {
        var distinct = (Labels ?? []).Distinct().ToArray();
        return distinct.All(l => double.TryParse(l, NumberStyles.Float, CultureInfo.InvariantCulture, out _))
            ? [.. distinct.OrderBy(l => double.Parse(l, CultureInfo.InvariantCulture))]
            : [.. distinct.Order(StringComparer.Ordinal)];
    }
}

/// <summary>
/// Reads CSV through Sylvan's parser: comma, semicolon or tab (detected), quoted fields, a header that is
/// detected (at least two non-numeric cells, or every cell non-numeric) unless told, gzip when the name
/// ends in .gz. Every bad cell is reported as <c>file:line:column</c>.
/// </summary>
public static class CsvTableReader
{
    /// <summary>Reads <paramref name="path"/>.</summary>
    /// <param name="path">The CSV file.</param>
    /// <param name="header">True or false to say whether there is a header; null to detect.</param>
    /// <param name="label">Label column as a header name or 0-based index; null for the last column.</param>
    /// <param name="featureCount">When set (a trained model's inputs): the file has exactly these features,
    /// plus optionally the label column.</param>
    /// <param name="requireLabel">Whether the label column must be there.</param>
    /// <param name="report">Receives a line about throughput.</param>
    /// <exception cref="DataFormatException">The file is missing, empty, ragged, has a cell that is not a finite
    /// number or an empty label, or does not match <paramref name="featureCount"/>; the message names file, line and column.</exception>
    public static CsvTable Read(string path, bool? header, string? label, int? featureCount, bool requireLabel, Action<string>? report = null)
    {
        if (!File.Exists(path))
        {
            throw new DataFormatException($"{path}: no such file.");
        }

        var watch = Stopwatch.StartNew();
        using var file = File.OpenRead(path);
        using Stream stream = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? new GZipStream(file, CompressionMode.Decompress) : file;
        using var text = new StreamReader(stream);
        using var csv = CsvDataReader.Create(text, new CsvDataReaderOptions { HasHeaders = false });
        if (!csv.Read())
        {
            throw new DataFormatException($"{path}: the file is empty.");
        }

        var first = Cells(csv);
        var columns = first.Length;
        var hasHeader = header ?? LooksLikeHeader(first);
        string[] names = hasHeader ? first : [.. Enumerable.Range(1, columns).Select(c => $"column{c}")];
        var labelColumn = ResolveLabel(path, label, names, hasHeader, columns, featureCount, requireLabel);
        var featureNames = names.Where((_, c) => c != labelColumn).ToArray();
        if (featureNames.Length == 0)
        {
            throw new DataFormatException($"{path}: need at least one feature column besides the label, found {columns} column(s).");
        }
        if (featureCount is { } expected && featureNames.Length != expected)
        {
            throw new DataFormatException($"{path}: has {featureNames.Length} feature columns, the model takes {expected}.");
        }

        var features = new List<float>();
        var labels = labelColumn >= 0 ? new List<string>() : null;
        var line = 0;
        var firstDataLine = hasHeader ? 2 : 1;
        void Row(string[] cells)
        {
            line++;
            if (cells.Length != columns)
            {
                throw new DataFormatException($"{path}:{line}: ragged row: {cells.Length} fields, expected {columns} like line 1.");
            }

            for (var c = 0; c < columns; c++)
            {
                var cell = cells[c];
                if (c == labelColumn)
                {
                    if (string.IsNullOrWhiteSpace(cell))
                    {
                        throw new DataFormatException($"{path}:{line}:{c + 1}: missing label in column '{names[c]}'.");
                    }

                    labels!.Add(cell.Trim());
                    continue;
                }

                if (!float.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
                {
                    throw new DataFormatException($"{path}:{line}:{c + 1}: '{cell}' in column '{names[c]}' is not a number.");
                }

                if (!float.IsFinite(value))
                {
                    throw new DataFormatException($"{path}:{line}:{c + 1}: '{cell}' in column '{names[c]}' is NaN or infinite.");
                }

                features.Add(value);
            }
        }

        if (hasHeader)
        {
            line++;
        }
        else
        {
            Row(first);
        }

        while (csv.Read())
        {
            Row(Cells(csv));
        }

        if (line < firstDataLine)
        {
            throw new DataFormatException($"{path}: no data rows after the header.");
        }

        var rows = line - firstDataLine + 1;
        report?.Invoke($"read {rows:N0} rows of {featureNames.Length} features from {path} in {watch.Elapsed.TotalSeconds:F2} s ({rows / Math.Max(1e-9, watch.Elapsed.TotalSeconds):N0} rows/s)");
        return new CsvTable(path, [.. features], featureNames, labelColumn >= 0 ? names[labelColumn] : null, labels?.ToArray(), firstDataLine);
    }

    private static string[] Cells(CsvDataReader csv)
    {
        var cells = new string[csv.RowFieldCount];
        for (var c = 0; c < cells.Length; c++)
        {
            cells[c] = csv.GetString(c);
        }

        return cells;
    }

    private static bool IsNumber(string cell) => double.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out _);

    // A data row has at most one text cell (a text label); a header row has names.
    private static bool LooksLikeHeader(string[] cells)
    {
        var text = cells.Count(c => !IsNumber(c));
        return text >= 2 || text == cells.Length;
    }

    private static int ResolveLabel(string path, string? label, string[] names, bool hasHeader, int columns, int? featureCount, bool requireLabel)
    {
        if (featureCount is { } expected && columns == expected)
        {
            if (requireLabel)
            {
                throw new DataFormatException($"{path}: has {columns} columns, the model's {expected} features and no label column.");
            }

            return -1;
        }

        if (label is null)
        {
            return columns - 1;
        }

        if (int.TryParse(label, NumberStyles.None, CultureInfo.InvariantCulture, out var index))
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
                ? $"{path}: no column is named '{label}' (columns: {string.Join(", ", names)})."
                : $"{path}: no header line, so the label column can only be given by index, not as '{label}'.");
        }

        return named;
    }
}
