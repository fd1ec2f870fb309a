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
        var directory = Path.GetDirectoryName(full)!;
        RemoveStale(directory, Path.GetFileName(full));
        var temporary = Path.Combine(directory, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
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

    /// <summary>
    /// Removes temporary files of <paramref name="name"/> left by a writer that was killed (its process no
    /// longer runs); a live writer's file is left alone. Best effort: a file that cannot be removed stays.
    /// </summary>
    private static void RemoveStale(string directory, string name)
    {
        var prefix = $".{name}.";
        foreach (var path in Directory.EnumerateFiles(directory, $".{name}.*.tmp"))
        {
            var parts = Path.GetFileName(path)[prefix.Length..].Split('.');
            if (parts.Length != 3 || !int.TryParse(parts[0], out var pid) || parts[1].Length != 32 || IsRunning(pid))
            {
                continue;
            }

            try
            {
                File.Delete(path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Another process may be cleaning up too; the next write tries again.
            }
        }
    }

    private static bool IsRunning(int pid)
    {
        if (pid == Environment.ProcessId)
        {
            return true;
        }

        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            return false;
        }
    }
}
