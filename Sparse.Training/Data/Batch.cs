namespace Sparse.Training;

/// <summary>
/// One batch in the kernels' layout, over reused buffers: <see cref="Features"/> is (features, batch), or, for a batch
/// of sparse samples (<see cref="IsSparse"/>), each sample's non-zero features as compressed rows
/// (<see cref="RowPointers"/>, <see cref="FeatureIndices"/>, <see cref="Values"/>); <see cref="Targets"/> is
/// (targets, batch), and <see cref="Labels"/> has one class per sample.
/// </summary>
public sealed class Batch
{
    private readonly float[] _features;
    private readonly int[] _labels;
    private readonly float[] _targets;
    private readonly long[] _rowPointers;
    private int[] _indices = [];
    private float[] _values = [];

    /// <summary>Buffers for up to <paramref name="capacity"/> samples, dense or (when <paramref name="sparse"/>) as sparse rows.</summary>
    public Batch(int featureCount, int targetCount, int capacity, bool sparse = false)
    {
        FeatureCount = featureCount;
        TargetCount = targetCount;
        Capacity = capacity;
        IsSparse = sparse;
        _features = sparse ? [] : new float[featureCount * capacity];
        _rowPointers = sparse ? new long[capacity + 1] : [];
        _labels = new int[capacity];
        _targets = new float[targetCount * capacity];
    }

    /// <summary>Whether the samples are sparse rows (<see cref="RowPointers"/>, <see cref="FeatureIndices"/>, <see cref="Values"/>) rather than <see cref="Features"/>.</summary>
    public bool IsSparse { get; }

    /// <summary>Sparse samples: where each sample's features start; <c>Size + 1</c> entries.</summary>
    public ReadOnlySpan<long> RowPointers => _rowPointers.AsSpan(0, IsSparse ? Size + 1 : 0);

    /// <summary>Sparse samples: each non-zero's feature, increasing within a sample.</summary>
    public ReadOnlySpan<int> FeatureIndices => _indices.AsSpan(0, IsSparse ? (int)_rowPointers[Size] : 0);

    /// <summary>Sparse samples: each non-zero's value, normalized.</summary>
    public ReadOnlySpan<float> Values => _values.AsSpan(0, IsSparse ? (int)_rowPointers[Size] : 0);

    /// <summary>Writes the sparse samples feature-major, shape (features, Size), into <paramref name="destination"/>.</summary>
    public void WriteDense(Span<float> destination)
    {
        if (destination.Length != FeatureCount * Size)
        {
            throw new ArgumentException($"A dense batch of {FeatureCount} x {Size} needs as many floats, got {destination.Length}.", nameof(destination));
        }

        if (!IsSparse)
        {
            Features.CopyTo(destination);
            return;
        }

        destination.Clear();
        for (var b = 0; b < Size; b++)
        {
            for (var e = (int)_rowPointers[b]; e < _rowPointers[b + 1]; e++)
            {
                destination[(_indices[e] * Size) + b] = _values[e];
            }
        }
    }

    // The sparse rows' buffers, grown to hold `nonZeros`; pointers, indices and values.
    internal (long[] Pointers, int[] Indices, float[] Values) SparseBuffers(long nonZeros)
    {
        if (_indices.Length < nonZeros)
        {
            var capacity = (int)Math.Min(Array.MaxLength, Math.Max(nonZeros, 2L * _indices.Length));
            _indices = new int[capacity];
            _values = new float[capacity];
        }

        return (_rowPointers, _indices, _values);
    }

    /// <summary>Features per sample.</summary>
    public int FeatureCount { get; }

    /// <summary>Regression targets per sample (0 for classification).</summary>
    public int TargetCount { get; }

    /// <summary>The most samples the buffers hold.</summary>
    public int Capacity { get; }

    /// <summary>Samples in this batch (the last batch of an epoch may be short).</summary>
    public int Size { get; internal set; }

    /// <summary>Features, (FeatureCount, Size), feature-major.</summary>
    /// <exception cref="InvalidOperationException">The batch holds sparse rows (<see cref="IsSparse"/>): read those, or <see cref="WriteDense"/>.</exception>
    public Span<float> Features => IsSparse
        ? throw new InvalidOperationException($"This batch holds sparse rows of {FeatureCount:N0} features: read RowPointers, FeatureIndices and Values, or WriteDense.")
        : _features.AsSpan(0, FeatureCount * Size);

    /// <summary>Class labels, one per sample.</summary>
    public Span<int> Labels => _labels.AsSpan(0, Size);

    /// <summary>Regression targets, (TargetCount, Size), feature-major.</summary>
    public Span<float> Targets => _targets.AsSpan(0, TargetCount * Size);

    /// <summary>Sets the number of samples, for a batch filled by hand.</summary>
    public void Resize(int size)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(size, Capacity);
        ArgumentOutOfRangeException.ThrowIfNegative(size);
        Size = size;
    }
}
