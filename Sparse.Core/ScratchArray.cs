using System.Buffers;

namespace Sparse.Core;

/// <summary>
/// A scratch array for work that recurs (an evolution step every epoch, an optimizer remap): from the shared
/// <see cref="ArrayPool{T}"/> while small, so that each recurrence reuses it instead of allocating on the
/// large-object heap; allocated and left to the garbage collector when large, so that no pool keeps gigabytes
/// alive between steps. Its contents start undefined. Dispose returns a pooled array.
/// </summary>
/// <typeparam name="T">The element type.</typeparam>
public readonly struct ScratchArray<T> : IDisposable
{
    /// <summary>Arrays up to this many elements come from the pool.</summary>
    public const int PooledLength = 1 << 20;

    /// <summary>Takes a scratch array of at least <paramref name="length"/> elements.</summary>
    public ScratchArray(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        Length = length;
        Array = length <= PooledLength ? ArrayPool<T>.Shared.Rent(length) : GC.AllocateUninitializedArray<T>(length);
    }

    /// <summary>The array; it may be longer than <see cref="Length"/>.</summary>
    public T[] Array { get; }

    /// <summary>Elements asked for.</summary>
    public int Length { get; }

    /// <summary>The first <see cref="Length"/> elements.</summary>
    public Span<T> Span => Array.AsSpan(0, Length);

    /// <summary>Returns a pooled array to the pool; the array must not be used afterwards.</summary>
    public void Dispose()
    {
        if (Array is not null && Length <= PooledLength)
        {
            ArrayPool<T>.Shared.Return(Array);
        }
    }
}
