using Sparse.Core;

namespace Sparse.Training;

/// <summary>Gradient-norm clipping over all parameters, between Backward and the optimizer step.</summary>
public static class GradientClipping
{
    /// <summary>
    /// Scales every gradient by <c>min(1, maxNorm / ||g||)</c>, where <c>||g||</c> is the Euclidean norm of all
    /// gradients together (stored connections and biases), and returns <c>||g||</c> before clipping.
    /// <paramref name="options"/> sets the SIMD level (<see cref="ComputeOptions.Default"/> when null).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxNorm"/> is not a positive finite number.</exception>
    public static double ClipByGlobalNorm(IReadOnlyList<Parameter> parameters, float maxNorm, ComputeOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (!float.IsFinite(maxNorm) || maxNorm <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(maxNorm), maxNorm, "The clipping norm must be a positive finite number.");
        }

        options ??= ComputeOptions.Default;
        double squares = 0;
        for (var n = 0; n < parameters.Count; n++)
        {
            var g = parameters[n].Gradient.AsSpan(0, parameters[n].Values.Length);
            squares += DenseOps.Dot(g, g, options);
        }

        var norm = Math.Sqrt(squares);
        if (norm > maxNorm)
        {
            var scale = (float)(maxNorm / norm);
            for (var n = 0; n < parameters.Count; n++)
            {
                var g = parameters[n].Gradient.AsSpan(0, parameters[n].Values.Length);
                DenseOps.Multiply(g, scale, g, options);
            }
        }

        return norm;
    }
}
