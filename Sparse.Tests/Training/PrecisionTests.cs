using Sparse.Core;
using Sparse.Training;

namespace Sparse.Tests.Training;

/// <summary><see cref="Precision.Bf16"/>: the sparse kernels gather bfloat16 copies; everything else stays float.</summary>
[TestFixture]
public class PrecisionTests
{
    private const int Batch = 37;

    // The last layer's weights and bias reach the loss through no later rounding, so finite differences of the
    // bfloat16 network are exact for them; earlier layers' perturbations are rounded on their way up (a relative
    // 2^-9 per value, as large as the perturbation itself), so those are held against the float network's
    // gradients, which the finite-difference checks of GradientTests cover.
    [TestCase(ActivationKind.Relu, 0f)]
    [TestCase(ActivationKind.Relu, 0.3f)]
    [TestCase(ActivationKind.Tanh, 0f)]
    [TestCase(ActivationKind.AllRelu, 0f)]
    public void Bf16_gradients_match_finite_differences_at_the_top_and_the_float_gradients_everywhere(ActivationKind activation, float dropout)
    {
        SparseNetwork Make(Precision precision)
        {
            var network = SparseNetwork.CreateMlp([12, 20, 16, 5], activation, epsilon: 3, seed: 41, dropout: dropout);
            network.Precision = precision;
            return network;
        }

        var half = Make(Precision.Bf16);
        var single = Make(Precision.Fp32);
        var (batch, features) = RandomBatch();
        var loss = new SoftmaxCrossEntropy();
        float[][] Gradients(SparseNetwork network)
        {
            ResetDropout(network);
            var output = network.Forward(features, Batch, training: true).ToArray();
            var gradient = new float[output.Length];
            loss.Compute(output, batch, gradient);
            network.Backward(gradient);
            return [.. network.Parameters.Select(p => p.Gradient.ToArray())];
        }

        var halfGradients = Gradients(half);
        var singleGradients = Gradients(single);
        for (var p = 0; p < half.Parameters.Count; p++)
        {
            var scale = singleGradients[p].Max(Math.Abs);
            var worst = halfGradients[p].Zip(singleGradients[p], (a, b) => Math.Abs(a - b)).Max();
            TestContext.Out.WriteLine($"{half.Parameters[p].Name} {p}: largest difference {worst / scale:P2} of the largest gradient");
            Assert.That(worst, Is.LessThanOrEqualTo(0.05 * scale), $"parameter {p} ({half.Parameters[p].Name}) against float");
            Assert.That(halfGradients[p], Is.Not.EqualTo(singleGradients[p]).AsCollection.Or.Property("Length").LessThan(2), "bfloat16 rounding reaches the gradient");
        }

        double Objective()
        {
            ResetDropout(half);
            return loss.Evaluate(half.Forward(features, Batch, training: true), batch);
        }

        var top = half.SparseLayers.Last();
        GradientCheck.Check(top.Weights.Values, halfGradients[^2], Objective, "bf16 top weights");
        GradientCheck.Check(top.Bias, halfGradients[^1], Objective, "bf16 top bias");
    }

    [Test]
    public void Bf16_forward_is_the_float_forward_on_rounded_inputs_and_stays_close_to_float()
    {
        var half = SparseNetwork.CreateMlp([12, 20, 16, 5], ActivationKind.Relu, epsilon: 3, seed: 43);
        half.Precision = Precision.Bf16;
        var single = SparseNetwork.CreateMlp([12, 20, 16, 5], ActivationKind.Relu, epsilon: 3, seed: 43);
        var (_, features) = RandomBatch();
        var a = half.Forward(features, Batch, training: false).ToArray();
        var b = single.Forward(features, Batch, training: false).ToArray();
        var scale = b.Max(Math.Abs);
        Assert.That(a.Zip(b, (x, y) => Math.Abs(x - y)).Max(), Is.LessThan(0.02 * scale).And.GreaterThan(0));

        // One layer: exactly the float kernel on the rounded input.
        var layer = half.SparseLayers.First();
        var rounded = features.Select(v => (float)(BFloat16)v).ToArray();
        var expected = new float[layer.OutputSize * Batch];
        SparseOps.MultiplyRelu(layer.Weights, rounded, layer.Bias, expected, Batch);
        var one = new SparseNetwork([layer, new Activation(ActivationKind.Relu, layer.OutputSize)]) { Precision = Precision.Bf16 };
        Assert.That(one.Forward(features, Batch, training: false).ToArray(), Is.EqualTo(expected).AsCollection);
    }

    [Test]
    public void Changing_precision_between_forward_and_backward_is_refused()
    {
        var network = SparseNetwork.CreateMlp([12, 20, 5], ActivationKind.Relu, epsilon: 3, seed: 44);
        var (_, features) = RandomBatch();
        network.Forward(features, Batch, training: true);
        network.Precision = Precision.Bf16;
        Assert.That(() => network.Backward(new float[5 * Batch]), Throws.InvalidOperationException.With.Message.Contains("Forward again"));
        network.Forward(features, Batch, training: true);
        Assert.That(() => network.Backward(new float[5 * Batch]), Throws.Nothing);
        Assert.That(() => network.Precision = (Precision)7, Throws.TypeOf<ArgumentOutOfRangeException>());
    }

    [Test]
    public void Bf16_learns_the_digits_as_float_does_and_is_the_same_on_one_thread_and_all()
    {
        (float Accuracy, float[][] Weights) Train(Precision precision, int threads)
        {
            var (network, trainer) = LearningTests.DigitsSetup(epochs: 12, compute: new ComputeOptions { Threads = threads });
            network.Precision = precision;
            trainer.Fit(DigitsData.Train, DigitsData.Test);
            var accuracy = Metrics.Evaluate(network, DigitsData.Test, new SoftmaxCrossEntropy()).Accuracy!.Value;
            return (accuracy, [.. network.Parameters.Select(p => p.Values.ToArray())]);
        }

        var single = Train(Precision.Fp32, Math.Max(2, Environment.ProcessorCount));
        var half = Train(Precision.Bf16, Math.Max(2, Environment.ProcessorCount));
        var halfOneThread = Train(Precision.Bf16, 1);
        TestContext.Out.WriteLine($"digits after 12 epochs: fp32 {single.Accuracy:P2}, bf16 {half.Accuracy:P2}");
        Assert.That(half.Accuracy, Is.GreaterThanOrEqualTo(0.95f));
        Assert.That(half.Accuracy, Is.EqualTo(single.Accuracy).Within(0.015f));
        for (var n = 0; n < half.Weights.Length; n++)
        {
            Assert.That(halfOneThread.Weights[n], Is.EqualTo(half.Weights[n]).AsCollection, $"parameter {n}");
        }
    }

    private static (Batch Batch, float[] Features) RandomBatch()
    {
        var batch = new Batch(12, 0, Batch);
        batch.Resize(Batch);
        GradientCheck.Random(12 * Batch, 42, -2, 2).CopyTo(batch.Features);
        for (var b = 0; b < Batch; b++)
        {
            batch.Labels[b] = b % 5;
        }

        return (batch, batch.Features.ToArray());
    }

    // The same dropout mask on every evaluation of the objective.
    private static void ResetDropout(SparseNetwork network)
    {
        foreach (var dropout in network.Layers.OfType<Dropout>())
        {
            dropout.Calls = 0;
        }
    }
}
