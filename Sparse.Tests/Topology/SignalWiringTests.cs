using Sparse.Core;
using Sparse.Tests.Training;
using Sparse.Topology;
using Sparse.Training;

namespace Sparse.Tests.Topology;

/// <summary>
/// What the trainer hands to an evolution rule for every sparse layer of a step, against an independent computation
/// in double precision from the same batch: the layer's input (the previous layer's output after its activation and
/// dropout), its activation (after the activation function, before dropout) and dLoss/dZ of its pre-activation output.
/// </summary>
[TestFixture]
public class SignalWiringTests
{
    private sealed class Capture : ITrainingHook
    {
        public List<(float[] Input, float[] Activation, float[] Gradient)> Layers { get; } = [];

        public float[] Features { get; private set; } = [];

        public int[] Labels { get; private set; } = [];

        public SignalKinds Signals => SignalKinds.OutputGradients;

        public void OnStepEnd(TrainingContext context)
        {
            if (context.Step != 1)
            {
                return;
            }

            foreach (var layer in context.Network.SparseLayers)
            {
                var s = context.Signals!.Of(layer);
                Layers.Add((s.Input.ToArray(), s.Activation.ToArray(), s.OutputGradient.ToArray()));
            }

            Features = context.Batch!.Features.ToArray();
            Labels = context.Batch.Labels.ToArray();
        }

        public void OnEpochEnd(TrainingContext context)
        {
        }
    }

    private static double Apply(ActivationKind kind, double z) => kind switch
    {
        ActivationKind.Relu => Math.Max(0, z),
        ActivationKind.Tanh => Math.Tanh(z),
        _ => throw new ArgumentException(kind.ToString()),
    };

    private static double Derivative(ActivationKind kind, double z) => kind switch
    {
        ActivationKind.Relu => z > 0 ? 1 : 0,
        ActivationKind.Tanh => 1 - (Math.Tanh(z) * Math.Tanh(z)),
        _ => throw new ArgumentException(kind.ToString()),
    };

    [TestCase(ActivationKind.Relu, 0f, Precision.Fp32)]
    [TestCase(ActivationKind.Relu, 0.3f, Precision.Fp32)]
    [TestCase(ActivationKind.Tanh, 0.3f, Precision.Fp32)]
    [TestCase(ActivationKind.Relu, 0.3f, Precision.Bf16)]
    public void Each_layer_gets_its_input_activation_and_pre_activation_gradient(ActivationKind kind, float dropout, Precision precision)
    {
        const int Batch = 32;
        var network = SparseNetwork.CreateMlp([64, 24, 16, 10], kind, epsilon: 4, seed: 3, dropout: dropout,
            normalization: InputNormalization.Fit(DigitsData.Train, NormalizationKind.Standardize));
        network.Precision = precision;
        var dropouts = network.Layers.OfType<Dropout>().Select(d => new Dropout(d.Size, d.Rate, d.Seed)).ToArray();
        var capture = new Capture();
        var trainer = new Trainer(network, new SoftmaxCrossEntropy(), new Sgd(0f), new TrainerOptions { Epochs = 1, BatchSize = Batch, Seed = 4 });
        trainer.Hooks.Add(capture);
        var sparse = network.SparseLayers.ToArray();

        // The weights of step 1 are the ones the step ran with: a learning rate of 0 leaves them.
        trainer.Fit(DigitsData.Train);

        // The forward pass in double, keeping each layer's input, pre-activation and activation.
        var x = capture.Features.Select(v => (double)v).ToArray();
        var inputs = new List<double[]>();
        var zs = new List<double[]>();
        var activations = new List<double[]>();
        var masks = new List<double[]?>();
        for (var l = 0; l < sparse.Length; l++)
        {
            var w = sparse[l].Weights;
            var z = new double[w.Rows * Batch];
            for (var row = 0; row < w.Rows; row++)
            {
                for (var b = 0; b < Batch; b++)
                {
                    var sum = (double)sparse[l].Bias[row];
                    for (var k = (int)w.RowPointers[row]; k < w.RowPointers[row + 1]; k++)
                    {
                        sum += w.Values[k] * x[(w.ColumnIndices[k] * Batch) + b];
                    }

                    z[(row * Batch) + b] = sum;
                }
            }

            inputs.Add(x);
            zs.Add(z);
            if (l + 1 == sparse.Length)
            {
                activations.Add(z);
                masks.Add(null);
                break;
            }

            var a = z.Select(v => Apply(kind, v)).ToArray();
            activations.Add(a);
            double[]? mask = null;
            if (dropout > 0)
            {
                var ones = Enumerable.Repeat(1f, a.Length).ToArray();
                var kept = new float[a.Length];
                dropouts[l].Forward(ones, kept, Batch, training: true);
                mask = [.. kept.Select(v => (double)v)];
            }

            masks.Add(mask);
            x = mask is null ? a : [.. a.Zip(mask, (v, m) => v * m)];
        }

        // The backward pass: softmax cross-entropy averaged over the batch, then each layer's dLoss/dZ.
        var logits = zs[^1];
        var gradient = new double[logits.Length];
        for (var b = 0; b < Batch; b++)
        {
            var max = Enumerable.Range(0, 10).Max(c => logits[(c * Batch) + b]);
            var sum = Enumerable.Range(0, 10).Sum(c => Math.Exp(logits[(c * Batch) + b] - max));
            for (var c = 0; c < 10; c++)
            {
                gradient[(c * Batch) + b] = ((Math.Exp(logits[(c * Batch) + b] - max) / sum) - (capture.Labels[b] == c ? 1 : 0)) / Batch;
            }
        }

        var expectedGradients = new double[sparse.Length][];
        for (var l = sparse.Length - 1; l >= 0; l--)
        {
            expectedGradients[l] = gradient;
            if (l == 0)
            {
                break;
            }

            // Through W^T, the dropout mask and the activation of the layer below.
            var w = sparse[l].Weights;
            var below = new double[w.Columns * Batch];
            for (var row = 0; row < w.Rows; row++)
            {
                for (var k = (int)w.RowPointers[row]; k < w.RowPointers[row + 1]; k++)
                {
                    for (var b = 0; b < Batch; b++)
                    {
                        below[(w.ColumnIndices[k] * Batch) + b] += w.Values[k] * gradient[(row * Batch) + b];
                    }
                }
            }

            var mask = masks[l - 1];
            gradient = [.. below.Select((g, i) => g * (mask?[i] ?? 1) * Derivative(kind, zs[l - 1][i]))];
        }

        // fp32 sums in another order; bf16 rounds each gathered value to 8 bits of mantissa.
        var tolerance = precision == Precision.Bf16 ? 2e-2 : 1e-4;
        Assert.Multiple(() =>
        {
            for (var l = 0; l < sparse.Length; l++)
            {
                var (input, activation, outputGradient) = capture.Layers[l];
                var expectedActivation = l + 1 == sparse.Length ? zs[l] : activations[l];
                Compare(input, inputs[l], tolerance, $"layer {l}: input");
                Compare(activation, expectedActivation, tolerance, $"layer {l}: activation");
                Compare(outputGradient, expectedGradients[l], tolerance, $"layer {l}: dLoss/dZ");
            }
        });
    }

    // Equal within a tolerance relative to the largest magnitude of the expected values.
    private static void Compare(float[] actual, double[] expected, double tolerance, string what)
    {
        Assert.That(actual, Has.Length.EqualTo(expected.Length), what);
        var scale = Math.Max(1e-12, expected.Max(Math.Abs));
        var worst = actual.Zip(expected, (a, e) => Math.Abs(a - e)).Max() / scale;
        Assert.That(worst, Is.LessThanOrEqualTo(tolerance), $"{what}: worst difference {worst:E2} of the largest value");
    }
}
