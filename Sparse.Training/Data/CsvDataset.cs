using System.Globalization;

namespace Sparse.Training;

/// <summary>Thrown for a malformed data file; the message names the file, line and column.</summary>
public sealed class DataFormatException(string message) : Exception(message);

/// <summary>
/// Loads a classification dataset from CSV (plain or <c>.gz</c>): numeric feature columns and one label
/// column (the last by default). Labels may be text or numbers; classes are their distinct values in
/// sorted order (numerically when all are numbers), listed in <see cref="ClassNames"/>.
/// </summary>
public sealed class CsvDataset
{
    private CsvDataset(Dataset data, string[] classNames, TabularSchema schema)
    {
        Data = data;
        ClassNames = classNames;
        Schema = schema;
    }

    /// <summary>The columns, label and classes, to save with a model (<see cref="Checkpoint.Save"/>).</summary>
    public TabularSchema Schema { get; }

    /// <summary>The samples.</summary>
    public Dataset Data { get; }

    /// <summary>The label text of each class index.</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>Reads <paramref name="path"/> through <see cref="CsvTableReader"/>.</summary>
    /// <param name="path">A CSV file, gzipped when its name ends in <c>.gz</c>.</param>
    /// <param name="hasHeader">Whether the first line names the columns.</param>
    /// <param name="labelColumn">Index of the label column; -1 for the last.</param>
    /// <exception cref="DataFormatException">Empty file, ragged row, missing label, or a cell that is not a finite number.</exception>
    public static CsvDataset LoadClassification(string path, bool hasHeader = false, int labelColumn = -1)
    {
        var table = CsvTableReader.Read(path, hasHeader, labelColumn < 0 ? null : labelColumn.ToString(CultureInfo.InvariantCulture));
        var schema = TabularSchema.Infer(table, "classification");
        return new CsvDataset(schema.ToDataset(table), [.. schema.ClassNames], schema);
    }
}
