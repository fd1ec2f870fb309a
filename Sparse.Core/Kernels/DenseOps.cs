using System.Numerics.Tensors;

namespace Sparse.Core;

/// <summary>
/// The dense element-wise and reduction operations of a training step (activations, losses, dropout, optimizers,
/// normalization), on <see cref="TensorPrimitives"/> when <see cref="ComputeOptions.Simd"/> allows vectors and on
/// plain loops when it is <see cref="SimdLevel.Scalar"/>, so forcing the scalar path reaches every loop of a step.
/// The scalar loops compute each element with <see cref="MathF"/>; the vector ones may differ from them in the last
/// bits for the transcendental functions (exp, tanh, sigmoid) and for reductions (summation order). Every
/// operation allows the destination to be one of the sources.
/// </summary>
public static class DenseOps
{
    private delegate void Unary(ReadOnlySpan<float> x, Span<float> destination);

    private delegate void Binary(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> destination);

    private delegate void WithScalar(ReadOnlySpan<float> x, float y, Span<float> destination);

    /// <summary><c>destination[k] = max(x[k], y)</c>, NaN propagating and +0 above -0.</summary>
    public static void Max(ReadOnlySpan<float> x, float y, Span<float> destination, ComputeOptions options) =>
        Apply(x, y, destination, options, TensorPrimitives.Max, static (a, b) => MathF.Max(a, b));

    /// <summary><c>destination[k] = max(x[k], y[k])</c>, NaN propagating and +0 above -0.</summary>
    public static void Max(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> destination, ComputeOptions options) =>
        Apply(x, y, destination, options, TensorPrimitives.Max, static (a, b) => MathF.Max(a, b));

    /// <summary><c>destination[k] = tanh(x[k])</c>.</summary>
    public static void Tanh(ReadOnlySpan<float> x, Span<float> destination, ComputeOptions options) =>
        Apply(x, destination, options, TensorPrimitives.Tanh, static a => MathF.Tanh(a));

    /// <summary><c>destination[k] = exp(x[k])</c>.</summary>
    public static void Exp(ReadOnlySpan<float> x, Span<float> destination, ComputeOptions options) =>
        Apply(x, destination, options, TensorPrimitives.Exp, static a => MathF.Exp(a));

    /// <summary><c>destination[k] = 1 / x[k]</c>.</summary>
    public static void Reciprocal(ReadOnlySpan<float> x, Span<float> destination, ComputeOptions options) =>
        Apply(x, destination, options, TensorPrimitives.Reciprocal, static a => 1f / a);

    /// <summary><c>destination[k] = x[k] + y[k]</c>.</summary>
    public static void Add(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> destination, ComputeOptions options) =>
        Apply(x, y, destination, options, TensorPrimitives.Add, static (a, b) => a + b);

    /// <summary><c>destination[k] = x[k] - y[k]</c>.</summary>
    public static void Subtract(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> destination, ComputeOptions options) =>
        Apply(x, y, destination, options, TensorPrimitives.Subtract, static (a, b) => a - b);

    /// <summary><c>destination[k] = x[k] - y</c>.</summary>
    public static void Subtract(ReadOnlySpan<float> x, float y, Span<float> destination, ComputeOptions options) =>
        Apply(x, y, destination, options, TensorPrimitives.Subtract, static (a, b) => a - b);

    /// <summary><c>destination[k] = x[k] * y[k]</c>.</summary>
    public static void Multiply(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> destination, ComputeOptions options) =>
        Apply(x, y, destination, options, TensorPrimitives.Multiply, static (a, b) => a * b);

    /// <summary><c>destination[k] = x[k] * y</c>.</summary>
    public static void Multiply(ReadOnlySpan<float> x, float y, Span<float> destination, ComputeOptions options) =>
        Apply(x, y, destination, options, TensorPrimitives.Multiply, static (a, b) => a * b);

    /// <summary><c>destination[k] = x[k] / y</c>.</summary>
    public static void Divide(ReadOnlySpan<float> x, float y, Span<float> destination, ComputeOptions options) =>
        Apply(x, y, destination, options, TensorPrimitives.Divide, static (a, b) => a / b);

    /// <summary><c>destination[k] = x[k] / y[k]</c>.</summary>
    public static void Divide(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> destination, ComputeOptions options) =>
        Apply(x, y, destination, options, TensorPrimitives.Divide, static (a, b) => a / b);

    /// <summary><c>destination[k] = 1 / (1 + exp(-x[k]))</c>.</summary>
    public static void Sigmoid(ReadOnlySpan<float> x, Span<float> destination, ComputeOptions options)
    {
        // TensorPrimitives.Sigmoid refuses empty spans; an empty batch is nothing to do.
        if (x.IsEmpty)
        {
            Check(0, destination.Length);
            return;
        }

        Apply(x, destination, options, TensorPrimitives.Sigmoid, static a => 1f / (1f + MathF.Exp(-a)));
    }

    /// <summary><c>destination[k] = x - y[k]</c>.</summary>
    public static void Subtract(float x, ReadOnlySpan<float> y, Span<float> destination, ComputeOptions options)
    {
        if (options.Vectorized)
        {
            TensorPrimitives.Subtract(x, y, destination);
            return;
        }

        Check(y.Length, destination.Length);
        for (var k = 0; k < y.Length; k++)
        {
            destination[k] = x - y[k];
        }
    }

    /// <summary><c>destination[k] = x[k] * y + addend[k]</c>, rounded after the product (not fused).</summary>
    public static void MultiplyAdd(ReadOnlySpan<float> x, float y, ReadOnlySpan<float> addend, Span<float> destination, ComputeOptions options)
    {
        if (options.Vectorized)
        {
            TensorPrimitives.MultiplyAdd(x, y, addend, destination);
            return;
        }

        Check(x.Length, addend.Length, destination.Length);
        for (var k = 0; k < x.Length; k++)
        {
            destination[k] = (x[k] * y) + addend[k];
        }
    }

    /// <summary>The sum of <c>x[k] * y[k]</c>.</summary>
    public static float Dot(ReadOnlySpan<float> x, ReadOnlySpan<float> y, ComputeOptions options)
    {
        if (options.Vectorized)
        {
            return TensorPrimitives.Dot(x, y);
        }

        Check(x.Length, y.Length, y.Length);
        var sum = 0f;
        for (var k = 0; k < x.Length; k++)
        {
            sum += x[k] * y[k];
        }

        return sum;
    }

    /// <summary>The Euclidean norm of <paramref name="x"/>.</summary>
    public static float Norm(ReadOnlySpan<float> x, ComputeOptions options) =>
        options.Vectorized ? TensorPrimitives.Norm(x) : MathF.Sqrt(Dot(x, x, options));

    // One operation on either path: TensorPrimitives' vector loop, or the element function in a plain loop.
    private static void Apply(ReadOnlySpan<float> x, Span<float> destination, ComputeOptions options, Unary vector, Func<float, float> element)
    {
        if (options.Vectorized)
        {
            vector(x, destination);
            return;
        }

        Check(x.Length, destination.Length);
        for (var k = 0; k < x.Length; k++)
        {
            destination[k] = element(x[k]);
        }
    }

    private static void Apply(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> destination, ComputeOptions options, Binary vector, Func<float, float, float> element)
    {
        if (options.Vectorized)
        {
            vector(x, y, destination);
            return;
        }

        Check(x.Length, y.Length, destination.Length);
        for (var k = 0; k < x.Length; k++)
        {
            destination[k] = element(x[k], y[k]);
        }
    }

    private static void Apply(ReadOnlySpan<float> x, float y, Span<float> destination, ComputeOptions options, WithScalar vector, Func<float, float, float> element)
    {
        if (options.Vectorized)
        {
            vector(x, y, destination);
            return;
        }

        Check(x.Length, destination.Length);
        for (var k = 0; k < x.Length; k++)
        {
            destination[k] = element(x[k], y);
        }
    }

    private static void Check(int x, int destination)
    {
        if (destination < x)
        {
            ThrowHelper.Argument($"The destination has {destination} elements, the source {x}.", nameof(destination));
        }
    }

    private static void Check(int x, int y, int destination)
    {
        if (y != x)
        {
            ThrowHelper.Argument($"The sources have {x} and {y} elements.", nameof(y));
        }

        Check(x, destination);
    }
}
