namespace Sparse.Training;

/// <summary>
/// Walks a dataset in batches, reshuffled each epoch from (seed, epoch) so that a resumed run sees the
/// same order, and fills one reused <see cref="Batch"/> in the kernels' (features, batch) layout,
/// normalising the inputs on the way. No allocation after construction.
/// </summary>
public sealed class BatchLoader
{
    private readonly Dataset _data;
    private readonly InputNormalization? _normalization;
    private readonly int[] _order;
    private readonly ulong _seed;
    private const int TileSamples = 16;

    private readonly float[] _tile;
    private int _position;

    /// <summary>Batches of <paramref name="batchSize"/> over <paramref name="data"/>.</summary>
    /// <param name="data">The samples.</param>
    /// <param name="batchSize">Samples per batch; the last batch of an epoch may be shorter.</param>
    /// <param name="normalization">Applied to every sample, or null.</param>
    /// <param name="shuffle">Whether to shuffle each epoch (training) or keep the order (evaluation).</param>
    /// <param name="seed">Seed of the shuffles.</param>
    public BatchLoader(Dataset data, int batchSize, InputNormalization? normalization, bool shuffle, ulong seed)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        _data = data;
        _normalization = normalization;
        Shuffles = shuffle;
        _seed = seed;
        _order = new int[data.Count];
        _tile = new float[TileSamples * data.FeatureCount];
        Batch = new Batch(data.FeatureCount, data.TargetCount, Math.Min(batchSize, Math.Max(1, data.Count)));
        StartEpoch(0);
    }

    /// <summary>The reused batch that <see cref="Next"/> fills.</summary>
    public Batch Batch { get; }

    /// <summary>Whether each epoch is shuffled.</summary>
    public bool Shuffles { get; }

    /// <summary>Batches per epoch.</summary>
    public int BatchesPerEpoch => (_data.Count + Batch.Capacity - 1) / Batch.Capacity;

    /// <summary>Rewinds to the start of epoch <paramref name="epoch"/> (its order depends on the seed and the epoch only).</summary>
    public void StartEpoch(int epoch)
    {
        for (var n = 0; n < _order.Length; n++)
        {
            _order[n] = n;
        }

        if (Shuffles)
        {
            Dataset.Shuffle(_order, _seed + (0x9E3779B97F4A7C15UL * (ulong)(epoch + 1)));
        }

        _position = 0;
    }

    /// <summary>Fills <see cref="Batch"/> with the next samples; false at the end of the epoch.</summary>
    public bool Next()
    {
        var size = Math.Min(Batch.Capacity, _data.Count - _position);
        if (size <= 0)
        {
            return false;
        }

        var batch = Batch;
        batch.Size = size;
        var features = batch.Features;
        var featureCount = _data.FeatureCount;

        // Transpose sample-major rows into the feature-major batch a tile of samples at a time, so the
        // writes for one feature land side by side instead of a whole batch row apart.
        for (var tileStart = 0; tileStart < size; tileStart += TileSamples)
        {
            var tile = Math.Min(TileSamples, size - tileStart);
            for (var t = 0; t < tile; t++)
            {
                var sample = _tile.AsSpan(t * featureCount, featureCount);
                _data.Features.AsSpan(_order[_position + tileStart + t] * featureCount, featureCount).CopyTo(sample);
                _normalization?.Apply(sample);
            }

            for (var f = 0; f < featureCount; f++)
            {
                var row = features.Slice((f * size) + tileStart, tile);
                for (var t = 0; t < tile; t++)
                {
                    row[t] = _tile[(t * featureCount) + f];
                }
            }
        }

        for (var b = 0; b < size; b++)
        {
            var index = _order[_position + b];
            if (_data.Labels is not null)
            {
                batch.Labels[b] = _data.Labels[index];
            }
            else
            {
                var targets = batch.Targets;
                for (var t = 0; t < _data.TargetCount; t++)
                {
                    targets[(t * size) + b] = _data.Targets![(index * _data.TargetCount) + t];
                }
            }
        }

        _position += size;
        return true;
    }
}
