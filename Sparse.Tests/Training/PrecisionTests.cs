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

    // What bf16 changes is which operands the kernels read: each sparse layer's input is rounded for the forward product
    // and the weight gradient, and its upstream gradient for the input gradient. With those same rounded operands (from
    // the step's own recorded float activations and gradients) a double-precision computation leaves only the float
    // sums' rounding, at most (terms + 1) x 2^-24 of the sum of |terms| per value: the tolerance here, not a percentage.
    [TestCase(0f)]
    [TestCase(0.3f)]
    public void Bf16_gradients_are_the_gradients_of_the_rounded_operands_to_float_summation_error(float dropout)
    {
        var network = SparseNetwork.CreateMlp([12, 20, 16, 5], ActivationKind.Relu, epsilon: 3, seed: 41, dropout: dropout);
        network.Precision = Precision.Bf16;
        var (batch, features) = RandomBatch();
        var recorder = new SignalRecorder(SignalKinds.OutputGradients);
        var output = network.Forward(features, Batch, training: true).ToArray();
        var gradient = new float[output.Length];
        new SoftmaxCrossEntropy().Compute(output, batch, gradient);
        network.Backward(gradient, recorder);
        static double Rounded(float value) => (float)(BFloat16)value;
        const double Unit = 1.0 / (1 << 24);
        var layers = network.SparseLayers.ToArray();
        var checkedValues = 0;
        Assert.Multiple(() =>
        {
            for (var l = 0; l < layers.Length; l++)
            {
                var signals = recorder.Of(layers[l]);
                var x = signals.Input.Span;
                var dy = signals.OutputGradient.Span;
                var w = layers[l].Weights;

                // dW[j, i] = sum_b dy[j, b] x~[i, b], x~ the rounded input.
                for (var row = 0; row < w.Rows; row++)
                {
                    for (var k = (int)w.RowPointers[row]; k < w.RowPointers[row + 1]; k++)
                    {
                        double sum = 0, magnitude = 0;
                        for (var b = 0; b < Batch; b++)
                        {
                            var term = dy[(row * Batch) + b] * Rounded(x[(w.ColumnIndices[k] * Batch) + b]);
                            sum += term;
                            magnitude += Math.Abs(term);
                        }

                        Assert.That(layers[l].WeightParameter.Gradient[k], Is.EqualTo(sum).Within(((Batch + 1) * Unit * magnitude) + 1e-30), $"layer {l}, entry {k}: dW");
                        checkedValues++;
                    }
                }

                if (l == 0)
                {
                    continue;
                }

                // The layer below's dLoss/dZ: (W^T dy~)[i, b] where its ReLU passed the value (dy~ the rounded upstream).
                var below = recorder.Of(layers[l - 1]);
                for (var i = 0; i < w.Columns; i++)
                {
                    for (var b = 0; b < Batch; b++)
                    {
                        double sum = 0, magnitude = 0;
                        var terms = 0;
                        for (var row = 0; row < w.Rows; row++)
                        {
                            for (var k = (int)w.RowPointers[row]; k < w.RowPointers[row + 1]; k++)
                            {
                                if (w.ColumnIndices[k] == i)
                                {
                                    var term = w.Values[k] * Rounded(dy[(row * Batch) + b]);
                                    sum += term;
                                    magnitude += Math.Abs(term);
                                    terms++;
                                }
                            }
                        }

                        // Dropout between the layers scales the gradient by its mask; the mask is what the forward pass kept.
                        var kept = dropout == 0 ? 1.0 : Mask(i, b, below.Activation.Span, x);
                        var expected = below.Activation.Span[(i * Batch) + b] > 0 ? sum * kept : 0;
                        Assert.That(below.OutputGradient.Span[(i * Batch) + b], Is.EqualTo(expected).Within(((terms + 2) * Unit * magnitude * Math.Max(1, kept)) + 1e-30), $"layer {l - 1}, ({i}, {b}): dLoss/dZ");
                        checkedValues++;
                    }
                }
            }
        });
        Assert.That(checkedValues, Is.GreaterThan(1000));
    }

    // The dropout factor on activation (i, b) of a sparse layer's output: what reached the next layer over what left this one.
    private static double Mask(int i, int b, ReadOnlySpan<float> activation, ReadOnlySpan<float> nextInput)
    {
        var before = activation[(i * Batch) + b];
        return before == 0 ? 0 : nextInput[(i * Batch) + b] / (double)before;
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
