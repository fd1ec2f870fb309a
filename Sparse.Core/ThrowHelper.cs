using System.Diagnostics.CodeAnalysis;

namespace Sparse.Core;

/// <summary>One throw site per message, so callers stay small enough to inline.</summary>
internal static class ThrowHelper
{
    [DoesNotReturn]
    public static void Argument(string message, string? paramName = null) =>
        throw new ArgumentException(message, paramName);

    [DoesNotReturn]
    public static void ArgumentOutOfRange(string paramName, string message) =>
        throw new ArgumentOutOfRangeException(paramName, message);

    /// <summary>Throws when a dense operand's length is not <paramref name="rows"/> x <paramref name="batch"/>.</summary>
    public static void CheckDense(int length, long rows, int batch, string paramName)
    {
        if (length != rows * batch)
        {
            Argument($"Expected {rows} x {batch} = {rows * batch} elements (features x batch), got {length}.", paramName);
        }
    }
}
