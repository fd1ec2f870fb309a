using Sparse.Core;
using Sparse.Topology;
using Sparse.Training;

namespace Sparse.Tests.Topology;

[TestFixture]
public class InitAndNeuronTests
{
    [Test]
    public void Erk_hits_the_overall_density_and_makes_overflowing_layers_dense()
    {
        int[] sizes = [784, 1000, 1000, 10];
        var densities = LayerDensities.ErdosRenyiKernel(sizes, 0.05);
        var cells = Enumerable.Range(0, 3).Select(n => (double)sizes[n] * sizes[n + 1]).ToArray();
        var overall = Enumerable.Range(0, 3).Sum(n => densities[n] * cells[n]) / cells.Sum();
        Assert.Multiple(() =>
        {
            Assert.That(overall, Is.EqualTo(0.05).Within(1e-12));
            Assert.That(densities, Is.All.InRange(0.0, 1.0));

            // Proportional to (in + out) / (in x out) among the layers that stay sparse.
            Assert.That(densities[0] / densities[1], Is.EqualTo((1784.0 / 784000) / (2000.0 / 1e6)).Within(1e-9));
        });

        // At 50 % overall the small output layer would pass 1: it becomes dense and the rest re-solve.
        var high = LayerDensities.ErdosRenyiKernel(sizes, 0.5);
        var highOverall = Enumerable.Range(0, 3).Sum(n => high[n] * cells[n]) / cells.Sum();
        Assert.Multiple(() =>
        {
            Assert.That(high[2], Is.EqualTo(1.0));
            Assert.That(highOverall, Is.EqualTo(0.5).Within(1e-12));
            Assert.That(high[0] / high[1], Is.EqualTo((1784.0 / 784000) / (2000.0 / 1e6)).Within(1e-9));
        });
    }

    [Test]
    public void Uniform_and_erdos_renyi_densities_build_networks_of_that_density()
    {
        int[] sizes = [200, 300, 10];
        var network = SparseNetwork.CreateMlp(sizes, densities: LayerDensities.Uniform(sizes, 0.1), seed: 3);
        var first = network.SparseLayers.First().Weights;
        Assert.That(first.Density, Is.EqualTo(0.1).Within(0.01));
        Assert.That(LayerDensities.ErdosRenyi(sizes, 20)[0], Is.EqualTo(RandomSparse.ErdosRenyiDensity(300, 200, 20)));
    }

    [Test]
    public void Neuron_pruning_removes_the_least_important_hidden_neurons_in_and_out()
    {
        var network = SparseNetwork.CreateMlp([30, 50, 40, 5], ActivationKind.Relu, epsilon: 6, seed: 8);
        var layers = network.SparseLayers.ToArray();
        var optimizer = new Sgd(0.1f, momentum: 0.9f);
        optimizer.Step(network.Parameters);
        var importance = Enumerable.Range(0, 50).Select(j => Enumerable.Range((int)layers[0].Weights.RowPointers[j], layers[0].Weights.RowLength(j))
            .Sum(k => (double)Math.Abs(layers[0].Weights.Values[k]))).ToArray();
        var threshold = NeuronImportancePruner.PercentileOf(importance, 20);
        var before = network.ConnectionCount;

        var removed = new NeuronImportancePruner(20).Prune(network, optimizer);

        var dead = Enumerable.Range(0, 50).Where(j => importance[j] <= threshold).ToArray();
        Assert.Multiple(() =>
        {
            Assert.That(removed[0], Is.EqualTo(dead.Length));
            Assert.That(dead.Length, Is.InRange(10, 11), "about 20 % of 50");
            Assert.That(network.ConnectionCount, Is.LessThan(before), "the network shrinks");
            Assert.That(dead.Select(j => layers[0].Weights.RowLength(j)), Is.All.Zero, "no incoming connections");
            var view = layers[1].Weights.Transposed;
            Assert.That(dead.Select(j => view.ColumnPointers[j + 1] - view.ColumnPointers[j]), Is.All.Zero, "no outgoing connections");
            Assert.That(optimizer.StateOf(layers[0].WeightParameter)[0], Has.Length.EqualTo(layers[0].Weights.NonZeroCount));
        });
        foreach (var layer in layers)
        {
            layer.Weights.Validate();
        }
    }

    [Test]
    public void Percentile_interpolates_linearly() =>
        Assert.That(NeuronImportancePruner.PercentileOf([1.0, 2, 3, 4, 5], 20), Is.EqualTo(1.8).Within(1e-12));
}

[TestFixture]
public class NeuronPruningHistoryTests
{
    [Test]
    public void Neuron_pruning_in_training_is_recorded_as_pruned_connections_per_layer()
    {
        var network = SparseNetwork.CreateMlp([64, 64, 64, 10], ActivationKind.Relu, epsilon: 6, seed: 3,
            normalization: InputNormalization.Fit(Sparse.Tests.Training.DigitsData.Train, NormalizationKind.Standardize));
        var trainer = new Trainer(network, new SoftmaxCrossEntropy(), new Sgd(0.05f, momentum: 0.9f), new TrainerOptions { Epochs = 3, BatchSize = 64, Seed = 3 });
        trainer.Hooks.Add(new NeuronPruningHook(new NeuronImportancePruner(20), startEpoch: 1, everyEpochs: 1));
        var history = trainer.Fit(Sparse.Tests.Training.DigitsData.Train);
        var pruningEpoch = history.Epochs[1];
        var before = history.Epochs[0].LayerConnections;
        Assert.Multiple(() =>
        {
            Assert.That(history.Epochs[0].LayerPruned, Is.Empty, "nothing changed in epoch 0");
            Assert.That(pruningEpoch.LayerPruned, Has.Count.EqualTo(3));
            for (var l = 0; l < 3; l++)
            {
                Assert.That(pruningEpoch.LayerPruned[l], Is.EqualTo(before[l] - pruningEpoch.LayerConnections[l]), $"layer {l}");
            }

            Assert.That(pruningEpoch.LayerPruned.Sum(), Is.GreaterThan(0));
            Assert.That(pruningEpoch.LayerGrown.Sum(), Is.Zero);
        });
    }
}
