using System.Runtime.InteropServices;
using Spectre.Console;

namespace Sparse.Cli;

/// <summary>What every command shares: error handling, output and progress.</summary>
internal static class Cli
{
    /// <summary>Runs a command; a user's mistake becomes one line on stderr and exit code 1, never a stack trace.</summary>
    public static int Guard(Func<int> run)
    {
        try
        {
            return run();
        }
        catch (Exception e) when (IsReported(e))
        {
            Console.Error.WriteLine($"sparse: {e.Message}");
            return 1;
        }
    }

    /// <summary>
    /// Whether <paramref name="e"/> is an error <see cref="Guard"/> reports as one line with exit code 1 (bad input,
    /// options or files), rather than a failure with a stack trace.
    /// </summary>
    public static bool IsReported(Exception e) =>
        e is UserError or DataFormatException or IOException or UnauthorizedAccessException or InvalidDataException;

    /// <summary>Informational lines on stdout, silent with --quiet.</summary>
    public static Action<string> Sayer(bool quiet) => quiet ? _ => { } : Console.WriteLine;

    /// <summary>Loads a model file, turning a missing or damaged file into a user error.</summary>
    public static Checkpoint LoadModel(string path)
    {
        if (Directory.Exists(path))
        {
            throw new UserError($"{path}: is a directory, not a model file.");
        }

        if (!File.Exists(path))
        {
            throw new UserError($"{path}: no such model file.");
        }

        return Checkpoint.Load(path);
    }

    /// <summary>
    /// The table <paramref name="checkpoint"/> reads: its saved schema, or for a model saved from the library
    /// without one, features column1..columnN by position, the label last and classes named by output index.
    /// </summary>
    public static TabularSchema SchemaOf(Checkpoint checkpoint)
    {
        var network = checkpoint.Network;
        return checkpoint.Schema ?? new TabularSchema(
            [.. Enumerable.Range(1, network.InputSize).Select(c => $"column{c}")],
            $"column{network.InputSize + 1}",
            network.InputSize,
            [.. Enumerable.Range(0, network.OutputSize).Select(c => c.ToString(CultureInfo.InvariantCulture))]);
    }

    /// <summary>Whether standard output is an interactive terminal, where a live progress bar is drawn.</summary>
    public static bool ShowsProgress => !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;

    /// <summary>
    /// Runs <paramref name="fit"/> under a live progress bar (epoch, batch, loss, accuracy, samples per
    /// second, time left) when stdout is a terminal; otherwise the trainer's plain log lines do.
    /// </summary>
    public static void WithProgress(Trainer trainer, bool quiet, Action fit)
    {
        if (quiet || !ShowsProgress)
        {
            fit();
            return;
        }

        AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(context =>
            {
                var task = context.AddTask("training", maxValue: trainer.Options.Epochs);
                trainer.Progress += p =>
                {
                    var accuracy = p.Accuracy is { } a ? $", accuracy {a.ToString("P1", CultureInfo.InvariantCulture)}" : string.Empty;
                    task.Description = $"epoch {p.Epoch + 1}/{trainer.Options.Epochs}, batch {p.Batch}/{p.Batches}, loss {p.Loss.ToString("F4", CultureInfo.InvariantCulture)}{accuracy}, {p.SamplesPerSecond:N0} samples/s";
                    task.Value = p.Epoch + ((double)p.Batch / p.Batches);
                };
                fit();
                task.Value = task.MaxValue;
            });
    }
}

/// <summary>
/// Ctrl+C (SIGINT) and SIGTERM, caught while it lives: the process is not ended, <see cref="Token"/> is cancelled, and
/// <see cref="ExitCode"/> says what to exit with (130 or 143; 0 while no signal came). Training stops after the
/// current batch on the token.
/// </summary>
internal sealed class SignalStop : IDisposable
{
    private readonly CancellationTokenSource _source = new();
    private readonly PosixSignalRegistration _interrupt;
    private readonly PosixSignalRegistration _terminate;

    public SignalStop()
    {
        _interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        _terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
    }

    public CancellationToken Token => _source.Token;

    public int ExitCode { get; private set; }

    public void Dispose()
    {
        _interrupt.Dispose();
        _terminate.Dispose();
        _source.Dispose();
    }

    private void OnSignal(PosixSignalContext context)
    {
        context.Cancel = true;
        ExitCode = context.Signal == PosixSignal.SIGTERM ? 143 : 130;
        _source.Cancel();
    }
}
