namespace Sparse.Training;

/// <summary>
/// One component's part of a <see cref="Checkpoint"/>: its name, the version of its layout and its bytes. The component
/// that writes a section is the one that reads it, and refuses a version newer than it knows.
/// </summary>
/// <param name="Name">The section's name, unique in a file (for example <c>recipe</c> or <c>hook.0</c>).</param>
/// <param name="Version">The layout of <paramref name="Data"/>, 1 first; a component raises it when it changes what it writes.</param>
/// <param name="Data">The bytes, as the component wrote them.</param>
public sealed record CheckpointSection(string Name, int Version, byte[] Data)
{
    /// <summary>A section of the bytes <paramref name="write"/> writes.</summary>
    public static CheckpointSection Write(string name, int version, Action<BinaryWriter> write)
    {
        ArgumentNullException.ThrowIfNull(write);
        using var bytes = new MemoryStream();
        using (var writer = new BinaryWriter(bytes, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            write(writer);
        }

        return new CheckpointSection(name, version, bytes.ToArray());
    }

    /// <summary>
    /// Reads the section with <paramref name="read"/>, which gets a reader and the section's version; the section must be
    /// of a version from 1 to <paramref name="newestVersion"/>, and <paramref name="read"/> must take all of its bytes.
    /// </summary>
    /// <exception cref="InvalidDataException">A newer version, a truncated or over-long section, or whatever <paramref name="read"/> refuses; the message names the section.</exception>
    public T Read<T>(int newestVersion, Func<BinaryReader, int, T> read)
    {
        ArgumentNullException.ThrowIfNull(read);
        CheckVersion(Name, Version, newestVersion);

        using var reader = new BinaryReader(new MemoryStream(Data, writable: false));
        try
        {
            var value = read(reader, Version);
            if (reader.BaseStream.Position != Data.Length)
            {
                throw new InvalidDataException($"the {Name} section holds {Data.Length - reader.BaseStream.Position} bytes more than its layout");
            }

            return value;
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException($"the {Name} section is truncated", e);
        }
        catch (Exception e) when (e is ArgumentException or OverflowException or FormatException)
        {
            throw new InvalidDataException($"the {Name} section is damaged ({e.Message})", e);
        }
    }

    /// <summary>Throws unless <paramref name="version"/> is from 1 to <paramref name="newestVersion"/>.</summary>
    internal static void CheckVersion(string name, int version, int newestVersion)
    {
        if (version < 1 || version > newestVersion)
        {
            throw new InvalidDataException($"the {name} section has layout version {version}; this build reads versions 1 to {newestVersion}" +
                (version > newestVersion ? ", so the file was written by a newer build" : string.Empty));
        }
    }
}
