using System.Runtime.InteropServices;

namespace Sparse.Distributed;

/// <summary>
/// The MPI world this process belongs to: rank, size and the collectives data-parallel training needs, over the MPI C
/// library (Open MPI's <c>libmpi.so.40</c>) through function pointers. One per process: <see cref="Initialize"/> starts
/// MPI, <see cref="Dispose"/> finalizes it. Collectives are called from one thread at a time (MPI_THREAD_SERIALIZED);
/// any MPI error aborts the whole job (MPI's default error handler), so a failed collective never returns.
/// </summary>
/// <remarks>
/// Open MPI only: its handles (communicator, datatypes, operations) are the addresses of exported objects such as
/// <c>ompi_mpi_comm_world</c>, and <c>MPI_IN_PLACE</c> is <c>(void*)1</c>. MPICH and its derivatives use integer handles
/// and another <c>MPI_IN_PLACE</c>, a different binary interface this layer does not speak. The NuGet package MPI.NET
/// 1.4.0 binds to Microsoft MPI (<c>msmpi.dll</c>) and fails on Linux with <c>DllNotFoundException</c>.
/// </remarks>
public sealed unsafe class Mpi : IDisposable
{
    private const int ThreadSerialized = 2; // MPI_THREAD_SERIALIZED in Open MPI's mpi.h
    private const int RtldNow = 0x2, RtldGlobal = 0x100;

    // MPI_IN_PLACE in Open MPI's mpi.h.
    private static readonly void* InPlace = (void*)1;

    // The largest count one MPI call takes (an int); longer spans go in pieces of this many elements.
    private const int MaxCount = 1 << 30;

    private static Mpi? _world;

    private readonly Native _mpi;
    private bool _finalized;

    private Mpi(Native native, int rank, int size)
    {
        _mpi = native;
        Rank = rank;
        Size = size;
    }

    /// <summary>This process's rank in the world, 0 to <see cref="Size"/> - 1.</summary>
    public int Rank { get; }

    /// <summary>The number of processes in the world.</summary>
    public int Size { get; }

    /// <summary>Whether this is rank 0, the one that prints and writes files.</summary>
    public bool IsRoot => Rank == 0;

    /// <summary>
    /// Whether an MPI launcher started this process (<c>mpirun</c>/<c>mpiexec</c> of Open MPI, or a PMIx launcher such as
    /// Slurm's <c>srun --mpi=pmix</c>): its world size variable is set.
    /// </summary>
    public static bool Launched => LaunchedSize() is not null;

    /// <summary>The world size the launcher announced, or null outside a launcher.</summary>
    public static int? LaunchedSize()
    {
        foreach (var name in new[] { "OMPI_COMM_WORLD_SIZE", "PMIX_SIZE", "PMI_SIZE" })
        {
            if (int.TryParse(Environment.GetEnvironmentVariable(name), out var size) && size > 0)
            {
                return size;
            }
        }

        return null;
    }

    /// <summary>
    /// Processes of this job on this machine (<c>OMPI_COMM_WORLD_LOCAL_SIZE</c>), or 1: a rank's share of the cores is
    /// the machine's cores divided by this.
    /// </summary>
    public static int LocalSize() =>
        int.TryParse(Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_LOCAL_SIZE"), out var size) && size > 0 ? size : 1;

    /// <summary>
    /// Loads the MPI library and initializes MPI (once per process; later calls return the same world). The library is
    /// <c>libmpi.so.40</c> (Open MPI 3 to 5), or the path in <c>SPARSE_MPI_LIBRARY</c>.
    /// </summary>
    /// <exception cref="DllNotFoundException">No MPI library could be loaded; the message says what to install.</exception>
    public static Mpi Initialize()
    {
        if (_world is { } world)
        {
            return world;
        }

        var native = Native.Load();
        int initialized;
        Check(native.Initialized(&initialized), "MPI_Initialized");
        if (initialized == 0)
        {
            int provided;
            Check(native.InitThread(null, null, ThreadSerialized, &provided), "MPI_Init_thread");
        }

        int rank, size;
        Check(native.CommRank(native.CommWorld, &rank), "MPI_Comm_rank");
        Check(native.CommSize(native.CommWorld, &size), "MPI_Comm_size");
        _world = new Mpi(native, rank, size);
        return _world;
    }

    /// <summary>Waits until every rank has called it.</summary>
    public void Barrier() => Check(_mpi.Barrier(_mpi.CommWorld), "MPI_Barrier");

    /// <summary>Replaces <paramref name="data"/> on every rank with the root's (its bytes; every rank passes the same length).</summary>
    public void Broadcast<T>(Span<T> data, int root = 0)
        where T : unmanaged
    {
        var bytes = MemoryMarshal.AsBytes(data);
        fixed (byte* p = bytes)
        {
            for (long start = 0; start < bytes.Length; start += MaxCount)
            {
                var count = (int)Math.Min(MaxCount, bytes.Length - start);
                Check(_mpi.Bcast(p + start, count, _mpi.Byte, root, _mpi.CommWorld), "MPI_Bcast");
            }
        }
    }

    /// <summary>Replaces <paramref name="data"/> on every rank with the element-wise sum over all ranks.</summary>
    public void AllReduceSum(Span<float> data)
    {
        fixed (float* p = data)
        {
            AllReduce(p, data.Length, sizeof(float), _mpi.Float, _mpi.Sum);
        }
    }

    /// <summary>Replaces <paramref name="data"/> on every rank with the element-wise sum over all ranks.</summary>
    public void AllReduceSum(Span<double> data)
    {
        fixed (double* p = data)
        {
            AllReduce(p, data.Length, sizeof(double), _mpi.Double, _mpi.Sum);
        }
    }

    /// <summary>Replaces <paramref name="data"/> on every rank with the element-wise maximum over all ranks.</summary>
    public void AllReduceMax(Span<double> data)
    {
        fixed (double* p = data)
        {
            AllReduce(p, data.Length, sizeof(double), _mpi.Double, _mpi.Max);
        }
    }

    /// <summary>
    /// Gathers every rank's <paramref name="mine"/> (the same length on every rank) into <paramref name="all"/>, rank
    /// by rank, on every rank.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="all"/> is not <see cref="Size"/> times as long as <paramref name="mine"/>.</exception>
    public void AllGather<T>(ReadOnlySpan<T> mine, Span<T> all)
        where T : unmanaged
    {
        if (all.Length != (long)mine.Length * Size)
        {
            throw new ArgumentException($"Gathering {mine.Length} elements from {Size} ranks needs {(long)mine.Length * Size}, got {all.Length}.", nameof(all));
        }

        var counts = new int[Size];
        Array.Fill(counts, mine.Length);
        AllGatherVariable(mine, all, counts);
    }

    /// <summary>
    /// Gathers every rank's <paramref name="mine"/> (rank r sends <c>counts[r]</c> elements) into <paramref name="all"/>,
    /// rank by rank, on every rank.
    /// </summary>
    /// <exception cref="ArgumentException">The counts do not match this rank's length or the destination's.</exception>
    public void AllGatherVariable<T>(ReadOnlySpan<T> mine, Span<T> all, ReadOnlySpan<int> counts)
        where T : unmanaged
    {
        if (counts.Length != Size || counts[Rank] != mine.Length)
        {
            throw new ArgumentException($"Give one count per rank ({Size}), with this rank's ({Rank}) equal to its {mine.Length} elements.", nameof(counts));
        }

        long total = 0;
        var byteCounts = new int[Size];
        var displacements = new int[Size];
        for (var r = 0; r < Size; r++)
        {
            var bytes = (long)counts[r] * sizeof(T);
            if (bytes > int.MaxValue || total * sizeof(T) > int.MaxValue)
            {
                throw new ArgumentException("A gather of more than 2 GiB is not supported.", nameof(counts));
            }

            byteCounts[r] = (int)bytes;
            displacements[r] = (int)(total * sizeof(T));
            total += counts[r];
        }

        if (all.Length != total)
        {
            throw new ArgumentException($"The counts add up to {total} elements, the destination has {all.Length}.", nameof(all));
        }

        fixed (T* send = mine, receive = all)
        fixed (int* c = byteCounts, d = displacements)
        {
            Check(_mpi.Allgatherv(send, byteCounts[Rank], _mpi.Byte, receive, c, d, _mpi.Byte, _mpi.CommWorld), "MPI_Allgatherv");
        }
    }

    /// <summary>Ends every process of the job with <paramref name="exitCode"/> (through the launcher); does not return.</summary>
    public void Abort(int exitCode)
    {
        _mpi.Abort(_mpi.CommWorld, exitCode);
        Environment.Exit(exitCode);
    }

    /// <summary>Finalizes MPI (after a barrier inside MPI_Finalize); the world cannot be used after this.</summary>
    public void Dispose()
    {
        if (!_finalized)
        {
            _finalized = true;
            Check(_mpi.Finalize(), "MPI_Finalize");
        }
    }

    private void AllReduce(void* data, int length, int elementBytes, nint type, nint operation)
    {
        for (long start = 0; start < length; start += MaxCount)
        {
            var count = (int)Math.Min(MaxCount, length - start);
            Check(_mpi.Allreduce(InPlace, (byte*)data + (start * elementBytes), count, type, operation, _mpi.CommWorld), "MPI_Allreduce");
        }
    }

    // With MPI's default error handler an error has aborted the job before the call returns; this catches a library
    // built with another default.
    private static void Check(int code, string call)
    {
        if (code != 0)
        {
            throw new InvalidOperationException($"{call} failed with MPI error {code}.");
        }
    }

    /// <summary>The MPI entry points and predefined handles, resolved once from the loaded library.</summary>
    private sealed class Native
    {
        public delegate* unmanaged<int*, int> Initialized;
        public delegate* unmanaged<int*, byte***, int, int*, int> InitThread;
        public delegate* unmanaged<int> Finalize;
        public delegate* unmanaged<nint, int*, int> CommRank;
        public delegate* unmanaged<nint, int*, int> CommSize;
        public delegate* unmanaged<nint, int> Barrier;
        public delegate* unmanaged<void*, int, nint, int, nint, int> Bcast;
        public delegate* unmanaged<void*, void*, int, nint, nint, nint, int> Allreduce;
        public delegate* unmanaged<void*, int, nint, void*, int*, int*, nint, nint, int> Allgatherv;
        public delegate* unmanaged<nint, int, int> Abort;
        public nint CommWorld, Byte, Float, Double, Sum, Max;

        public static Native Load()
        {
            // Open MPI loads its components (mca_*.so) with dlopen, and they resolve symbols of libmpi itself: it must be
            // loaded RTLD_GLOBAL, which NativeLibrary.Load does not do.
            var path = Environment.GetEnvironmentVariable("SPARSE_MPI_LIBRARY");
            var names = path is { Length: > 0 } ? [path] : new[] { "libmpi.so.40", "libmpi.so" };
            nint handle = 0;
            foreach (var name in names)
            {
                handle = OperatingSystem.IsLinux() ? DlOpen(name, RtldNow | RtldGlobal) : 0;
                if (handle != 0)
                {
                    break;
                }
            }

            if (handle == 0)
            {
                throw new DllNotFoundException($"Could not load the MPI library ({string.Join(" or ", names)}). Install Open MPI (Debian: apt-get install openmpi-bin libopenmpi-dev) or set SPARSE_MPI_LIBRARY to its libmpi.so.");
            }

            nint Export(string name) => NativeLibrary.TryGetExport(handle, name, out var address)
                ? address
                : throw new DllNotFoundException($"The MPI library lacks {name}: Sparse.Distributed speaks Open MPI's interface only.");
            return new Native
            {
                Initialized = (delegate* unmanaged<int*, int>)Export("MPI_Initialized"),
                InitThread = (delegate* unmanaged<int*, byte***, int, int*, int>)Export("MPI_Init_thread"),
                Finalize = (delegate* unmanaged<int>)Export("MPI_Finalize"),
                CommRank = (delegate* unmanaged<nint, int*, int>)Export("MPI_Comm_rank"),
                CommSize = (delegate* unmanaged<nint, int*, int>)Export("MPI_Comm_size"),
                Barrier = (delegate* unmanaged<nint, int>)Export("MPI_Barrier"),
                Bcast = (delegate* unmanaged<void*, int, nint, int, nint, int>)Export("MPI_Bcast"),
                Allreduce = (delegate* unmanaged<void*, void*, int, nint, nint, nint, int>)Export("MPI_Allreduce"),
                Allgatherv = (delegate* unmanaged<void*, int, nint, void*, int*, int*, nint, nint, int>)Export("MPI_Allgatherv"),
                Abort = (delegate* unmanaged<nint, int, int>)Export("MPI_Abort"),
                CommWorld = Export("ompi_mpi_comm_world"),
                Byte = Export("ompi_mpi_byte"),
                Float = Export("ompi_mpi_float"),
                Double = Export("ompi_mpi_double"),
                Sum = Export("ompi_mpi_op_sum"),
                Max = Export("ompi_mpi_op_max"),
            };
        }

        [DllImport("libc", EntryPoint = "dlopen")]
        private static extern nint DlOpen(string file, int mode);
    }
}
