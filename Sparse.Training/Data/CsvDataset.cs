using System.Globalization;
using System.IO.Compression;
using Sylvan.Data.Csv;

namespace Sparse.Training;

/// <summary>Thrown for a malformed data file; the message names the file, line and column.</summary>
public sealed class DataFormatException(string message) : Exception(message);

/// <summary>
/// Loads a classification dataset from CSV (plain or <c>.gz</c>) through Sylvan's parser: numeric feature
/// columns and one label column (the last by default). Labels may be text or numbers; classes are their
/// distinct values in sorted order (numerically when all are numbers), listed in <see cref="ClassNames"/>.
/// </summary>
public sealed class CsvDataset
{
    private CsvDataset(Dataset data, string[] classNames)
    {
        Data = data;
        ClassNames = classNames;
    }

    /// <summary>The samples.</summary>
    public Dataset Data { get; }

    /// <summary>The label text of each class index.</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>Reads <paramref name="path"/>.</summary>
    /// <param name="path">A CSV file, gzipped when its name ends in <c>.gz</c>.</param>
    /// <param name="hasHeader">Whether the first line names the columns.</param>
    /// <param name="labelColumn">Index of the label column; -1 for the last.</param>
    /// <exception cref="DataFormatException">Empty file, ragged row, or a cell that is not a finite number.</exception>
    public static CsvDataset LoadClassification(string path, bool hasHeader = false, int labelColumn = -1)
    {
        using var file = File.OpenRead(path);
        using Stream stream = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? new GZipStream(file, CompressionMode.Decompress) : file;
        using var text = new StreamReader(stream);
        using var csv = CsvDataReader.Create(text, new CsvDataReaderOptions { HasHeaders = hasHeader });
        var features = new List<float>();
        var labels = new List<string>();
        var columns = -1;
        var line = hasHeader ? 1 : 0;
        while (csv.Read())
        {
            line++;
            if (columns < 0)
            {
                columns = csv.RowFieldCount;
                if (columns < 2)
                {
                    throw new DataFormatException($"{path}:{line}: need at least one feature column and a label column, found {columns} column(s).");
                }
            }
            else if (csv.RowFieldCount != columns)
            {
                throw new DataFormatException($"{path}:{line}: row has {csv.RowFieldCount} columns, expected {columns} like line {(hasHeader ? 2 : 1)}.");
            }

            var label = labelColumn < 0 ? columns - 1 : labelColumn;
            if (label >= columns)
            {
                throw new DataFormatException($"{path}: label column {label} does not exist ({columns} columns).");
            }

            for (var c = 0; c < columns; c++)
            {
                var cell = csv.GetString(c);
                if (c == label)
                {
                    if (cell.Length == 0)
                    {
                        throw new DataFormatException($"{path}:{line}:{c + 1}: missing label.");
                    }

                    labels.Add(cell);
                    continue;
                }

                if (!float.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || !float.IsFinite(value))
                {
                    throw new DataFormatException($"{path}:{line}:{c + 1}: '{cell}' is not a finite number.");
                }

                features.Add(value);
            }
        }

        if (labels.Count == 0)
        {
            throw new DataFormatException($"{path}: no data rows.");
        }

        var allNumeric = labels.All(l => double.TryParse(l, NumberStyles.Float, CultureInfo.InvariantCulture, out _));
        var names = allNumeric
            ? [.. labels.Distinct().OrderBy(l => double.Parse(l, CultureInfo.InvariantCulture))]
            : labels.Distinct().Order(StringComparer.Ordinal).ToArray();
        var index = names.Select((name, i) => (name, i)).ToDictionary(p => p.name, p => p.i);
        var classes = labels.Select(l => index[l]).ToArray();
        return new CsvDataset(Dataset.ForClassification([.. features], columns - 1, classes, names.Length), names);
    }
}
