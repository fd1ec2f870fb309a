using Sparse.Core;
using Sparse.Topology;
using Sparse.Training;

namespace Sparse.Tests.Training;

/// <summary>
/// The path a ten-million-neuron network takes (wide hidden layers, column-tiled kernels, SET at a constant
/// budget, memory estimate, streamed save and load), run with the same code at widths a test can afford.
/// The tile size is shrunk so that these layers tile as a 3.4-million-wide one would.
/// </summary>
[TestFixture]
public class ScaleTests
{
    private static (SparseNetwork Network, TrainingHistory History, Sgd Optimizer) Train(long tileBytes)
    {
        var normalization = InputNormalization.Fit(DigitsData.Train, NormalizationKind.Standardize);
        var network = SparseNetwork.CreateMlp([64, 3000, 3000, 10], ActivationKind.Relu, epsilon: 20, seed: 4, normalization: normalization);
        network.Compute = new ComputeOptions { ColumnTileBytes = tileBytes };
        var optimizer = new Sgd(0.02f, momentum: 0.9f);
        var trainer = new Trainer(network, new SoftmaxCrossEntropy(), optimizer, new TrainerOptions { Epochs = 4, BatchSize = 32, Seed = 4 });
        trainer.Hooks.Add(new EvolutionHook(TopologyEvolver.Set(seed: 4), EvolutionSchedule.EveryEpoch(0.3)));
        return (network, trainer.Fit(DigitsData.Train, DigitsData.Test), optimizer);
    }

    [Test]
    public void A_wide_network_trains_tiled_evolves_at_a_constant_budget_and_round_trips_through_a_file()
    {
        // 3000 x 32 x 4 B = 375 KiB gathered per hidden layer; 64 KiB tiles make six tiles of about 7 entries a row.
        Assert.That(ColumnTiling.Count(3000, 3000, 3000 * 40, 32, ComputeOptions.Default), Is.EqualTo(1), "untiled at the default tile size");
        Assert.That(ColumnTiling.Count(3000, 3000, 3000 * 40, 32, new ComputeOptions { ColumnTileBytes = 64 << 10 }), Is.EqualTo(6), "tiled at 64 KiB");

        var (tiled, history, optimizer) = Train(64 << 10);
        var (untiled, untiledHistory, _) = Train(0);
        var budget = tiled.ConnectionCount;

        var path = Path.Combine(Path.GetTempPath(), $"sparse-scale-{Guid.NewGuid():N}.sparse");
        try
        {
            Checkpoint.Save(path, tiled, optimizer);
            var loaded = Checkpoint.Load(path).Network;
            loaded.Compute = tiled.Compute;
            var batch = DigitsData.Test.Count;
            var features = DigitsData.Test.Features;
            var expected = tiled.Forward(features, batch, training: false).ToArray();
            var actual = loaded.Forward(features, batch, training: false).ToArray();
            var estimate = MemoryEstimate.For(tiled, 32, optimizerSlots: 1);
            Assert.Multiple(() =>
            {
                Assert.That(history.Epochs.Select(e => e.Connections), Is.All.EqualTo(budget), "SET keeps the budget every epoch");
                Assert.That(history.Epochs[^1].TestAccuracy, Is.GreaterThan(0.9f), "the tiled network learns");
                Assert.That(history.Epochs[^1].TestAccuracy, Is.EqualTo(untiledHistory.Epochs[^1].TestAccuracy).Within(0.02f),
                    "tiling changes only the order of float additions");
                Assert.That(loaded.ConnectionCount, Is.EqualTo(budget));
                Assert.That(actual, Is.EqualTo(expected).AsCollection, "the loaded network predicts the same bits");
                Assert.That(estimate.ConnectionBytes, Is.EqualTo(budget * MemoryEstimate.BytesPerConnection(1)));
                Assert.That(new FileInfo(path).Length, Is.LessThan((budget * 12) + (1 << 20)), "value, index and momentum per connection, streamed");
            });
        }
        finally
        {
            File.Delete(path);
        }

        TestContext.Out.WriteLine($"{budget:N0} connections; test accuracy tiled {history.Epochs[^1].TestAccuracy:P2}, untiled {untiledHistory.Epochs[^1].TestAccuracy:P2}");
    }
}
