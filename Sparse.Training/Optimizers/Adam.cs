using System.Numerics;
using Sparse.Core;

namespace Sparse.Training;

/// <summary>
/// Adam (Kingma and Ba) with bias correction: <c>m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
/// w -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)</c>. With <see cref="Decoupled"/> it is AdamW
/// (<c>w -= lr * wd * w</c> before the step); otherwise weight decay is L2 added to g. Biases never decay.
/// </summary>
public sealed class Adam : Optimizer
{
    /// <summary>Creates the optimizer.</summary>
    public Adam(float learningRate = 0.001f, float beta1 = 0.9f, float beta2 = 0.999f, float epsilon = 1e-8f, float weightDecay = 0, bool decoupled = false)
        : base(learningRate, 2)
    {
        Beta1 = beta1;
        Beta2 = beta2;
        Epsilon = epsilon;
        WeightDecay = weightDecay;
        Decoupled = decoupled;
    }

    /// <summary>AdamW: Adam with decoupled weight decay.</summary>
    public static Adam W(float learningRate = 0.001f, float weightDecay = 0.01f) => new(learningRate, weightDecay: weightDecay, decoupled: true);

    /// <summary>Decay of the first moment.</summary>
    public float Beta1 { get; }

    /// <summary>Decay of the second moment.</summary>
    public float Beta2 { get; }

    /// <summary>Added to the denominator.</summary>
    public float Epsilon { get; }

    /// <summary>Weight decay coefficient.</summary>
    public override float WeightDecay { get; }

    /// <summary>Whether weight decay is decoupled from the gradient (AdamW).</summary>
    public bool Decoupled { get; }

    /// <inheritdoc/>
    protected override void Update(Parameter parameter, float[][] state, int start, int count, StepRates rates, ComputeOptions options)
    {
        var w = parameter.Values.AsSpan(start, count);
        var g = parameter.Gradient.AsSpan(start, count);
        Span<float> m = state[0].AsSpan(start, count), v = state[1].AsSpan(start, count);
        var correction1 = 1 - Math.Pow(Beta1, StepCount);
        var correction2 = 1 - Math.Pow(Beta2, StepCount);
        var stepSize = (float)(rates.LearningRate / correction1);
        var rootCorrection2 = (float)Math.Sqrt(correction2);
        var decay = parameter.Decays ? rates.WeightDecay : 0;
        var shrink = Decoupled ? 1 - (rates.LearningRate * decay) : 1;
        var l2 = Decoupled ? 0 : decay;
        var k = 0;
        if (options.Vectorized && Vector.IsHardwareAccelerated)
        {
            // The same arithmetic as the scalar loop below, Vector<float>.Count entries at a time.
            var width = Vector<float>.Count;
            var b1 = new Vector<float>(Beta1);
            var b2 = new Vector<float>(Beta2);
            var oneMinusB1 = new Vector<float>(1 - Beta1);
            var oneMinusB2 = new Vector<float>(1 - Beta2);
            var l2s = new Vector<float>(l2);
            var shrinks = new Vector<float>(shrink);
            var steps = new Vector<float>(stepSize);
            var roots = new Vector<float>(rootCorrection2);
            var epsilons = new Vector<float>(Epsilon);
            for (; k + width <= w.Length; k += width)
            {
                var weight = new Vector<float>(w[k..]);
                var gradient = new Vector<float>(g[k..]) + (l2s * weight);
                var first = (b1 * new Vector<float>(m[k..])) + (oneMinusB1 * gradient);
                var second = (b2 * new Vector<float>(v[k..])) + (oneMinusB2 * gradient * gradient);
                first.CopyTo(m[k..]);
                second.CopyTo(v[k..]);
                ((weight * shrinks) - (steps * first / ((Vector.SquareRoot(second) / roots) + epsilons))).CopyTo(w[k..]);
            }
        }

        for (; k < w.Length; k++)
        {
            var gradient = g[k] + (l2 * w[k]);
            m[k] = (Beta1 * m[k]) + ((1 - Beta1) * gradient);
            v[k] = (Beta2 * v[k]) + ((1 - Beta2) * gradient * gradient);
            w[k] = (w[k] * shrink) - (stepSize * m[k] / ((MathF.Sqrt(v[k]) / rootCorrection2) + Epsilon));
        }
    }
}
