using System.Globalization;
using System.IO.Hashing;
using System.Runtime.InteropServices;

namespace Sparse.Training;

/// <summary>
/// What identifies the rows a run trained on: their count, their width and a hash (XXH3) of every feature and label or
/// target in the order given, so the same rows shuffled, one value changed or another split all differ.
/// </summary>
/// <param name="Rows">Samples.</param>
/// <param name="Features">Features per sample.</param>
/// <param name="Hash">XXH3 of the features (dense, or a sparse set's row pointers, indices and values), then the labels or targets, as stored.</param>
public readonly record struct DataFingerprint(int Rows, int Features, ulong Hash)
{
    /// <summary>The fingerprint of <paramref name="data"/>.</summary>
    public static DataFingerprint Of(Dataset data)
    {
        ArgumentNullException.ThrowIfNull(data);
        var hash = new XxHash3();
        if (data.SparseFeatures is { } rows)
        {
            hash.Append(MemoryMarshal.AsBytes(rows.RowPointers.AsSpan()));
            hash.Append(MemoryMarshal.AsBytes(rows.ColumnIndices.AsSpan()));
            hash.Append(MemoryMarshal.AsBytes(rows.Values.AsSpan()));
        }
        else
        {
            hash.Append(MemoryMarshal.AsBytes(data.Features.AsSpan()));
        }

        hash.Append(data.Labels is { } labels ? MemoryMarshal.AsBytes(labels.AsSpan()) : MemoryMarshal.AsBytes(data.Targets.AsSpan()));
        return new DataFingerprint(data.Count, data.FeatureCount, hash.GetCurrentHashAsUInt64());
    }

    /// <summary>What differs from <paramref name="saved"/>, as a person reads it, or null when nothing does.</summary>
    public string? ChangeFrom(DataFingerprint saved) =>
        this == saved ? null
        : Rows != saved.Rows || Features != saved.Features ? $"{Describe(this)} where the run had {Describe(saved)}"
        : $"the same {Describe(this)} but other values or another order";

    /// <inheritdoc/>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Describe(this)}, hash {Hash:x16}");

    private static string Describe(DataFingerprint f) => string.Create(CultureInfo.InvariantCulture, $"{f.Rows:N0} rows of {f.Features:N0} features");
}
