using System.Numerics;
using Sparse.Core;

namespace Sparse.Training;

/// <summary>The element-wise non-linearities.</summary>
public enum ActivationKind
{
    /// <summary><c>max(0, x)</c>.</summary>
    Relu,

    /// <summary><c>x</c> for x at or above 0, <c>slope * x</c> below.</summary>
    LeakyRelu,

    /// <summary>
    /// All-ReLU (Curci et al.): a leaky ReLU whose negative slope alternates in sign by hidden layer,
    /// <c>-a, +a, -a, ...</c>; <see cref="Activation.AllRelu"/> picks the sign from the layer's position.
    /// </summary>
    AllRelu,

    /// <summary>Hyperbolic tangent.</summary>
    Tanh,

    /// <summary><c>1 / (1 + exp(-x))</c>.</summary>
    Sigmoid,
}

/// <summary>An element-wise activation layer; shape (features, batch) in and out.</summary>
public sealed class Activation : Layer
{
    /// <summary>Creates the activation <paramref name="kind"/> over <paramref name="size"/> features.</summary>
    /// <param name="kind">Which function.</param>
    /// <param name="size">Features in and out.</param>
    /// <param name="slope">Slope below zero for <see cref="ActivationKind.LeakyRelu"/> and <see cref="ActivationKind.AllRelu"/> (signed).</param>
    public Activation(ActivationKind kind, int size, float slope = 0.01f)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(size);
        Kind = kind;
        Size = size;
        Slope = kind is ActivationKind.LeakyRelu or ActivationKind.AllRelu ? slope : 0;
    }

    /// <summary>All-ReLU for hidden layer <paramref name="hiddenIndex"/> (0 first): slope <c>-a</c>, <c>+a</c>, <c>-a</c>, ...</summary>
    public static Activation AllRelu(int size, int hiddenIndex, float alpha = 0.6f) =>
        new(ActivationKind.AllRelu, size, hiddenIndex % 2 == 0 ? -alpha : alpha);

    /// <summary>Which function.</summary>
    public ActivationKind Kind { get; }

    /// <summary>Features in and out.</summary>
    public int Size { get; }

    /// <summary>Slope below zero for the leaky kinds; 0 otherwise.</summary>
    public float Slope { get; }

    /// <inheritdoc/>
    public override int InputSize => Size;

    /// <inheritdoc/>
    public override int OutputSize => Size;

    /// <inheritdoc/>
    public override void Forward(ReadOnlySpan<float> input, Span<float> output, int batch, bool training, ComputeOptions? options = null)
    {
        options ??= ComputeOptions.Default;
        var n = Size * batch;
        input = input[..n];
        output = output[..n];
        switch (Kind)
        {
            case ActivationKind.Relu:
                DenseOps.Max(input, 0f, output, options);
                break;
            case ActivationKind.Tanh:
                DenseOps.Tanh(input, output, options);
                break;
            case ActivationKind.Sigmoid:
                DenseOps.Sigmoid(input, output, options);
                break;
            default:
                // y = x >= 0 ? x : slope * x (not max(x, slope * x), which is wrong for All-ReLU's negative slopes).
                ScaleBelowZero(input, input, output, Slope, options);
                break;
        }
    }

    /// <inheritdoc/>
    public override void Backward(ReadOnlySpan<float> input, ReadOnlySpan<float> output, ReadOnlySpan<float> outputGradient, Span<float> inputGradient, int batch, ComputeOptions? options = null)
    {
        if (inputGradient.IsEmpty)
        {
            return;
        }

        options ??= ComputeOptions.Default;
        var n = Size * batch;
        input = input[..n];
        output = output[..n];
        outputGradient = outputGradient[..n];
        inputGradient = inputGradient[..n];
        switch (Kind)
        {
            case ActivationKind.Tanh:
                // dx = dy * (1 - y^2)
                DenseOps.Multiply(output, output, inputGradient, options);
                DenseOps.Subtract(1f, inputGradient, inputGradient, options);
                DenseOps.Multiply(inputGradient, outputGradient, inputGradient, options);
                break;
            case ActivationKind.Sigmoid:
                // dx = dy * y * (1 - y)
                DenseOps.Subtract(1f, output, inputGradient, options);
                DenseOps.Multiply(inputGradient, output, inputGradient, options);
                DenseOps.Multiply(inputGradient, outputGradient, inputGradient, options);
                break;
            case ActivationKind.Relu:
                // dx = y > 0 ? dy : +0. Read from the output, which is above zero exactly where the input is: a
                // network that fuses the ReLU into the layer before it never stores the input.
                PassWherePositive(output, outputGradient, inputGradient, options);
                break;
            default:
                // dx = x >= 0 ? dy : slope * dy.
                ScaleBelowZero(input, outputGradient, inputGradient, Slope, options);
                break;
        }
    }

    // dx[k] = gate[k] > 0 ? dy[k] : +0, the same as the kernels' fused form (SparseOps.MultiplyTransposedGated).
    private static void PassWherePositive(ReadOnlySpan<float> gate, ReadOnlySpan<float> dy, Span<float> dx, ComputeOptions options)
    {
        var k = 0;
        if (options.Vectorized && Vector.IsHardwareAccelerated)
        {
            for (; k + Vector<float>.Count <= gate.Length; k += Vector<float>.Count)
            {
                var open = Vector.GreaterThan(new Vector<float>(gate[k..]), Vector<float>.Zero);
                Vector.ConditionalSelect(open, new Vector<float>(dy[k..]), Vector<float>.Zero).CopyTo(dx[k..]);
            }
        }

        for (; k < gate.Length; k++)
        {
            dx[k] = gate[k] > 0 ? dy[k] : 0f;
        }
    }

    // dx[k] = x[k] >= 0 ? dy[k] : slope * dy[k]: the leaky kinds are the identity from 0 up (ReLU, by
    // contrast, passes no gradient at 0).
    private static void ScaleBelowZero(ReadOnlySpan<float> input, ReadOnlySpan<float> dy, Span<float> dx, float slope, ComputeOptions options)
    {
        var k = 0;
        if (options.Vectorized && Vector.IsHardwareAccelerated)
        {
            var slopes = new Vector<float>(slope);
            for (; k + Vector<float>.Count <= input.Length; k += Vector<float>.Count)
            {
                var x = new Vector<float>(input[k..]);
                var g = new Vector<float>(dy[k..]);
                var positive = Vector.GreaterThanOrEqual(x, Vector<float>.Zero);
                Vector.ConditionalSelect(positive, g, g * slopes).CopyTo(dx[k..]);
            }
        }

        for (; k < input.Length; k++)
        {
            var positive = input[k] >= 0;
            dx[k] = positive ? dy[k] : slope * dy[k];
        }
    }
}
