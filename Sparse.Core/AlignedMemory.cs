using System.Runtime.InteropServices;

namespace Sparse.Core;

/// <summary>
/// Dense buffers whose first element sits on a 64-byte boundary. The kernels load whole vectors from
/// the start of each feature row; when a row starts off a cache-line boundary every 512-bit load spans
/// two lines, which measured 2.5x slower for the input gradient. Managed arrays only promise 8 or 16
/// bytes, so these come from the pinned object heap at an aligned offset.
/// </summary>
public static partial class AlignedMemory
{
    /// <summary>The alignment of <see cref="Allocate(int)"/>, in bytes.</summary>
    public const int Alignment = 64;

    /// <summary>The size of a transparent huge page on x86-64 Linux, and the alignment of huge-page buffers.</summary>
    public const int HugePageBytes = 2 << 20;

    // Below two huge pages, the 2 MiB of slack an aligned buffer needs is not worth it.
    private const long HugePageMinimumBytes = 2L * HugePageBytes;

    private const int MadviseHugePage = 14; // MADV_HUGEPAGE in linux/mman.h

    /// <summary>A zeroed buffer of <paramref name="length"/> floats starting on a 64-byte boundary.</summary>
    public static Memory<float> Allocate(int length) => Allocate(length, hugePages: false);

    /// <summary>
    /// A zeroed buffer of <paramref name="length"/> floats starting on a 64-byte boundary. With
    /// <paramref name="hugePages"/>, a buffer of 4 MiB or more starts on a 2 MiB boundary and, on Linux, is advised
    /// for transparent huge pages before its pages are first touched, so the kernel backs it with 2 MiB pages
    /// where it can (in the <c>madvise</c> or <c>always</c> mode of <c>/sys/kernel/mm/transparent_hugepage/enabled</c>).
    /// Where that fails the buffer is the same, in ordinary pages.
    /// </summary>
    public static Memory<float> Allocate(int length, bool hugePages) => Allocate<float>(length, hugePages);

    /// <summary>
    /// A zeroed buffer of <paramref name="length"/> elements of <typeparamref name="T"/> (for example
    /// <see cref="BFloat16"/>), aligned and advised as <see cref="Allocate(int, bool)"/> does for floats.
    /// </summary>
    public static unsafe Memory<T> Allocate<T>(int length, bool hugePages)
        where T : unmanaged
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        var bytes = (long)length * sizeof(T);
        return AllocateAligned<T>(length, hugePageBuffer: hugePages && bytes >= HugePageMinimumBytes && OperatingSystem.IsLinux());
    }

    /// <summary>Whether <paramref name="buffer"/> starts on a boundary of <paramref name="alignment"/> bytes.</summary>
    public static unsafe bool IsAligned(Memory<float> buffer, int alignment)
    {
        fixed (float* start = buffer.Span)
        {
            return (nuint)start % (nuint)alignment == 0;
        }
    }

    private static unsafe Memory<T> AllocateAligned<T>(int length, bool hugePageBuffer)
        where T : unmanaged
    {
        var alignment = hugePageBuffer ? HugePageBytes : Alignment;
        var slack = alignment / sizeof(T);

        // A huge-page buffer must be advised before its pages are touched, so it is not zeroed by the allocator
        // (fresh pages from the kernel are zero anyway) but cleared after the advice.
        var array = hugePageBuffer
            ? GC.AllocateUninitializedArray<T>(length + slack, pinned: true)
            : GC.AllocateArray<T>(length + slack, pinned: true);
        fixed (T* start = array)
        {
            var misalignment = (int)((nuint)start % (nuint)alignment) / sizeof(T);
            var offset = misalignment == 0 ? 0 : slack - misalignment;
            var memory = array.AsMemory(offset, length);
            if (hugePageBuffer)
            {
                // Whole huge pages inside the buffer; the kernel may refuse (THP off), which costs nothing.
                var bytes = (nuint)((long)length * sizeof(T)) / HugePageBytes * HugePageBytes;
                if (bytes > 0)
                {
                    _ = Madvise(start + offset, bytes, MadviseHugePage);
                }
            }

            if (hugePageBuffer)
            {
                memory.Span.Clear();
            }

            return memory;
        }
    }

    [LibraryImport("libc", EntryPoint = "madvise", SetLastError = true)]
    private static unsafe partial int Madvise(void* address, nuint length, int advice);
}
