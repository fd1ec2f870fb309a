using Sparse.Tests.Training;
using Sparse.Topology;
using Sparse.Training;

namespace Sparse.Tests.Topology;

/// <summary>Gradual magnitude pruning from a denser start (Zhu and Gupta's cubic schedule).</summary>
[TestFixture]
public class GradualPruningTests
{
    [Test]
    public void The_schedule_is_cubic_from_the_start_to_the_target()
    {
        Assert.Multiple(() =>
        {
            Assert.That(GradualPruningHook.CountAt(1000, 100, 0), Is.EqualTo(1000));
            Assert.That(GradualPruningHook.CountAt(1000, 100, 0.5), Is.EqualTo(213), "100 + 900 x 0.5^3 = 212.5, rounded up");
            Assert.That(GradualPruningHook.CountAt(1000, 100, 0.25), Is.EqualTo(100 + 380), "100 + 900 x 0.75^3 = 479.7");
            Assert.That(GradualPruningHook.CountAt(1000, 100, 1), Is.EqualTo(100));
            Assert.That(GradualPruningHook.CountAt(1000, 100, 3), Is.EqualTo(100), "past the end it stays at the target");
        });
    }

    [Test]
    public void A_run_prunes_a_denser_start_to_the_recipes_sparsity_by_magnitude_and_grows_nothing()
    {
        var recipe = new TrainingRecipe { Hidden = [64, 48], Epsilon = 4, Evolution = EvolutionMethod.Gradual, InitialDensity = 0.9, Epochs = 6, BatchSize = 32, Seed = 2 };
        recipe.Validate();
        int[] sizes = [DigitsData.Train.FeatureCount, 64, 48, DigitsData.Train.OutputCount];
        var targets = recipe.Densities(sizes).Select((d, l) => (long)Math.Round(d * sizes[l] * sizes[l + 1])).ToArray();
        var trainer = recipe.CreateTrainer(DigitsData.Train);
        var start = trainer.Network.SparseLayers.Select(l => l.Weights.NonZeroCount).ToArray();
        Assert.That(start.Zip(targets).All(p => p.First > 1.5 * p.Second), Is.True, "it starts denser than its targets");
        Assert.That(recipe.EstimateMemory(sizes[0], sizes[^1], 32).Connections, Is.EqualTo(start.Sum()).Within(start.Sum() / 10), "the memory check counts the denser start");

        var history = trainer.Fit(DigitsData.Train, DigitsData.Test);
        var layers = trainer.Network.SparseLayers.ToArray();
        Assert.Multiple(() =>
        {
            for (var l = 0; l < layers.Length; l++)
            {
                layers[l].Weights.Validate();
                Assert.That(layers[l].Weights.NonZeroCount, Is.EqualTo(targets[l]), $"layer {l} reaches its target");
            }

            Assert.That(history.TopologyChanges.Sum(c => c.Grown), Is.Zero, "nothing regrown");
            Assert.That(history.TopologyChanges.Sum(c => c.Pruned), Is.EqualTo(start.Sum() - targets.Sum()));
            var counts = history.Epochs.Select(e => e.Connections).ToArray();
            Assert.That(counts, Is.Ordered.Descending, "connections only fall");
            Assert.That(counts[^2], Is.EqualTo(targets.Sum()), "at the target by 75 % of training");
            Assert.That(history.Epochs[^1].TestAccuracy, Is.GreaterThan(0.9f));
        });
    }

    [Test]
    public void Gradual_pruning_takes_no_halves_and_its_start_no_other_method()
    {
        Assert.Multiple(() =>
        {
            Assert.That(() => new TrainingRecipe { Evolution = EvolutionMethod.Gradual, Grow = GrowthMethod.Random }.Validate(),
                Throws.ArgumentException.With.Message.StartsWith("--grow chooses a half of an evolution method, and --evolve gradual has none"));
            Assert.That(() => new TrainingRecipe { Evolution = EvolutionMethod.RigL, InitialDensity = 0.5 }.Validate(),
                Throws.ArgumentException.With.Message.EqualTo("--initial-density is the denser start of --evolve gradual."));
            Assert.That(() => new TrainingRecipe { Evolution = EvolutionMethod.Gradual, InitialDensity = 1.5 }.Validate(),
                Throws.ArgumentException.With.Message.EqualTo("--initial-density must be in (0, 1], got 1.5."));
            Assert.That(new TrainingRecipe { Evolution = EvolutionMethod.Gradual }.CreateEvolver(), Is.Null);
            Assert.That(new TrainingRecipe { Evolution = EvolutionMethod.Gradual }.CreateHooks().Single(), Is.TypeOf<GradualPruningHook>());
        });
    }

    [Test]
    public void Gap_grows_each_layer_in_turn_and_ends_at_the_runs_counts()
    {
        var recipe = new TrainingRecipe { Hidden = [48, 32], Epsilon = 4, Evolution = EvolutionMethod.Gap, GapDensity = 0.6, Epochs = 12, BatchSize = 32, Seed = 5 };
        recipe.Validate();
        Assert.That(recipe.GapPhaseEpochs(3), Is.EqualTo(1), "nine phases of an epoch in the first 9 of 12 epochs: each of three layers grown three times");
        var trainer = recipe.CreateTrainer(DigitsData.Train);
        var budgets = trainer.Network.SparseLayers.Select(l => l.Weights.NonZeroCount).ToArray();
        var hook = trainer.Hooks.OfType<GapHook>().Single();
        var history = trainer.Fit(DigitsData.Train, DigitsData.Test);
        var layers = trainer.Network.SparseLayers.ToArray();
        Assert.Multiple(() =>
        {
            for (var l = 0; l < layers.Length; l++)
            {
                layers[l].Weights.Validate();
                Assert.That(layers[l].Weights.NonZeroCount, Is.EqualTo(budgets[l]), $"layer {l} back at its count");
                var grown = history.TopologyChanges.Where(c => c.Layer == l && c.Grown > 0).ToArray();
                Assert.That(grown, Has.Length.EqualTo(3), $"layer {l}'s phases");
                Assert.That(grown.All(c => c.Connections == (long)Math.Round(0.6 * layers[l].InputSize * layers[l].OutputSize)), Is.True, $"layer {l} grows to 0.6");
            }

            Assert.That(hook.Grown, Is.EqualTo(-1), "nothing grown after the cycle");
            Assert.That(hook.PeakConnections, Is.GreaterThan(budgets.Sum()).And.LessThanOrEqualTo(budgets.Sum() + layers.Max(l => (long)(0.6 * l.InputSize * l.OutputSize))));
            Assert.That(history.Epochs.Select(e => e.Connections).Max(), Is.GreaterThan(budgets.Sum()), "the per-epoch counts show the grown layer");
            Assert.That(history.Epochs[^1].TestAccuracy, Is.GreaterThan(0.9f));
        });
        Assert.That(() => new TrainingRecipe { Evolution = EvolutionMethod.RigL, GapDensity = 0.5 }.Validate(), Throws.ArgumentException.With.Message.EqualTo("--gap-density is the grown density of --evolve gap."));
    }
}
