using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Sparse.Core;

/// <summary>Software prefetch for code that knows where it will read next and the hardware prefetcher cannot.</summary>
internal static unsafe class Prefetch
{
    /// <summary>
    /// Starts loading the cache line of <c>array[index]</c> into all cache levels. A hint: a moved array (the GC may
    /// compact) or an index past the end costs nothing but the hint, as x86 prefetches never fault.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Line<T>(T[] array, int index)
        where T : unmanaged
    {
        if (System.Runtime.Intrinsics.X86.Sse.IsSupported)
        {
            System.Runtime.Intrinsics.X86.Sse.Prefetch0(Unsafe.AsPointer(ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(array), (nint)index)));
        }
    }
}
