namespace Sparse.Training;

/// <summary>A CSV file read into numeric features and the raw text of an optional label column, by <see cref="CsvTableReader"/>.</summary>
/// <param name="Path">The file.</param>
/// <param name="Features">Sample-major features, in the order of <paramref name="FeatureNames"/>.</param>
/// <param name="FeatureNames">One name per feature (from the header, or column1, column2, ... by position).</param>
/// <param name="LabelName">The label column's name, or null when the file has none.</param>
/// <param name="Labels">The label text of each row, or null.</param>
/// <param name="FirstDataLine">The record number of the first data row (1 or 2), to name rows in later errors.</param>
/// <param name="LabelIndex">The label's 0-based column in the file, or -1.</param>
public sealed record CsvTable(string Path, float[] Features, string[] FeatureNames, string? LabelName, string[]? Labels, int FirstDataLine, int LabelIndex = -1)
{
    /// <summary>Data rows read.</summary>
    public int Rows => FeatureNames.Length == 0 ? 0 : Features.Length / FeatureNames.Length;

    /// <summary>
    /// The same rows with only the feature columns <paramref name="names"/>, in that order (the label kept): the table a
    /// model trained on selected features reads.
    /// </summary>
    /// <exception cref="DataFormatException">A name is not a feature column of this table; the message names the file and the column.</exception>
    public CsvTable SelectFeatures(IReadOnlyList<string> names)
    {
        ArgumentNullException.ThrowIfNull(names);
        var positions = new int[names.Count];
        for (var n = 0; n < names.Count; n++)
        {
            positions[n] = Array.IndexOf(FeatureNames, names[n]);
            if (positions[n] < 0)
            {
                throw new DataFormatException($"{Path}: has no feature column '{names[n]}'.");
            }
        }

        var rows = Rows;
        var width = FeatureNames.Length;
        var features = new float[(long)rows * names.Count];
        for (var r = 0; r < rows; r++)
        {
            for (var n = 0; n < positions.Length; n++)
            {
                features[((long)r * positions.Length) + n] = Features[((long)r * width) + positions[n]];
            }
        }

        return this with { Features = features, FeatureNames = [.. names] };
    }

    /// <summary>The distinct labels as class names (<see cref="ClassLabels.Distinct"/>): numbers by value, else trimmed text.</summary>
    public string[] ClassNames() => ClassLabels.Distinct(Labels ?? []);
}
