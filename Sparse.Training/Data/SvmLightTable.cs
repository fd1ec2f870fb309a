using Sparse.Core;

namespace Sparse.Training;

/// <summary>
/// A svmlight / LIBSVM file read by <see cref="SvmLightReader"/>: each line's features as one row of a sparse matrix
/// (zero-based feature indices, explicit zeros dropped) and the raw text of each line's label.
/// </summary>
/// <param name="Path">The file.</param>
/// <param name="Features">Rows are samples in file order, columns the features; only the values the file holds.</param>
/// <param name="Labels">The label text of each row.</param>
/// <param name="OneBased">Whether the file's indices count from 1 (they are stored from 0).</param>
public sealed record SvmLightTable(string Path, CsrMatrix Features, string[] Labels, bool OneBased)
{
    /// <summary>Data rows read.</summary>
    public int Rows => Features.Rows;

    /// <summary>Features per row: the largest index read plus one, or the count the reader was given.</summary>
    public int FeatureCount => Features.Columns;

    /// <summary>The distinct labels as class names (<see cref="ClassLabels.Distinct"/>): numbers by value, else trimmed text.</summary>
    public string[] ClassNames() => ClassLabels.Distinct(Labels);
}

/// <summary>How <see cref="SvmLightReader"/> reads indices and how many features a row has.</summary>
public sealed record SvmLightOptions
{
    /// <summary>
    /// True when indices count from 0, false when from 1; null to detect as scikit-learn's <c>load_svmlight_files</c>
    /// does: one-based unless an index 0 occurs in one of the files read together.
    /// </summary>
    public bool? ZeroBased { get; init; }

    /// <summary>
    /// Features per row (so that a test file with fewer columns lines up with its training file); null for the largest
    /// index in the files read together, plus one. An index at or beyond it is an error.
    /// </summary>
    public int? FeatureCount { get; init; }
}
