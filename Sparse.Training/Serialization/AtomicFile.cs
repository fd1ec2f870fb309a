namespace Sparse.Training;

/// <summary>
/// Writes a file through a temporary file beside it, flushed to disk and then renamed over the target,
/// so a crash or an exception never leaves half a file and never touches what was there before.
/// </summary>
public static class AtomicFile
{
    /// <summary>
    /// Calls <paramref name="write"/> with a stream to a temporary file (which it may close), syncs the file
    /// to disk, then moves it to <paramref name="path"/>.
    /// </summary>
    /// <exception cref="Exception">Whatever <paramref name="write"/> throws; the temporary file is removed and <paramref name="path"/> is untouched.</exception>
    public static void Write(string path, Action<Stream> write)
    {
        ArgumentNullException.ThrowIfNull(write);
        var full = Path.GetFullPath(path);
        var temporary = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            bool flushed;
            using (var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                write(file);

                // A writer may close the stream it was given (StreamWriter does); then sync through a new handle.
                flushed = file.CanWrite;
                if (flushed)
                {
                    file.Flush(flushToDisk: true);
                }
            }

            if (!flushed)
            {
                using var reopened = new FileStream(temporary, FileMode.Open, FileAccess.ReadWrite);
                reopened.Flush(flushToDisk: true);
            }

            File.Move(temporary, full, overwrite: true);
        }
        finally
        {
            File.Delete(temporary);
        }
    }
}
