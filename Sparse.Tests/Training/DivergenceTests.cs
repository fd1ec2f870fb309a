using Sparse.Training;

namespace Sparse.Tests.Training;

[TestFixture]
public class DivergenceTests
{
    [Test]
    public void Fit_stops_at_the_first_non_finite_loss_and_names_the_epoch_and_batch()
    {
        var network = SparseNetwork.CreateMlp([64, 256, 256, 10], ActivationKind.AllRelu, epsilon: 20, seed: 1,
            normalization: InputNormalization.Fit(DigitsData.Train, NormalizationKind.Standardize));
        var trainer = new Trainer(network, new SoftmaxCrossEntropy(), new Sgd(10f, momentum: 0.9f), new TrainerOptions { Epochs = 3, BatchSize = 32 });
        var error = Assert.Throws<TrainingDivergedException>(() => trainer.Fit(DigitsData.Train, DigitsData.Test));
        Assert.Multiple(() =>
        {
            Assert.That(error!.Epoch, Is.Zero);
            Assert.That(error.Batch, Is.GreaterThan(0));
            Assert.That(float.IsFinite(error.Loss), Is.False);
            Assert.That(error.Message, Does.Contain($"epoch 1, batch {error.Batch}").And.Contain("lower learning rate"));
            Assert.That(trainer.History.Epochs, Is.Empty, "the diverged epoch is not recorded");
            Assert.That(trainer.StartEpoch, Is.Zero);
        });
    }

    [Test]
    public void The_same_run_trains_with_gradient_norm_clipping_or_Adam()
    {
        foreach (var (optimizer, clip) in new (Optimizer, float)[] { (new Sgd(0.3f, momentum: 0.9f), 1f), (new Adam(1e-3f), 0f) })
        {
            var network = SparseNetwork.CreateMlp([64, 256, 256, 10], ActivationKind.AllRelu, epsilon: 20, seed: 1,
                normalization: InputNormalization.Fit(DigitsData.Train, NormalizationKind.Standardize));
            var trainer = new Trainer(network, new SoftmaxCrossEntropy(), optimizer, new TrainerOptions { Epochs = 3, BatchSize = 32, ClipNorm = clip });
            var history = trainer.Fit(DigitsData.Train, DigitsData.Test);
            Assert.That(history.Epochs[^1].TestAccuracy, Is.GreaterThan(0.85f), optimizer.GetType().Name);
        }
    }

    [Test]
    public void A_custom_loop_can_check_the_loss_and_the_weights()
    {
        Assert.DoesNotThrow(() => Divergence.CheckLoss(1.5f, 0, 1));
        Assert.Throws<TrainingDivergedException>(() => Divergence.CheckLoss(float.NaN, 0, 1));
        Assert.Throws<TrainingDivergedException>(() => Divergence.CheckLoss(float.PositiveInfinity, 0, 1));
        var network = SparseNetwork.CreateMlp([8, 16, 2], ActivationKind.Relu, epsilon: 2, seed: 1);
        Assert.DoesNotThrow(() => Divergence.CheckWeights(network, 0));
        network.SparseLayers.Last().Weights.Values[0] = float.NegativeInfinity;
        var error = Assert.Throws<TrainingDivergedException>(() => Divergence.CheckWeights(network, 4));
        Assert.That(error!.Message, Does.Contain("epoch 5").And.Contain("sparse layer 1"));
    }

    [Test]
    public void Clipping_scales_all_gradients_to_the_global_norm_and_keeps_their_direction()
    {
        var network = SparseNetwork.CreateMlp([8, 16, 2], ActivationKind.Relu, epsilon: 2, seed: 1);
        var random = new Random(2);
        foreach (var p in network.Parameters)
        {
            for (var i = 0; i < p.Gradient.Length; i++)
            {
                p.Gradient[i] = (float)(random.NextDouble() - 0.5) * 10;
            }
        }

        var before = network.Parameters.Select(p => p.Gradient.ToArray()).ToArray();
        var norm = GradientClipping.ClipByGlobalNorm(network.Parameters, 1f);
        var after = Math.Sqrt(network.Parameters.Sum(p => p.Gradient.Sum(g => (double)g * g)));
        Assert.That(norm, Is.GreaterThan(1));
        Assert.That(after, Is.EqualTo(1).Within(1e-5));
        for (var n = 0; n < before.Length; n++)
        {
            Assert.That(network.Parameters[n].Gradient, Is.EqualTo(before[n].Select(g => (float)(g / norm))).Within(1e-5f));
        }

        Assert.That(GradientClipping.ClipByGlobalNorm(network.Parameters, 5f), Is.EqualTo(1).Within(1e-5), "below the limit nothing changes");
        Assert.Throws<ArgumentOutOfRangeException>(() => GradientClipping.ClipByGlobalNorm(network.Parameters, float.NaN));
    }

    [Test]
    public void Trainer_options_out_of_range_are_refused()
    {
        var network = SparseNetwork.CreateMlp([64, 16, 10], ActivationKind.Relu, epsilon: 2, seed: 1);
        foreach (var options in new[] { new TrainerOptions { Epochs = 0 }, new TrainerOptions { BatchSize = 0 }, new TrainerOptions { ClipNorm = float.NaN }, new TrainerOptions { EarlyStoppingPatience = -1 } })
        {
            var trainer = new Trainer(network, new SoftmaxCrossEntropy(), new Sgd(0.1f), options);
            Assert.Throws<ArgumentOutOfRangeException>(() => trainer.Fit(DigitsData.Train));
        }

        var resumed = new Trainer(network, new SoftmaxCrossEntropy(), new Sgd(0.1f), new TrainerOptions { Epochs = 1, BatchSize = 32 }) { StartBatch = 10_000 };
        Assert.Throws<InvalidOperationException>(() => resumed.Fit(DigitsData.Train));
    }
}
