using System.Runtime.InteropServices;

namespace Sparse.Training;

/// <summary>Arrays and optional numbers as the checkpoint sections write them: a length, then the raw little-endian elements.</summary>
internal static class BinaryCodec
{
    public static void WriteArray<T>(BinaryWriter w, ReadOnlySpan<T> array)
        where T : unmanaged
    {
        w.Write((long)array.Length);
        w.Write(MemoryMarshal.AsBytes(array));
    }

    public static T[] ReadArray<T>(BinaryReader r)
        where T : unmanaged
    {
        var length = r.ReadInt64();
        if (length < 0 || length > Array.MaxLength)
        {
            throw new InvalidDataException($"array length {length} is not plausible");
        }

        // Never trust a length beyond what the stream still holds: a corrupted length must not allocate gigabytes.
        var stream = r.BaseStream;
        if (stream.CanSeek && length * System.Runtime.CompilerServices.Unsafe.SizeOf<T>() > stream.Length - stream.Position)
        {
            throw new EndOfStreamException();
        }

        var array = new T[length];
        stream.ReadExactly(MemoryMarshal.AsBytes(array.AsSpan()));
        return array;
    }

    public static void WriteNullable(BinaryWriter w, float? value)
    {
        w.Write(value.HasValue);
        w.Write(value ?? 0);
    }

    public static float? ReadNullable(BinaryReader r)
    {
        var has = r.ReadBoolean();
        var value = r.ReadSingle();
        return has ? value : null;
    }
}
