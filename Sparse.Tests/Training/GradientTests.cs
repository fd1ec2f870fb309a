using Sparse.Core;
using Sparse.Training;

namespace Sparse.Tests.Training;

[TestFixture]
public class GradientTests
{
    private const int Batch = 5;

    [Test]
    public void Sparse_linear_gradients_match_finite_differences()
    {
        var layer = new SparseLinear(RandomSparse.Bernoulli(6, 9, 0.4, ValueDistribution.Uniform(1), 3), GradientCheck.Random(6, 4));
        var x = GradientCheck.Random(9 * Batch, 5);
        var projection = GradientCheck.Random(6 * Batch, 6);
        var y = new float[6 * Batch];
        double Objective()
        {
            layer.Forward(x, y, Batch, training: true);
            return GradientCheck.Project(y, projection);
        }

        Objective();
        var dx = new float[9 * Batch];
        layer.Backward(x, y, projection, dx, Batch);
        GradientCheck.Check(layer.Weights.Values, layer.WeightParameter.Gradient, Objective, "weights (stored entries only)");
        GradientCheck.Check(layer.Bias, layer.BiasParameter.Gradient, Objective, "bias");
        GradientCheck.Check(x, dx, Objective, "input");
    }

    [TestCase(ActivationKind.Relu, 0f)]
    [TestCase(ActivationKind.LeakyRelu, 0.1f)]
    [TestCase(ActivationKind.AllRelu, -0.6f)]
    [TestCase(ActivationKind.AllRelu, 0.6f)]
    [TestCase(ActivationKind.Tanh, 0f)]
    [TestCase(ActivationKind.Sigmoid, 0f)]
    public void Activation_gradients_match_finite_differences(ActivationKind kind, float slope)
    {
        var layer = new Activation(kind, 7, slope);
        var x = GradientCheck.Random(7 * Batch, 8, -2, 2);

        // Keep inputs away from the kinks of the piecewise-linear kinds, where the difference straddles two slopes.
        for (var k = 0; k < x.Length; k++)
        {
            if (Math.Abs(x[k]) < 0.1f)
            {
                x[k] += 0.2f;
            }
        }

        var projection = GradientCheck.Random(7 * Batch, 9);
        var y = new float[7 * Batch];
        double Objective()
        {
            layer.Forward(x, y, Batch, training: true);
            return GradientCheck.Project(y, projection);
        }

        Objective();
        var dx = new float[7 * Batch];
        layer.Backward(x, y, projection, dx, Batch);
        GradientCheck.Check(x, dx, Objective, kind.ToString());
    }

    [Test]
    public void All_relu_alternates_its_negative_slope_by_hidden_layer()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Activation.AllRelu(3, 0, 0.6f).Slope, Is.EqualTo(-0.6f));
            Assert.That(Activation.AllRelu(3, 1, 0.6f).Slope, Is.EqualTo(0.6f));
            Assert.That(Activation.AllRelu(3, 2, 0.6f).Slope, Is.EqualTo(-0.6f));
        });
        var y = new float[2];
        Activation.AllRelu(2, 0, 0.6f).Forward([2f, -1f], y, 1, training: false);
        Assert.That(y, Is.EqualTo(new[] { 2f, 0.6f }));
    }

    [Test]
    public void Dropout_gradient_uses_the_forward_mask_and_evaluation_is_identity()
    {
        var layer = new Dropout(50, 0.3f, seed: 11);
        var x = GradientCheck.Random(50 * Batch, 12);
        var projection = GradientCheck.Random(50 * Batch, 13);
        var y = new float[50 * Batch];
        double Objective()
        {
            layer.Calls = 0; // the same mask on every evaluation
            layer.Forward(x, y, Batch, training: true);
            return GradientCheck.Project(y, projection);
        }

        Objective();
        var dx = new float[50 * Batch];
        layer.Backward(x, y, projection, dx, Batch);
        GradientCheck.Check(x, dx, Objective, "dropout");
        var dropped = y.Count(v => v == 0) / (double)y.Length;
        Assert.That(dropped, Is.EqualTo(0.3).Within(0.08));
        layer.Forward(x, y, Batch, training: false);
        Assert.That(y, Is.EqualTo(x));
    }

    [Test]
    public void Softmax_cross_entropy_gradient_matches_finite_differences_and_is_stable()
    {
        var loss = new SoftmaxCrossEntropy();
        var batch = new Batch(1, 0, Batch);
        batch.Resize(Batch);
        int[] labels = [0, 3, 2, 1, 3];
        labels.CopyTo(batch.Labels);
        var logits = GradientCheck.Random(4 * Batch, 14, -3, 3);
        var gradient = new float[logits.Length];
        loss.Compute(logits, batch, gradient);
        GradientCheck.Check(logits, gradient, () => loss.Evaluate(logits, batch), "cross-entropy");

        // Huge logits must not overflow: log-sum-exp after subtracting the largest.
        var huge = logits.Select(v => v * 1e4f).ToArray();
        var value = loss.Compute(huge, batch, gradient);
        Assert.Multiple(() =>
        {
            Assert.That(float.IsFinite(value), Is.True);
            Assert.That(gradient.All(float.IsFinite), Is.True);
        });
    }

    [Test]
    public void Softmax_and_cross_entropy_match_a_per_sample_reference_on_a_vector_sized_batch()
    {
        // 37 samples: whole vectors and a tail; one sample's logits are huge, one sample's are all equal.
        const int size = 37, classes = 10;
        var logits = GradientCheck.Random(classes * size, 15, -5, 5);
        for (var c = 0; c < classes; c++)
        {
            logits[(c * size) + 3] *= 1e4f;
            logits[(c * size) + 4] = 2f;
        }

        var batch = new Batch(1, 0, size);
        batch.Resize(size);
        for (var b = 0; b < size; b++)
        {
            batch.Labels[b] = (b * 7) % classes;
        }

        var probabilities = new float[logits.Length];
        SoftmaxCrossEntropy.Softmax(logits, size, probabilities);
        var gradient = new float[logits.Length];
        var loss = new SoftmaxCrossEntropy().Compute(logits, batch, gradient);
        double expectedLoss = 0;
        for (var b = 0; b < size; b++)
        {
            var column = Enumerable.Range(0, classes).Select(c => (double)logits[(c * size) + b]).ToArray();
            var max = column.Max();
            var sum = column.Sum(z => Math.Exp(z - max));
            expectedLoss += Math.Log(sum) - (column[batch.Labels[b]] - max);
            for (var c = 0; c < classes; c++)
            {
                var p = Math.Exp(column[c] - max) / sum;
                Assert.That(probabilities[(c * size) + b], Is.EqualTo(p).Within(1e-6), $"p[{c}, {b}]");
                Assert.That(gradient[(c * size) + b], Is.EqualTo((p - (c == batch.Labels[b] ? 1 : 0)) / size).Within(1e-7), $"dz[{c}, {b}]");
            }
        }

        Assert.That(loss, Is.EqualTo(expectedLoss / size).Within(1e-6 * Math.Abs(expectedLoss / size)), "the loss, relative to its size (one sample is huge)");
    }

    [Test]
    public void Mean_squared_error_gradient_matches_finite_differences()
    {
        var loss = new MeanSquaredError();
        var batch = new Batch(1, 3, Batch);
        batch.Resize(Batch);
        GradientCheck.Random(3 * Batch, 15).CopyTo(batch.Targets);
        var output = GradientCheck.Random(3 * Batch, 16);
        var gradient = new float[output.Length];
        loss.Compute(output, batch, gradient);
        GradientCheck.Check(output, gradient, () => loss.Evaluate(output, batch), "mse");
    }

    [TestCase(ActivationKind.Tanh)]
    [TestCase(ActivationKind.Sigmoid)]
    [TestCase(ActivationKind.LeakyRelu)]
    public void Whole_three_layer_network_gradients_match_finite_differences(ActivationKind activation)
    {
        var network = SparseNetwork.CreateMlp([6, 8, 7, 4], activation, epsilon: 2, seed: 21);
        var loss = new SoftmaxCrossEntropy();
        var batch = new Batch(6, 0, Batch);
        batch.Resize(Batch);
        GradientCheck.Random(6 * Batch, 22).CopyTo(batch.Features);
        int[] labels = [0, 1, 2, 3, 1];
        labels.CopyTo(batch.Labels);
        var features = batch.Features.ToArray();
        double Objective() => loss.Evaluate(network.Forward(features, Batch, training: true), batch);

        var gradient = new float[4 * Batch];
        loss.Compute(network.Forward(features, Batch, training: true), batch, gradient);
        network.Backward(gradient);
        Assert.That(network.Parameters, Has.Count.EqualTo(6));
        foreach (var parameter in network.Parameters)
        {
            var analytic = parameter.Gradient.ToArray();
            GradientCheck.Check(parameter.Values, analytic, Objective, parameter.Name);
        }
    }

    // The fused ReLU paths (forward: the ReLU applied in the kernel's store; backward: its derivative applied by
    // the next layer's input-gradient kernel) against every layer run on its own, which the finite-difference
    // checks above cover piece by piece. Bitwise, over training steps, with dropout between ReLU and layer.
    [TestCase(0f)]
    [TestCase(0.3f)]
    public void Fused_relu_network_matches_layer_by_layer_bitwise(float dropout)
    {
        SparseNetwork Make(bool fuse)
        {
            var network = SparseNetwork.CreateMlp([12, 20, 16, 5], ActivationKind.Relu, epsilon: 3, seed: 31, dropout: dropout);
            network.FuseActivations = fuse;
            return network;
        }

        var fused = Make(true);
        var plain = Make(false);
        var loss = new SoftmaxCrossEntropy();
        // 37 samples: whole vectors of either width and a scalar tail.
        const int size = 37;
        var batch = new Batch(12, 0, size);
        batch.Resize(size);
        GradientCheck.Random(12 * size, 32, -2, 2).CopyTo(batch.Features);
        for (var b = 0; b < size; b++)
        {
            batch.Labels[b] = b % 5;
        }
        var optimizers = new[] { new Sgd(0.1f, momentum: 0.9f), new Sgd(0.1f, momentum: 0.9f) };
        var recorders = new[] { new SignalRecorder(SignalKinds.OutputGradients), new SignalRecorder(SignalKinds.OutputGradients) };
        for (var step = 0; step < 3; step++)
        {
            var outputs = new List<float[]>();
            foreach (var (network, recorder) in new[] { (fused, recorders[0]), (plain, recorders[1]) })
            {
                var output = network.Forward(batch.Features, size, training: true).ToArray();
                var gradient = new float[output.Length];
                loss.Compute(output, batch, gradient);
                network.Backward(gradient, recorder);
                outputs.Add(output);
            }

            Assert.That(outputs[0], Is.EqualTo(outputs[1]).AsCollection, $"output, step {step}");
            for (var p = 0; p < fused.Parameters.Count; p++)
            {
                Assert.That(fused.Parameters[p].Gradient.ToArray(), Is.EqualTo(plain.Parameters[p].Gradient.ToArray()).AsCollection, $"gradient of parameter {p}, step {step}");
            }

            foreach (var (a, b) in fused.SparseLayers.Zip(plain.SparseLayers))
            {
                var (sa, sb) = (recorders[0].Of(a), recorders[1].Of(b));
                Assert.That(sa.Activation.ToArray(), Is.EqualTo(sb.Activation.ToArray()).AsCollection, $"activation, step {step}");
                Assert.That(sa.OutputGradient.ToArray(), Is.EqualTo(sb.OutputGradient.ToArray()).AsCollection, $"retained gradient, step {step}");
            }

            optimizers[0].Step(fused.Parameters);
            optimizers[1].Step(plain.Parameters);
        }

        Assert.That(fused.Forward(batch.Features, size, training: false).ToArray(), Is.EqualTo(plain.Forward(batch.Features, size, training: false).ToArray()).AsCollection, "evaluation");
    }

    [Test]
    public void Dropout_backward_follows_the_last_forward_masked_in_training_and_not_in_evaluation()
    {
        var dropout = new Dropout(8, 0.5f, seed: 3);
        var input = Enumerable.Range(1, 32).Select(v => (float)v).ToArray();
        var output = new float[32];
        var upstream = Enumerable.Repeat(1f, 32).ToArray();
        var gradient = new float[32];
        dropout.Forward(input, output, 4, training: true);
        dropout.Backward(input, output, upstream, gradient, 4);
        Assert.That(gradient.Select((g, k) => g == 0 ? output[k] == 0 : output[k] == input[k] * g), Has.All.True, "the training mask, scaled");
        Assert.That(gradient, Has.Some.Zero);

        dropout.Forward(input, output, 4, training: false);
        dropout.Backward(input, output, upstream, gradient, 4);
        Assert.That(gradient, Is.EqualTo(upstream).AsCollection, "an evaluation's forward passed the input: its backward passes the gradient");
    }
}
