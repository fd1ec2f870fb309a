using System.Diagnostics;

namespace Sparse.Tests.Cli;

/// <summary>Runs the built CLI (sparse.dll) as a separate process in a working directory.</summary>
internal static class CliRunner
{
    public static string Dll => Path.Combine(TestContext.CurrentContext.TestDirectory, "sparse.dll");

    public static Process Start(string workingDirectory, IEnumerable<string> args) => StartProgram("dotnet", workingDirectory, args.Prepend(Dll));

    /// <summary>Starts <paramref name="program"/> with its output and error redirected.</summary>
    public static Process StartProgram(string program, string workingDirectory, IEnumerable<string> args)
    {
        var start = new ProcessStartInfo(program)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        return Process.Start(start)!;
    }

    /// <summary>SIGINT, as Ctrl+C sends it.</summary>
    public const int SigInt = 2;

    /// <summary>SIGTERM, as a scheduler stops a job.</summary>
    public const int SigTerm = 15;

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    /// <summary>
    /// Runs the CLI until it prints a line containing <paramref name="marker"/>, sends it <paramref name="signal"/>,
    /// and waits for it to exit. Delivered is false when the process had already exited.
    /// </summary>
    public static (int Exit, string Error, bool Delivered) RunUntilSignal(string workingDirectory, IEnumerable<string> args, string marker, int signal)
    {
        using var process = Start(workingDirectory, args);
        var error = process.StandardError.ReadToEndAsync();
        string? line;
        while ((line = process.StandardOutput.ReadLine()) is not null && !line.Contains(marker, StringComparison.Ordinal))
        {
        }

        Assert.That(line, Is.Not.Null, $"'{marker}' was printed");
        var delivered = Kill(process.Id, signal) == 0;
        if (!process.WaitForExit(TimeSpan.FromMinutes(1)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"sparse {string.Join(' ', args)} did not stop within a minute of signal {signal}");
        }

        _ = process.StandardOutput.ReadToEnd();
        return (process.ExitCode, error.Result, delivered);
    }

    public static (int Exit, string Out, string Error) Run(string workingDirectory, params string[] args)
    {
        using var process = Start(workingDirectory, args);
        return Finish(process, TimeSpan.FromMinutes(3), $"sparse {string.Join(' ', args)}");
    }

    /// <summary>Waits for <paramref name="process"/> and returns its exit code and output; fails the test (killing it) after <paramref name="limit"/>.</summary>
    public static (int Exit, string Out, string Error) Finish(Process process, TimeSpan limit, string what)
    {
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(limit))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{what} did not finish in {limit.TotalMinutes} minutes");
        }

        return (process.ExitCode, output.Result, error.Result);
    }
}
