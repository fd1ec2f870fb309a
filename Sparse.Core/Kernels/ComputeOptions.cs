using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Sparse.Core;

/// <summary>
/// How the computations of a network run: threads, SIMD level and column tiling. Immutable; a network holds one
/// (<c>SparseNetwork.Compute</c>) and passes it to every kernel, dense vector operation, optimizer step and batch
/// copy of a training step, so two networks in one process can run with different settings and a test that
/// forces the scalar path runs a whole step on it. None of these settings changes results across thread
/// counts: every output element is computed by one thread in a fixed order.
/// </summary>
public sealed record ComputeOptions
{
    private readonly int _threads = Environment.ProcessorCount;
    private readonly SimdLevel _simd = BestSimd;
    private readonly long _columnTileBytes = 8L << 20;
    private readonly int _forcedTiles;
    private readonly long _prefetchAboveBytes = 1L << 20;

    /// <summary>Every core, the widest accelerated SIMD path, 8 MiB column tiles.</summary>
    public static ComputeOptions Default { get; } = new();

    /// <summary>The default options.</summary>
    public ComputeOptions()
    {
    }

    // A SIMD level the machine may not accelerate: .NET runs its vector operations in software, so the tests can run a
    // path the CPU lacks (slowly) and a broken AVX-512 path cannot pass unnoticed on an AVX2 machine.
    private ComputeOptions(SimdLevel emulated) => _simd = emulated;

    /// <summary>
    /// Options whose <see cref="Simd"/> is <paramref name="level"/> even when this machine does not accelerate it (then in
    /// software emulation, many times slower): for tests of every SIMD path on any machine.
    /// </summary>
    internal static ComputeOptions WithAnySimd(SimdLevel level) => new(level);

    /// <summary>Whether <paramref name="level"/> would run in software emulation here.</summary>
    internal static bool IsEmulated(SimdLevel level) => level > BestSimd;

    /// <summary>The widest path this machine accelerates.</summary>
    public static SimdLevel BestSimd
    {
        get
        {
            if (Vector512.IsHardwareAccelerated)
            {
                return SimdLevel.Vector512;
            }

            // A Vector256 FMA without hardware FMA is emulated, slower than scalar code.
            if (Vector256.IsHardwareAccelerated && (Fma.IsSupported || !X86Base.IsSupported))
            {
                return SimdLevel.Vector256;
            }

            return SimdLevel.Scalar;
        }
    }

    /// <summary>
    /// The most threads one call uses (the calling thread included); 1 runs everything inline. Defaults to
    /// <see cref="Environment.ProcessorCount"/>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Below 1.</exception>
    public int Threads
    {
        get => _threads;
        init
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            _threads = value;
        }
    }

    /// <summary>
    /// The SIMD path of every vector loop; defaults to <see cref="BestSimd"/>. <see cref="SimdLevel.Scalar"/> runs
    /// plain loops everywhere: the sparse kernels, activations, losses, dropout, optimizers and batch copies.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A level this machine does not accelerate, so a forced path always runs in hardware.</exception>
    public SimdLevel Simd
    {
        get => _simd;
        init
        {
            if (value > BestSimd)
            {
                ThrowHelper.ArgumentOutOfRange(nameof(value), $"{value} is not accelerated on this machine; the best is {BestSimd}.");
            }

            _simd = value;
        }
    }

    /// <summary>
    /// Bytes of a kernel's gathered dense operand (rows x batch x 4, or x 2 in <see cref="BFloat16"/>) above which it is split into column tiles of
    /// this size, unless the rows that neighbouring rows of the layer gather between them (a banded layer's band) fit in one; 0 turns tiling off. Default 8 MiB, a share of a typical last-level cache. Tiling changes the
    /// order of the float additions, so a different tile size can change the last bits (never the thread count).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Negative.</exception>
    public long ColumnTileBytes
    {
        get => _columnTileBytes;
        init
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            _columnTileBytes = value;
        }
    }

    /// <summary>
    /// Bytes of a kernel's gathered dense operand (rows x batch x 4, or x 2 in <see cref="BFloat16"/>) above which its loops prefetch the rows they will
    /// gather 16 entries ahead, unless the kernel runs in column tiles (which keep their rows cached) or the rows that neighbouring rows of
    /// the layer gather between them (a banded layer's band, <c>RandomSparse.Banded</c>) take no more than this;
    /// <see cref="long.MaxValue"/> turns prefetching off. Default 1 MiB, the size of this machine's per-core L2
    /// cache: below it gathers hit the cache and the prefetch instructions would only cost. Prefetching never
    /// changes results.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Negative.</exception>
    public long PrefetchAboveBytes
    {
        get => _prefetchAboveBytes;
        init
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            _prefetchAboveBytes = value;
        }
    }

    /// <summary>
    /// Whether large dense buffers (activations and gradients of 4 MiB or more) are placed on 2 MiB boundaries and
    /// advised for transparent huge pages (Linux <c>madvise(MADV_HUGEPAGE)</c>), so that random row gathers over them
    /// miss the TLB far less; elsewhere, or where the kernel refuses, they are ordinary memory. Default true.
    /// </summary>
    public bool HugePages { get; init; } = true;

    /// <summary>
    /// Whether a kernel gathering from <paramref name="gatheredRows"/> rows of <paramref name="batch"/> elements is large enough
    /// to prefetch or tile, so that the reach of its structure (<see cref="GatherReach"/>, O(nnz) once per structure) is worth knowing.
    /// </summary>
    internal bool NeedsReach(long gatheredRows, int batch, int elementBytes) =>
        gatheredRows * batch * elementBytes > (_columnTileBytes > 0 ? Math.Min(_prefetchAboveBytes, _columnTileBytes) : _prefetchAboveBytes);

    /// <summary>Whether a kernel gathering from <paramref name="gatheredRows"/> rows of <paramref name="batch"/> elements of <paramref name="elementBytes"/> prefetches.</summary>
    internal bool Prefetches(long gatheredRows, int batch, int elementBytes = sizeof(float)) => gatheredRows * batch * elementBytes > _prefetchAboveBytes;

    /// <summary>A fixed tile count, whatever the shapes (tests run the tiled path on small shapes); 0 lets the shapes decide.</summary>
    internal int ForcedTiles
    {
        get => _forcedTiles;
        init
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            _forcedTiles = value;
        }
    }

    /// <summary>Whether vector loops run (<see cref="Simd"/> is not <see cref="SimdLevel.Scalar"/>).</summary>
    public bool Vectorized => _simd != SimdLevel.Scalar;
}
