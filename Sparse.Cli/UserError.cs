namespace Sparse.Cli;

/// <summary>A mistake in the user's input: printed as one line on stderr, no stack trace, exit code 1.</summary>
internal sealed class UserError(string message) : Exception(message);
