using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;

namespace Sparse.Cli;

/// <summary>
/// Log lines as a person reads them: the message alone (an epoch's figures, a layer's rewiring), with "warning: " or
/// "error: " in front when it is one, and no category, event id or level column.
/// </summary>
internal sealed class PlainConsoleFormatter() : ConsoleFormatter(FormatterName)
{
    /// <summary>The name the console logger selects this formatter by.</summary>
    public const string FormatterName = "plain";

    /// <inheritdoc/>
    public override void Write<TState>(in LogEntry<TState> logEntry, IExternalScopeProvider? scopeProvider, TextWriter textWriter)
    {
        var message = logEntry.Formatter(logEntry.State, logEntry.Exception);
        if (string.IsNullOrEmpty(message) && logEntry.Exception is null)
        {
            return;
        }

        textWriter.Write(Format(logEntry.LogLevel, message, logEntry.Exception));
    }

    /// <summary>The line(s) of one log entry, each ended by a newline.</summary>
    public static string Format(LogLevel level, string message, Exception? exception)
    {
        var prefix = level switch
        {
            LogLevel.Warning => "warning: ",
            LogLevel.Error or LogLevel.Critical => "error: ",
            _ => string.Empty,
        };
        return prefix + message + Environment.NewLine + (exception is null ? string.Empty : exception.Message + Environment.NewLine);
    }
}

/// <summary>
/// Log lines on a terminal while a live progress bar is drawn: written through Spectre.Console, which prints them
/// above the bar instead of through it, in <see cref="PlainConsoleFormatter"/>'s form.
/// </summary>
internal sealed class TerminalLoggerProvider : ILoggerProvider
{
    /// <inheritdoc/>
    public ILogger CreateLogger(string categoryName) => new TerminalLogger();

    /// <inheritdoc/>
    public void Dispose()
    {
    }

    private sealed class TerminalLogger : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var message = formatter(state, exception);
            if (!string.IsNullOrEmpty(message) || exception is not null)
            {
                Spectre.Console.AnsiConsole.Write(new Spectre.Console.Text(PlainConsoleFormatter.Format(logLevel, message, exception)));
            }
        }
    }
}
