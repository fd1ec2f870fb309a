using System.Diagnostics;
using Sparse.Core;
using Sparse.Training;

namespace Sparse.Tests.Training;

[TestFixture]
public class LearningTests
{
    internal static (SparseNetwork Network, Trainer Trainer) DigitsSetup(int epochs, ulong seed = 1, ComputeOptions? compute = null)
    {
        var normalization = InputNormalization.Fit(DigitsData.Train, NormalizationKind.Standardize);
        var network = SparseNetwork.CreateMlp([64, 512, 512, 10], ActivationKind.Relu, epsilon: 8, seed: seed, normalization: normalization);
        network.Compute = compute ?? ComputeOptions.Default;
        var trainer = new Trainer(network, new SoftmaxCrossEntropy(), new Sgd(0.05f, momentum: 0.9f, weightDecay: 1e-4f),
            new TrainerOptions { Epochs = epochs, BatchSize = 32, Seed = seed, Schedule = LearningRateSchedule.Cosine(0.001f) });
        return (network, trainer);
    }

    [Test]
    public void Sparse_mlp_learns_the_digits_above_96_percent_in_under_a_minute()
    {
        var watch = Stopwatch.StartNew();
        var (network, trainer) = DigitsSetup(epochs: 40);
        var density = network.ConnectionCount / (double)((64 * 512) + (512 * 512) + (512 * 10));
        var history = trainer.Fit(DigitsData.Train, DigitsData.Test);
        var accuracy = Metrics.Evaluate(network, DigitsData.Test, new SoftmaxCrossEntropy()).Accuracy!.Value;
        TestContext.Out.WriteLine($"density {density:P2}, test accuracy {accuracy:P2}, {watch.Elapsed.TotalSeconds:F1} s, {history.Epochs.Average(e => e.Seconds) * 1000:F0} ms/epoch");
        Assert.Multiple(() =>
        {
            Assert.That(density, Is.LessThan(0.10), "at least 90 % sparse");
            Assert.That(accuracy, Is.GreaterThanOrEqualTo(0.96f));
            Assert.That(watch.Elapsed, Is.LessThan(TimeSpan.FromMinutes(1)));
            Assert.That(history.Epochs, Has.Count.EqualTo(40));
            Assert.That(history.Epochs[^1].TestAccuracy, Is.EqualTo(accuracy));
        });
    }

    [Test]
    public void A_fixed_seed_gives_the_same_network_on_one_thread_and_on_all()
    {
        float[][] Train(int threads)
        {
            var (network, trainer) = DigitsSetup(epochs: 3, compute: new ComputeOptions { Threads = threads });
            trainer.Fit(DigitsData.Train, DigitsData.Test);
            return [.. network.Parameters.Select(p => p.Values.ToArray())];
        }

        var one = Train(1);
        var all = Train(Math.Max(2, Environment.ProcessorCount));
        for (var n = 0; n < one.Length; n++)
        {
            Assert.That(all[n], Is.EqualTo(one[n]).AsCollection, $"parameter {n}");
        }
    }

    [Test]
    public void The_scalar_path_runs_whole_steps_and_trains_the_network_of_the_vector_path()
    {
        (float[][] Weights, float Accuracy) Train(ComputeOptions compute)
        {
            var (network, trainer) = DigitsSetup(epochs: 2, compute: compute);
            var history = trainer.Fit(DigitsData.Train, DigitsData.Test);
            return ([.. network.Parameters.Select(p => p.Values.ToArray())], history.Epochs[^1].TestAccuracy!.Value);
        }

        var scalar = Train(new ComputeOptions { Simd = SimdLevel.Scalar, Threads = 1 });
        var scalarThreaded = Train(new ComputeOptions { Simd = SimdLevel.Scalar, Threads = Math.Max(2, Environment.ProcessorCount) });
        var vector = Train(ComputeOptions.Default);
        var largest = vector.Weights.Max(w => w.Max(Math.Abs));
        var difference = scalar.Weights.Zip(vector.Weights, (a, b) => a.Zip(b, (x, y) => Math.Abs(x - y)).DefaultIfEmpty().Max()).Max();
        TestContext.Out.WriteLine($"largest weight {largest}, largest scalar-vector difference {difference}, accuracy {scalar.Accuracy:P2} / {vector.Accuracy:P2}");
        Assert.Multiple(() =>
        {
            for (var n = 0; n < scalar.Weights.Length; n++)
            {
                Assert.That(scalarThreaded.Weights[n], Is.EqualTo(scalar.Weights[n]).AsCollection, $"scalar path, parameter {n}: any thread count gives the same bits");
            }

            // Two epochs of rounding differences (exp, tanh and summation order), not a different computation.
            Assert.That(difference, Is.LessThan(1e-4 * largest));
            Assert.That(scalar.Accuracy, Is.EqualTo(vector.Accuracy).Within(0.01f));
        });
    }

    [Test]
    public void Early_stopping_ends_the_run_when_the_test_loss_stalls()
    {
        // 60 training samples and no weight decay: the network overfits and the held-out loss turns up.
        var small = DigitsData.Train.Subset([.. Enumerable.Range(0, 60)]);
        var network = SparseNetwork.CreateMlp([64, 256, 10], ActivationKind.Relu, epsilon: 10, seed: 2,
            normalization: InputNormalization.Fit(small, NormalizationKind.Standardize));
        var trainer = new Trainer(network, new SoftmaxCrossEntropy(), new Sgd(0.1f, momentum: 0.9f),
            new TrainerOptions { Epochs = 500, BatchSize = 16, EarlyStoppingPatience = 3 });
        var history = trainer.Fit(small, DigitsData.Test);
        var losses = history.Epochs.Select(e => e.TestLoss!.Value).ToArray();
        var best = Array.IndexOf(losses, losses.Min());
        Assert.Multiple(() =>
        {
            Assert.That(history.StoppedEarly, Is.True);
            Assert.That(losses, Has.Length.EqualTo(best + 4), "stops three epochs after the best");
        });
    }

    [Test]
    public void Progress_and_hooks_are_called_for_every_batch_and_epoch()
    {
        var (_, trainer) = DigitsSetup(epochs: 2);
        var hook = new CountingHook();
        trainer.Hooks.Add(hook);
        var progress = 0;
        trainer.Progress += _ => progress++;
        trainer.Fit(DigitsData.Train);
        var batches = (DigitsData.Train.Count + 31) / 32;
        Assert.Multiple(() =>
        {
            Assert.That(hook.Steps, Is.EqualTo(2 * batches));
            Assert.That(hook.Epochs, Is.EqualTo(2));
            Assert.That(progress, Is.EqualTo(2 * batches));
        });
    }

    [Test]
    public void A_warm_training_step_allocates_nothing([Values] Precision precision, [Values(ActivationKind.AllRelu, ActivationKind.Relu)] ActivationKind activation)
    {
        var network = SparseNetwork.CreateMlp([64, 300, 300, 10], activation, epsilon: 10, seed: 3, dropout: 0.1f);
        network.Compute = new ComputeOptions { Threads = Math.Max(2, Environment.ProcessorCount) };
        network.Precision = precision;
        var loss = new SoftmaxCrossEntropy();
        var optimizers = new Optimizer[] { new Sgd(0.01f, momentum: 0.9f, nesterov: true, weightDecay: 1e-4f), new Adam(1e-3f, weightDecay: 1e-4f) };
        foreach (var optimizer in optimizers)
        {
            var loader = new BatchLoader(DigitsData.Train, 64, InputNormalization.Fit(DigitsData.Train, NormalizationKind.MinMax), shuffle: true, seed: 1, network.Compute);
            var gradient = new float[10 * 64];
            void Step()
            {
                if (!loader.Next())
                {
                    loader.StartEpoch(1);
                    loader.Next();
                }

                var output = network.Forward(loader.Batch.Features, loader.Batch.Size, training: true);
                loss.Compute(output, loader.Batch, gradient, network.Compute);
                network.Backward(gradient);
                optimizer.Step(network.Parameters, network.Compute);
            }

            Step();
            Step();
            var before = GC.GetAllocatedBytesForCurrentThread();
            for (var n = 0; n < 10; n++)
            {
                Step();
            }

            Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero, optimizer.GetType().Name);
        }
    }

    private sealed class CountingHook : ITrainingHook
    {
        public int Steps { get; private set; }

        public int Epochs { get; private set; }

        public void OnStepEnd(TrainingContext context) => Steps++;

        public void OnEpochEnd(TrainingContext context) => Epochs++;
    }
}

[TestFixture]
public class MemoryEstimateTests
{
    [Test]
    public void The_estimate_counts_every_array_of_a_connection_and_of_a_batch()
    {
        // 784-1000-10 at densities 0.1 and 1: 78,400 + 10,000 connections.
        var estimate = MemoryEstimate.ForMlp([784, 1000, 10], [0.1, 1.0], batch: 128, optimizerSlots: 1);
        Assert.Multiple(() =>
        {
            Assert.That(estimate.Connections, Is.EqualTo(88_400));
            Assert.That(estimate.ConnectionBytes, Is.EqualTo(88_400 * 24), "value, column, transposed row, permutation, gradient, momentum");
            Assert.That(estimate.ActivationBytes, Is.EqualTo((784 + 2000 + 10 + 2000) * 128L * 4), "input, linear and activation outputs, two gradient buffers");
            Assert.That(MemoryEstimate.BytesPerConnection(2), Is.EqualTo(28));
            Assert.That(estimate.EvolutionBytes, Is.Zero, "a static topology needs no evolution scratch");
        });

        // Evolving: the scratch of one step on the largest layer (78,400 connections) is added.
        var evolving = MemoryEstimate.ForMlp([784, 1000, 10], [0.1, 1.0], batch: 128, optimizerSlots: 1, rewiringBytesPerConnection: 31);
        Assert.That(evolving.TotalBytes - estimate.TotalBytes, Is.EqualTo(78_400 * 31L));
        Assert.That(evolving.ToString(), Does.Contain("rewiring scratch"));
    }

    [Test]
    public void A_network_that_cannot_fit_is_refused_with_the_arithmetic()
    {
        // 3 hidden layers of 3.4 million neurons at 50 % density: petabytes.
        var estimate = MemoryEstimate.ForMlp([784, 3_400_000, 3_400_000, 10], [0.5, 0.5, 0.5], 128, 1);
        Assert.That(() => MemoryEstimate.EnsureFits(estimate),
            Throws.InstanceOf<InsufficientMemoryException>().With.Message.Contains("connections x 24 B").And.Message.Contains("is available"));
    }
}
