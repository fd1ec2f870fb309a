using Sparse.Core;

namespace Sparse.Training;

/// <summary>
/// Samples in memory: features either dense and sample-major (<c>Count</c> x <see cref="FeatureCount"/>,
/// <see cref="Features"/>) or sparse, one row of a <see cref="CsrMatrix"/> per sample (<see cref="SparseFeatures"/>), and
/// either a class label per sample or <see cref="TargetCount"/> regression targets per sample.
/// </summary>
public sealed class Dataset
{
    private readonly float[]? _features;

    private Dataset(float[]? features, CsrMatrix? sparse, int featureCount, int[]? labels, int classCount, float[]? targets, int targetCount)
    {
        (_features, SparseFeatures, FeatureCount) = (features, sparse, featureCount);
        (Labels, ClassCount, Targets, TargetCount) = (labels, classCount, targets, targetCount);
        Count = sparse?.Rows ?? (featureCount == 0 ? 0 : features!.Length / featureCount);
    }

    /// <summary>A classification set; <paramref name="classCount"/> defaults to the largest label + 1.</summary>
    public static Dataset ForClassification(float[] features, int featureCount, int[] labels, int classCount = 0)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(featureCount);
        if (features.Length != (long)labels.Length * featureCount)
        {
            throw new ArgumentException($"{labels.Length} labels need {labels.Length} x {featureCount} features, got {features.Length}.", nameof(features));
        }

        return new Dataset(features, null, featureCount, labels, CheckClasses(labels, classCount), null, 0);
    }

    /// <summary>
    /// A classification set of sparse samples: row <c>n</c> of <paramref name="features"/> is sample <c>n</c>, its columns
    /// the features; <paramref name="classCount"/> defaults to the largest label + 1.
    /// </summary>
    public static Dataset ForClassification(CsrMatrix features, int[] labels, int classCount = 0)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(labels);
        if (features.Rows != labels.Length)
        {
            throw new ArgumentException($"{labels.Length} labels need {labels.Length} rows of features, got {features.Rows}.", nameof(features));
        }

        return new Dataset(null, features, features.Columns, labels, CheckClasses(labels, classCount), null, 0);
    }

    private static int CheckClasses(int[] labels, int classCount)
    {
        var largest = labels.Length == 0 ? -1 : labels.Max();
        if (labels.Length > 0 && labels.Min() < 0)
        {
            throw new ArgumentException("Class labels must be 0 or more.", nameof(labels));
        }

        if (classCount == 0)
        {
            classCount = largest + 1;
        }
        else if (largest >= classCount)
        {
            throw new ArgumentException($"Label {largest} is not below the class count {classCount}.", nameof(labels));
        }

        return classCount;
    }

    /// <summary>A regression set with <paramref name="targetCount"/> targets per sample.</summary>
    public static Dataset ForRegression(float[] features, int featureCount, float[] targets, int targetCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(featureCount);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(targetCount);
        if (features.Length / featureCount * targetCount != targets.Length || features.Length % featureCount != 0)
        {
            throw new ArgumentException($"Features ({features.Length}) and targets ({targets.Length}) do not describe the same samples.", nameof(targets));
        }

        return new Dataset(features, null, featureCount, null, 0, targets, targetCount);
    }

    /// <summary>A regression set of sparse samples (row <c>n</c> of <paramref name="features"/> is sample <c>n</c>) with <paramref name="targetCount"/> targets per sample.</summary>
    public static Dataset ForRegression(CsrMatrix features, float[] targets, int targetCount)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(targetCount);
        if ((long)features.Rows * targetCount != targets.Length)
        {
            throw new ArgumentException($"{features.Rows} rows of features need {features.Rows} x {targetCount} targets, got {targets.Length}.", nameof(targets));
        }

        return new Dataset(null, features, features.Columns, null, 0, targets, targetCount);
    }

    /// <summary>Number of samples.</summary>
    public int Count { get; }

    /// <summary>Features per sample.</summary>
    public int FeatureCount { get; }

    /// <summary>Sample-major features, <c>Count x FeatureCount</c>.</summary>
    /// <exception cref="InvalidOperationException">The features are sparse (<see cref="IsSparse"/>): read <see cref="SparseFeatures"/>.</exception>
    public float[] Features => _features ?? throw new InvalidOperationException(
        $"This dataset's {FeatureCount:N0} features are sparse: read SparseFeatures (a dense copy would take {(long)Count * FeatureCount:N0} floats).");

    /// <summary>The samples as rows of a sparse matrix (columns are the features), or null when they are dense.</summary>
    public CsrMatrix? SparseFeatures { get; }

    /// <summary>Whether the features are sparse rows (<see cref="SparseFeatures"/>) rather than a dense array.</summary>
    public bool IsSparse => SparseFeatures is not null;

    /// <summary>Class of each sample, or null for regression.</summary>
    public int[]? Labels { get; }

    /// <summary>Number of classes (0 for regression).</summary>
    public int ClassCount { get; }

    /// <summary>Sample-major regression targets, or null for classification.</summary>
    public float[]? Targets { get; }

    /// <summary>Regression targets per sample (0 for classification).</summary>
    public int TargetCount { get; }

    /// <summary>Whether samples carry class labels.</summary>
    public bool IsClassification => Labels is not null;

    /// <summary>Outputs a model needs: the class count, or the target count.</summary>
    public int OutputCount => IsClassification ? ClassCount : TargetCount;

    /// <summary>
    /// Splits into (first, second) with a fraction <paramref name="secondFraction"/> of the samples in the
    /// second part, after a seeded shuffle.
    /// </summary>
    public (Dataset First, Dataset Second) Split(double secondFraction, ulong seed)
    {
        if (!(secondFraction > 0 && secondFraction < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(secondFraction), $"The split fraction must be in (0, 1), is {secondFraction}.");
        }

        var order = Permutation(Count, seed);
        var secondCount = (int)Math.Round(Count * secondFraction);
        return (Subset(order.AsSpan(secondCount)), Subset(order.AsSpan(0, secondCount)));
    }

    /// <summary>The samples at <paramref name="indices"/>, copied, in that order.</summary>
    public Dataset Subset(ReadOnlySpan<int> indices)
    {
        var sparse = SparseFeatures is { } rows ? SubsetRows(rows, indices) : null;
        var features = sparse is null ? new float[(long)indices.Length * FeatureCount] : null;
        for (var n = 0; features is not null && n < indices.Length; n++)
        {
            Features.AsSpan(indices[n] * FeatureCount, FeatureCount).CopyTo(features.AsSpan(n * FeatureCount));
        }

        if (Labels is not null)
        {
            var labels = new int[indices.Length];
            for (var n = 0; n < indices.Length; n++)
            {
                labels[n] = Labels[indices[n]];
            }

            return new Dataset(features, sparse, FeatureCount, labels, ClassCount, null, 0);
        }

        var targets = new float[indices.Length * TargetCount];
        for (var n = 0; n < indices.Length; n++)
        {
            Targets.AsSpan(indices[n] * TargetCount, TargetCount).CopyTo(targets.AsSpan(n * TargetCount));
        }

        return new Dataset(features, sparse, FeatureCount, null, 0, targets, TargetCount);
    }

    // The rows at indices, in that order, as a matrix of their own.
    private static CsrMatrix SubsetRows(CsrMatrix rows, ReadOnlySpan<int> indices)
    {
        var pointers = new long[indices.Length + 1];
        for (var n = 0; n < indices.Length; n++)
        {
            pointers[n + 1] = pointers[n] + rows.RowLength(indices[n]);
        }

        var columns = new int[pointers[^1]];
        var values = new float[pointers[^1]];
        for (var n = 0; n < indices.Length; n++)
        {
            var from = rows.RowPointers[indices[n]];
            var length = rows.RowLength(indices[n]);
            rows.ColumnIndices.AsSpan((int)from, length).CopyTo(columns.AsSpan((int)pointers[n]));
            rows.Values.AsSpan((int)from, length).CopyTo(values.AsSpan((int)pointers[n]));
        }

        return new CsrMatrix(indices.Length, rows.Columns, pointers, columns, values);
    }

    /// <summary>A seeded Fisher-Yates permutation of <c>[0, count)</c>.</summary>
    public static int[] Permutation(int count, ulong seed)
    {
        var order = new int[count];
        for (var n = 0; n < count; n++)
        {
            order[n] = n;
        }

        Shuffle(order, seed);
        return order;
    }

    /// <summary>Shuffles <paramref name="order"/> in place with a seeded Fisher-Yates pass.</summary>
    public static void Shuffle(Span<int> order, ulong seed)
    {
        var random = new SparseRandom(seed);
        for (var n = order.Length - 1; n > 0; n--)
        {
            var m = random.NextInt(n + 1);
            (order[n], order[m]) = (order[m], order[n]);
        }
    }
}
