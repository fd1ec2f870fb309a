namespace Sparse.Training;

/// <summary>
/// One batch in the kernels' layout, over reused buffers: <see cref="Features"/> is (features, batch),
/// <see cref="Targets"/> is (targets, batch), and <see cref="Labels"/> has one class per sample.
/// </summary>
public sealed class Batch
{
    private readonly float[] _features;
    private readonly int[] _labels;
    private readonly float[] _targets;

    /// <summary>Buffers for up to <paramref name="capacity"/> samples.</summary>
    public Batch(int featureCount, int targetCount, int capacity)
    {
        FeatureCount = featureCount;
        TargetCount = targetCount;
        Capacity = capacity;
        _features = new float[featureCount * capacity];
        _labels = new int[capacity];
        _targets = new float[targetCount * capacity];
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
    public Span<float> Features => _features.AsSpan(0, FeatureCount * Size);

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
