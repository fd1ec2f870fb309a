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

        var prefix = logEntry.LogLevel switch
        {
            LogLevel.Warning => "warning: ",
            LogLevel.Error or LogLevel.Critical => "error: ",
            _ => string.Empty,
        };
        textWriter.WriteLine(prefix + message);
        if (logEntry.Exception is not null)
        {
            textWriter.WriteLine(logEntry.Exception.Message);
        }
    }
}
