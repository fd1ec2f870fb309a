namespace Sparse.Bench;

/// <summary>Runs <c>dotnet</c> with arguments as a child process and waits for it: the bench's builds and the CLI.</summary>
internal static class DotnetProcess
{
    /// <summary>Exit code and everything the child wrote (standard error, then standard output).</summary>
    /// <param name="arguments">The arguments, the first of them the assembly to run.</param>
    /// <param name="environment">Variables to set in the child; a null value removes the variable.</param>
    public static (int ExitCode, string Output) Run(IEnumerable<string> arguments, IReadOnlyDictionary<string, string?>? environment = null)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in arguments)
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null)
            {
                start.Environment.Remove(name);
            }
            else
            {
                start.Environment[name] = value;
            }
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, stderr + stdout.Result);
    }
}
