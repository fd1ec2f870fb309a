using Sparse.Core;

namespace Sparse.Training;

/// <summary>
/// Stochastic gradient descent with optional momentum, Nesterov momentum and L2 weight decay, as PyTorch
/// defines them: <c>g = grad + wd * w; v = mu * v + g; w -= lr * (nesterov ? g + mu * v : v)</c>
/// (<c>w -= lr * g</c> without momentum). Weight decay skips biases.
/// </summary>
public sealed class Sgd : Optimizer
{
    /// <summary>Creates the optimizer.</summary>
    public Sgd(float learningRate, float momentum = 0, bool nesterov = false, float weightDecay = 0)
        : base(learningRate, momentum > 0 ? 1 : 0)
    {
        if (nesterov && momentum <= 0)
        {
            throw new ArgumentException("Nesterov needs a momentum above 0.", nameof(nesterov));
        }

        Momentum = momentum;
        Nesterov = nesterov;
        WeightDecay = weightDecay;
    }

    /// <summary>mu.</summary>
    public float Momentum { get; }

    /// <summary>Whether the step looks ahead along the velocity.</summary>
    public bool Nesterov { get; }

    /// <summary>L2 coefficient added to the gradient.</summary>
    public override float WeightDecay { get; }

    /// <inheritdoc/>
    protected override void Update(Parameter parameter, float[][] state, int start, int count, StepRates rates, ComputeOptions options)
    {
        var w = parameter.Values.AsSpan(start, count);
        var g = parameter.Gradient.AsSpan(start, count);
        if (rates.WeightDecay != 0 && parameter.Decays)
        {
            DenseOps.MultiplyAdd(w, rates.WeightDecay, g, g, options);
        }

        if (Momentum > 0)
        {
            var v = state[0].AsSpan(start, count);
            DenseOps.MultiplyAdd(v, Momentum, g, v, options);
            if (Nesterov)
            {
                DenseOps.MultiplyAdd(v, Momentum, g, g, options);
            }
            else
            {
                g = v;
            }
        }

        DenseOps.MultiplyAdd(g, -rates.LearningRate, w, w, options);
    }
}
