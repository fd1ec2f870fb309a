using System.Diagnostics;
using System.IO.Hashing;
using System.Runtime.InteropServices;
using Sparse.Training;

namespace Sparse.Distributed;

/// <summary>
/// Data-parallel training over MPI (<see cref="IDataParallel"/> for <see cref="Trainer.DataParallel"/>). Synchronous by
/// default: after every backward pass, each rank's gradients (per connection and per bias, weighted by its share of the
/// global batch) are summed across ranks in one fused allreduce, so every rank applies the update of the whole batch
/// and the weights stay identical. With <c>syncEvery</c> K above 1 it is local SGD (the first phase of WASAP-SGD):
/// ranks step on their own gradients and average their weights every K steps and before every rewiring. Topology
/// evolution then runs on identical weights with the same seed on every rank and needs no communication; the
/// signals RigL and CTRE read are gathered into the global batch's first. After every rewiring and at every epoch
/// end the ranks compare a checksum of structure and weights; a mismatch throws <see cref="RanksDivergedException"/>
/// on every rank.
/// </summary>
public sealed class MpiDataParallel : IDataParallel
{
    private readonly Mpi _mpi;
    private float[] _packed = [];
    private readonly double[] _scalars = new double[3];

    /// <summary>Shares steps over <paramref name="mpi"/>'s world, synchronously or (<paramref name="syncEvery"/> above 1) as local SGD.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="syncEvery"/> is below 1.</exception>
    public MpiDataParallel(Mpi mpi, int syncEvery = 1)
    {
        ArgumentNullException.ThrowIfNull(mpi);
        ArgumentOutOfRangeException.ThrowIfLessThan(syncEvery, 1);
        _mpi = mpi;
        SyncEvery = syncEvery;
    }

    /// <inheritdoc/>
    public int Rank => _mpi.Rank;

    /// <inheritdoc/>
    public int Size => _mpi.Size;

    /// <summary>Steps between weight averages; 1 is synchronous training (gradients summed every step).</summary>
    public int SyncEvery { get; }

    /// <summary>Bytes this rank sent into allreduces of gradients or weights so far (each allreduce counted once, as its buffer).</summary>
    public long BytesReduced { get; private set; }

    /// <summary>Seconds spent in the allreduces of gradients and weights (waiting for the slowest rank included).</summary>
    public double ReduceSeconds { get; private set; }

    /// <summary>Allreduces of gradients or weights so far.</summary>
    public long Reductions { get; private set; }

    /// <inheritdoc/>
    public bool AnyStops(bool stopHere)
    {
        _scalars[0] = stopHere ? 1 : 0;
        _mpi.AllReduceMax(_scalars.AsSpan(0, 1));
        return _scalars[0] > 0;
    }

    /// <inheritdoc/>
    public void AfterBackward(SparseNetwork network, int localSamples, int globalSamples, SignalRecorder? signals)
    {
        ArgumentNullException.ThrowIfNull(network);

        // Local SGD too: the evolver on every rank must score the same samples to pick the same connections.
        if (signals is not null)
        {
            SignalGather.ToGlobalBatch(_mpi, network, signals, localSamples, globalSamples);
        }

        if (SyncEvery > 1)
        {
            return; // local SGD: each rank steps on its own batch
        }

        // The loss is the mean over this rank's samples; weighted by the rank's share, the sum over ranks is the mean
        // over the global batch.
        var share = globalSamples == 0 ? 0f : localSamples / (float)globalSamples;
        var packed = Pack(network, p => p.Gradient, share);
        Reduce(packed);
        Unpack(network, packed, p => p.Gradient, 1f);
    }

    /// <inheritdoc/>
    public void AfterStep(SparseNetwork network, long stepNumber)
    {
        if (SyncEvery > 1 && stepNumber % SyncEvery == 0)
        {
            Average(network);
        }
    }

    /// <inheritdoc/>
    public void BeforeRewiring(SparseNetwork network)
    {
        if (SyncEvery > 1)
        {
            Average(network);
        }
    }

    /// <inheritdoc/>
    public void AfterRewiring(SparseNetwork network, string moment)
    {
        var mine = Checksum(network);
        var all = new ulong[Size];
        _mpi.AllGather<ulong>([mine], all);
        var differing = Enumerable.Range(0, Size).Where(r => all[r] != all[0]).ToArray();
        if (differing.Length > 0)
        {
            throw new RanksDivergedException($"After {moment}, rank{(differing.Length > 1 ? "s" : string.Empty)} {string.Join(", ", differing)} hold{(differing.Length > 1 ? string.Empty : "s")} a different network from rank 0 " +
                $"(checksums {string.Join(", ", all.Select(c => c.ToString("x16", System.Globalization.CultureInfo.InvariantCulture)))}); the ranks no longer train one model.");
        }
    }

    /// <inheritdoc/>
    public (double Loss, long Correct, long Seen) SumOverRanks(double loss, long correct, long seen)
    {
        _scalars[0] = loss;
        _scalars[1] = correct;
        _scalars[2] = seen;
        _mpi.AllReduceSum(_scalars);
        return (_scalars[0], (long)_scalars[1], (long)_scalars[2]);
    }

    /// <summary>
    /// A 64-bit checksum (XxHash3) of the network's structure (row pointers, column indices) and of every parameter's
    /// bits, the same on every rank exactly when the ranks hold the same network.
    /// </summary>
    public static ulong Checksum(SparseNetwork network)
    {
        ArgumentNullException.ThrowIfNull(network);
        var hash = new XxHash3();
        foreach (var layer in network.SparseLayers)
        {
            hash.Append(MemoryMarshal.AsBytes(layer.Weights.RowPointers.AsSpan()));
            hash.Append(MemoryMarshal.AsBytes(layer.Weights.ColumnIndices.AsSpan()));
        }

        foreach (var parameter in network.Parameters)
        {
            hash.Append(MemoryMarshal.AsBytes(parameter.Values.AsSpan()));
        }

        return hash.GetCurrentHashAsUInt64();
    }

    // Weights and biases: the mean over ranks.
    private void Average(SparseNetwork network)
    {
        var packed = Pack(network, p => p.Values, 1f);
        Reduce(packed);
        Unpack(network, packed, p => p.Values, 1f / Size);
    }

    private void Reduce(Span<float> packed)
    {
        var start = Stopwatch.GetTimestamp();
        _mpi.AllReduceSum(packed);
        ReduceSeconds += Stopwatch.GetElapsedTime(start).TotalSeconds;
        BytesReduced += (long)packed.Length * sizeof(float);
        Reductions++;
    }

    // Every parameter's array (gradients or values), scaled, one after another in one buffer: one allreduce a step.
    private Span<float> Pack(SparseNetwork network, Func<Parameter, float[]> array, float scale)
    {
        long total = 0;
        foreach (var parameter in network.Parameters)
        {
            total += array(parameter).Length;
        }

        if (_packed.Length < total)
        {
            _packed = new float[total];
        }

        var offset = 0;
        foreach (var parameter in network.Parameters)
        {
            var source = array(parameter);
            System.Numerics.Tensors.TensorPrimitives.Multiply(source, scale, _packed.AsSpan(offset, source.Length));
            offset += source.Length;
        }

        return _packed.AsSpan(0, offset);
    }

    private static void Unpack(SparseNetwork network, ReadOnlySpan<float> packed, Func<Parameter, float[]> array, float scale)
    {
        var offset = 0;
        foreach (var parameter in network.Parameters)
        {
            var destination = array(parameter);
            System.Numerics.Tensors.TensorPrimitives.Multiply(packed.Slice(offset, destination.Length), scale, destination);
            offset += destination.Length;
        }
    }
}

/// <summary>The ranks of a data-parallel job no longer hold the same network; training cannot continue as one model.</summary>
public sealed class RanksDivergedException : Exception
{
    /// <summary>Creates the exception with its message.</summary>
    public RanksDivergedException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    public RanksDivergedException()
    {
    }

    /// <summary>Creates the exception with its message and cause.</summary>
    public RanksDivergedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
