using Microsoft.Extensions.Logging;

namespace Sparse.Cli;

/// <summary>The loggers of a training run, as <c>--log-format</c>, <c>--quiet</c> and <c>--verbose</c> ask, and the CLI's own events.</summary>
internal static partial class RunLogging
{
    /// <summary>
    /// JSON events on standard output; or on a terminal, lines printed above the live progress bar; or plain lines.
    /// Topology events (each layer's rewiring) show with <paramref name="verbose"/> or JSON.
    /// </summary>
    public static ILoggerFactory Create(bool json, bool terminal, bool quiet, bool verbose) => LoggerFactory.Create(b =>
    {
        if (json)
        {
            b.AddJsonConsole(o => o.JsonWriterOptions = new System.Text.Json.JsonWriterOptions { Indented = false });
        }
        else if (terminal)
        {
            b.AddProvider(new TerminalLoggerProvider());
        }
        else
        {
            b.AddConsole(o => o.FormatterName = PlainConsoleFormatter.FormatterName)
                .AddConsoleFormatter<PlainConsoleFormatter, Microsoft.Extensions.Logging.Console.ConsoleFormatterOptions>();
        }

        b.SetMinimumLevel(quiet && !json ? LogLevel.Warning : LogLevel.Information);
        b.AddFilter("Sparse.Topology", verbose || json ? LogLevel.Information : LogLevel.Warning);
    });

    /// <summary>A file the run saved: in the JSON stream with <c>--log-format json</c>, one object per event.</summary>
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Saved the {Kind} {Path} after {Epochs} epochs and {Batches} batches")]
    public static partial void Saved(ILogger logger, string kind, string path, int epochs, int batches);

    /// <summary>The error a failing run ends with.</summary>
    [LoggerMessage(EventId = 2, Level = LogLevel.Error, Message = "{Reason}")]
    public static partial void Failed(ILogger logger, string reason);

    /// <summary>The task inferred from the label column (or given), its reason and classes.</summary>
    [LoggerMessage(EventId = 3, Level = LogLevel.Information, Message = "{Line}")]
    public static partial void Task(ILogger logger, string line);
}
