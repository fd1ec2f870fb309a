using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;
using Sparse.Core;

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
    private readonly ComputeOptions _compute;
    private int _position;
    private int _rank;
    private int _ranks = 1;

    /// <summary>Batches of <paramref name="batchSize"/> over <paramref name="data"/>.</summary>
    /// <param name="data">The samples.</param>
    /// <param name="batchSize">Samples per batch; the last batch of an epoch may be shorter.</param>
    /// <param name="normalization">Applied to every sample, or null.</param>
    /// <param name="shuffle">Whether to shuffle each epoch (training) or keep the order (evaluation).</param>
    /// <param name="seed">Seed of the shuffles.</param>
    /// <param name="options">Threads and SIMD level of the copies (<see cref="ComputeOptions.Default"/> when null); the network's, for a training loop.</param>
    /// <remarks>
    /// A dataset of sparse rows gives batches of sparse rows (<see cref="Batch.IsSparse"/>), which
    /// <see cref="SparseNetwork.Forward(Batch, bool)"/> takes; their values are scaled by the normalization, which must
    /// keep zeros zero (no offset: <see cref="NormalizationKind.MaxAbs"/> or <see cref="NormalizationKind.None"/>).
    /// </remarks>
    /// <exception cref="ArgumentException">Sparse rows with a normalization that moves zeros.</exception>
    public BatchLoader(Dataset data, int batchSize, InputNormalization? normalization, bool shuffle, ulong seed, ComputeOptions? options = null)
    {
        _compute = options ?? ComputeOptions.Default;
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        _data = data;
        _normalization = normalization;
        Shuffles = shuffle;
        _seed = seed;
        _order = new int[data.Count];
        _batchSize = Math.Min(batchSize, Math.Max(1, data.Count));
        if (data.IsSparse && normalization is not null && normalization.Offset.AsSpan().ContainsAnyExcept(0f))
        {
            throw new ArgumentException($"{normalization.Kind} moves zeros away from zero; sparse rows take MaxAbs or no normalization.", nameof(normalization));
        }

        Batch = new Batch(data.FeatureCount, data.TargetCount, _batchSize, sparse: data.IsSparse);
        StartEpoch(0);
    }

    /// <summary>The reused batch that <see cref="Next"/> fills.</summary>
    public Batch Batch { get; }

    /// <summary>Whether each epoch is shuffled.</summary>
    public bool Shuffles { get; }

    /// <summary>Batches per epoch.</summary>
    public int BatchesPerEpoch => (_data.Count + _batchSize - 1) / _batchSize;

    /// <summary>Samples in the last <see cref="Next"/>'s whole batch, over all shards (<see cref="Batch"/> holds this rank's slice).</summary>
    public int GlobalBatchSize { get; private set; }

    private int _batchSize;

    /// <summary>
    /// Makes this loader rank <paramref name="rank"/>'s of <paramref name="ranks"/> in data-parallel training: every
    /// rank walks the same shuffled batches, and <see cref="Batch"/> holds samples
    /// <c>[size * rank / ranks, size * (rank + 1) / ranks)</c> of each (possibly none of a short last batch).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The rank is not in [0, ranks).</exception>
    public void Shard(int rank, int ranks)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(ranks);
        if (rank < 0 || rank >= ranks)
        {
            throw new ArgumentOutOfRangeException(nameof(rank), rank, $"A rank is in [0, {ranks}).");
        }

        (_rank, _ranks) = (rank, ranks);
    }

    /// <summary>Rewinds to the start of epoch <paramref name="epoch"/> (its order depends on the seed and the epoch only).</summary>
    public void StartEpoch(int epoch)
    {
        for (var n = 0; n < _order.Length; n++)
        {
            _order[n] = n;
        }

        if (Shuffles)
        {
            Dataset.Shuffle(_order, RandomStreams.Derive(_seed, RandomPurpose.Shuffle, (ulong)epoch));
        }

        _position = 0;
    }

    /// <summary>Fills <see cref="Batch"/> with the next samples; false at the end of the epoch.</summary>
    public bool Next()
    {
        var global = Math.Min(_batchSize, _data.Count - _position);
        if (global <= 0)
        {
            return false;
        }

        GlobalBatchSize = global;
        var first = _position + (int)((long)global * _rank / _ranks);
        var size = _position + (int)((long)global * (_rank + 1) / _ranks) - first;
        var batch = Batch;
        batch.Size = size;
        if (_data.SparseFeatures is { } rows)
        {
            Gather(rows, _order.AsSpan(first, size), batch, _normalization?.Scale);
        }
        else
        {
            Transpose(_data.Features, _data.FeatureCount, _order.AsSpan(first, size), batch.Features, _compute);
            _normalization?.ApplyFeatureMajor(batch.Features, size, _compute);
        }

        for (var b = 0; b < size; b++)
        {
            var index = _order[first + b];
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

        _position += global;
        return true;
    }

    // Copies the sparse rows `order` into the batch's sparse buffers, each value times its feature's scale.
    private static void Gather(CsrMatrix rows, ReadOnlySpan<int> order, Batch batch, float[]? scale)
    {
        long nonZeros = 0;
        foreach (var row in order)
        {
            nonZeros += rows.RowLength(row);
        }

        var (pointers, indices, values) = batch.SparseBuffers(nonZeros);
        var at = 0;
        pointers[0] = 0;
        for (var b = 0; b < order.Length; b++)
        {
            var from = (int)rows.RowPointers[order[b]];
            var length = rows.RowLength(order[b]);
            rows.ColumnIndices.AsSpan(from, length).CopyTo(indices.AsSpan(at));
            rows.Values.AsSpan(from, length).CopyTo(values.AsSpan(at));
            if (scale is not null)
            {
                for (var e = at; e < at + length; e++)
                {
                    values[e] *= scale[indices[e]];
                }
            }

            at += length;
            pointers[b + 1] = at;
        }
    }

    /// <summary>
    /// Gathers the samples <paramref name="order"/> of the sample-major <paramref name="source"/> into the
    /// feature-major <paramref name="destination"/>, shape (features, order.Length). With AVX (and a vector
    /// <see cref="ComputeOptions.Simd"/>), eight samples at a time in 8 x 8 register transposes, so that both the
    /// reads (eight features of a sample) and the writes (eight samples of a feature) are whole vectors.
    /// </summary>
    internal static unsafe void Transpose(float[] source, int featureCount, ReadOnlySpan<int> order, Span<float> destination, ComputeOptions options)
    {
        var size = order.Length;
        fixed (float* src = source, dst = destination)
        fixed (int* samples = order)
        {
            // Chunks of whole 8 x 8 blocks go to the kernels' workers: the gather reads memory at random rows,
            // and two cores fetch faster than one. Small batches stay on this thread.
            var action = new TransposeAction(src, featureCount, samples, size, dst, options.Vectorized && Avx.IsSupported);
            var chunks = (size + ChunkSamples - 1) / ChunkSamples;
            if ((long)size * featureCount < SerialElements)
            {
                for (var c = 0; c < chunks; c++)
                {
                    action.Execute(c);
                }
            }
            else
            {
                SparseParallel.Run(ref action, chunks, options);
            }
        }
    }

    // Samples per parallel chunk of a batch's gather (whole 8 x 8 blocks), and the batch below which one thread does it all.
    private const int ChunkSamples = 32;
    private const long SerialElements = 1L << 14;

    private readonly unsafe struct TransposeAction(float* source, int featureCount, int* order, int size, float* destination, bool avx) : IChunkAction
    {
        public void Execute(int chunk)
        {
            var t = chunk * ChunkSamples;
            var end = Math.Min(size, t + ChunkSamples);
            if (avx)
            {
                var rows = stackalloc float*[8];
                for (; t + 8 <= end; t += 8)
                {
                    for (var i = 0; i < 8; i++)
                    {
                        rows[i] = source + ((long)order[t + i] * featureCount);
                    }

                    var f = 0;
                    for (; f + 8 <= featureCount; f += 8)
                    {
                        Transpose8x8(rows, f, destination + ((long)f * size) + t, size);
                    }

                    for (; f < featureCount; f++)
                    {
                        for (var i = 0; i < 8; i++)
                        {
                            destination[((long)f * size) + t + i] = rows[i][f];
                        }
                    }
                }
            }

            for (; t < end; t++)
            {
                var row = source + ((long)order[t] * featureCount);
                for (var f = 0; f < featureCount; f++)
                {
                    destination[((long)f * size) + t] = row[f];
                }
            }
        }
    }

    // Features [f, f + 8) of eight samples in, eight feature rows (stride apart) of eight samples out.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Transpose8x8(float** rows, int f, float* destination, int stride)
    {
        var r0 = Avx.LoadVector256(rows[0] + f);
        var r1 = Avx.LoadVector256(rows[1] + f);
        var r2 = Avx.LoadVector256(rows[2] + f);
        var r3 = Avx.LoadVector256(rows[3] + f);
        var r4 = Avx.LoadVector256(rows[4] + f);
        var r5 = Avx.LoadVector256(rows[5] + f);
        var r6 = Avx.LoadVector256(rows[6] + f);
        var r7 = Avx.LoadVector256(rows[7] + f);

        // Interleave pairs of samples, then pairs of pairs within each 128-bit lane, then swap the lanes.
        var t0 = Avx.UnpackLow(r0, r1);
        var t1 = Avx.UnpackHigh(r0, r1);
        var t2 = Avx.UnpackLow(r2, r3);
        var t3 = Avx.UnpackHigh(r2, r3);
        var t4 = Avx.UnpackLow(r4, r5);
        var t5 = Avx.UnpackHigh(r4, r5);
        var t6 = Avx.UnpackLow(r6, r7);
        var t7 = Avx.UnpackHigh(r6, r7);
        var u0 = Avx.Shuffle(t0, t2, 0x44);
        var u1 = Avx.Shuffle(t0, t2, 0xEE);
        var u2 = Avx.Shuffle(t1, t3, 0x44);
        var u3 = Avx.Shuffle(t1, t3, 0xEE);
        var u4 = Avx.Shuffle(t4, t6, 0x44);
        var u5 = Avx.Shuffle(t4, t6, 0xEE);
        var u6 = Avx.Shuffle(t5, t7, 0x44);
        var u7 = Avx.Shuffle(t5, t7, 0xEE);
        Avx.Store(destination, Avx.Permute2x128(u0, u4, 0x20));
        Avx.Store(destination + stride, Avx.Permute2x128(u1, u5, 0x20));
        Avx.Store(destination + (2L * stride), Avx.Permute2x128(u2, u6, 0x20));
        Avx.Store(destination + (3L * stride), Avx.Permute2x128(u3, u7, 0x20));
        Avx.Store(destination + (4L * stride), Avx.Permute2x128(u0, u4, 0x31));
        Avx.Store(destination + (5L * stride), Avx.Permute2x128(u1, u5, 0x31));
        Avx.Store(destination + (6L * stride), Avx.Permute2x128(u2, u6, 0x31));
        Avx.Store(destination + (7L * stride), Avx.Permute2x128(u3, u7, 0x31));
    }
}
