namespace Sparse.Cli;

/// <summary>Checks, before any work, that every file a command will write can be written and overwrites no input.</summary>
internal static class OutputPaths
{
    /// <summary>
    /// Each output's directory must exist and be writable, the output must not be a directory, no two outputs
    /// may be the same file, and no output may be one of <paramref name="inputs"/>.
    /// </summary>
    /// <exception cref="UserError">Names the option and the path.</exception>
    public static void Check(IEnumerable<(string Option, string? Path)> outputs, IEnumerable<(string Option, string? Path)> inputs)
    {
        var seen = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (option, path) in inputs)
        {
            if (path is not null)
            {
                seen.TryAdd(Full(path), option);
            }
        }

        foreach (var (option, path) in outputs)
        {
            if (path is null)
            {
                continue;
            }

            if (string.IsNullOrWhiteSpace(path))
            {
                throw new UserError($"{option} needs a file name.");
            }

            var full = Full(path);
            if (seen.TryGetValue(full, out var other))
            {
                throw new UserError($"{option} {path} is the same file as {other}; it would be overwritten.");
            }

            seen.Add(full, option);
            if (Directory.Exists(full))
            {
                throw new UserError($"{option} {path} is a directory; give a file name.");
            }

            var directory = Path.GetDirectoryName(full)!;
            if (!Directory.Exists(directory))
            {
                throw new UserError($"{option} {path}: the directory {directory} does not exist.");
            }

            var probe = Path.Combine(directory, $".sparse-write-test.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
            try
            {
                using (File.Create(probe, 1, FileOptions.DeleteOnClose))
                {
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new UserError($"{option} {path}: cannot write in {directory} ({e.Message}).");
            }
        }
    }

    private static string Full(string path) => Path.GetFullPath(path);
}
