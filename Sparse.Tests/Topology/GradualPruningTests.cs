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

            // What the denser start cost: pruned at epoch ends, each epoch trains with the count the one before ended with.
            var profile = history.Connections()!;
            var epochs = history.Epochs;
            var connectionSteps = epochs.Select((e, i) => (double)(i == 0 ? start.Sum() : epochs[i - 1].Connections) * (e.Steps - (i == 0 ? 0 : epochs[i - 1].Steps))).Sum();
            Assert.That(profile.Start, Is.EqualTo(start.Sum()));
            Assert.That(profile.Peak, Is.EqualTo(start.Sum()));
            Assert.That(profile.Mean, Is.EqualTo(connectionSteps / epochs[^1].Steps).Within(1e-9).Percent);
            Assert.That(epochs[^1].Steps, Is.EqualTo(6 * ((DigitsData.Train.Count + 31) / 32)), "the optimizer's steps at the last epoch's end");
        });
    }

    [Test]
    public void A_fixed_topologys_connection_profile_is_its_count_and_a_history_without_steps_has_none()
    {
        var recipe = new TrainingRecipe { Hidden = [32], Epsilon = 4, Evolution = EvolutionMethod.None, Epochs = 2, BatchSize = 64, Seed = 1 };
        var trainer = recipe.CreateTrainer(DigitsData.Train);
        var history = trainer.Fit(DigitsData.Train);
        var count = trainer.Network.ConnectionCount;
        Assert.That(history.Connections(), Is.EqualTo(new ConnectionProfile(count, count, count)));

        var old = new TrainingHistory();
        old.Epochs.AddRange(history.Epochs.Select(e => e with { Steps = 0 }));
        Assert.That(old.Connections(), Is.Null, "a history saved before the steps were kept");
        Assert.That(new TrainingHistory().Connections(), Is.Null);
    }

    [Test]
    public void Gradual_pruning_takes_no_halves_and_its_start_no_other_method()
    {
        Assert.Multiple(() =>
        {
            Assert.That(() => new TrainingRecipe { Evolution = EvolutionMethod.Gradual, Grow = GrowthMethod.Random }.Validate(),
                Throws.ArgumentException.With.Message.StartsWith("--grow chooses a half of an evolution method, and --evolve gradual has none"));
            Assert.That(() => new TrainingRecipe { Evolution = EvolutionMethod.RigL, InitialDensity = 0.5 }.Validate(),
                Throws.ArgumentException.With.Message.EqualTo("--initial-density is the denser start of --evolve gradual or earlycrop."));
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
            var profile = history.Connections()!;
            Assert.That(profile.Start, Is.EqualTo(budgets.Sum()), "the first step trains at the run's counts; the first layer grows after it");
            Assert.That(profile.Peak, Is.EqualTo(hook.PeakConnections));
            Assert.That(profile.Mean, Is.GreaterThan(budgets.Sum()).And.LessThan(profile.Peak));
            Assert.That(history.Epochs[^1].TestAccuracy, Is.GreaterThan(0.9f));
        });
        Assert.That(() => new TrainingRecipe { Evolution = EvolutionMethod.RigL, GapDensity = 0.5 }.Validate(), Throws.ArgumentException.With.Message.EqualTo("--gap-density is the grown density of --evolve gap."));
    }

    [Test]
    public void EarlyCrop_prunes_a_dense_start_early_to_the_runs_count_by_gradient_flow()
    {
        var recipe = new TrainingRecipe { Hidden = [48, 32], Epsilon = 4, Evolution = EvolutionMethod.EarlyCrop, Epochs = 10, BatchSize = 32, Seed = 6, Dropout = 0.2f };
        recipe.Validate();
        int[] sizes = [DigitsData.Train.FeatureCount, 48, 32, DigitsData.Train.OutputCount];
        var target = recipe.Densities(sizes).Select((d, l) => (long)Math.Round(d * sizes[l] * sizes[l + 1])).Sum();
        var trainer = recipe.CreateTrainer(DigitsData.Train);
        var start = trainer.Network.ConnectionCount;
        Assert.That(start, Is.EqualTo(sizes.Zip(sizes.Skip(1)).Sum(p => (long)p.First * p.Second)), "a dense start");
        var history = trainer.Fit(DigitsData.Train, DigitsData.Test);
        Assert.Multiple(() =>
        {
            Assert.That(trainer.Network.ConnectionCount, Is.EqualTo(target), "the run's total count");
            foreach (var layer in trainer.Network.SparseLayers)
            {
                layer.Weights.Validate();
            }

            var steps = history.TopologyChanges.GroupBy(c => c.Step).ToArray();
            Assert.That(steps.Select(g => g.First().Epoch).Distinct(), Is.EqualTo(new[] { 0 }), "pruned once, after the first of 10 epochs");
            Assert.That(history.TopologyChanges.Sum(c => c.Pruned), Is.EqualTo(start - target));
            Assert.That(history.TopologyChanges.Sum(c => c.Grown), Is.Zero);
            Assert.That(history.Epochs[^1].TestAccuracy, Is.GreaterThan(0.8f), "a working model: 10 classes, chance 0.1");
        });
    }

    [Test]
    public void EarlyCrops_steps_halve_the_distance_to_the_target_as_the_references_unstructured_schedule()
    {
        Assert.Multiple(() =>
        {
            Assert.That(EarlyCropHook.StepCounts(1000, 100, 100), Is.EqualTo(new long[] { 550, 325, 212, 156, 128, 114, 107, 103, 101, 100 }));
            Assert.That(EarlyCropHook.StepCounts(1000, 100, 2), Is.EqualTo(new long[] { 550, 325, 100 }), "at most the given halvings, then the target");
            Assert.That(EarlyCropHook.StepCounts(101, 100, 100), Is.EqualTo(new long[] { 100 }));
            Assert.That(EarlyCropHook.StepCounts(100, 100, 100), Is.Empty, "nothing to prune");
            Assert.Throws<ArgumentOutOfRangeException>(() => EarlyCropHook.StepCounts(10, 20, 100), "a target above the start");

            // From a dense start of P pairs, the reference's first step is sparsity 1/2 and its i-th s_f - (s_f - 1/2) / 2^i:
            // P (1 - s_i) = c_f + (P/2 - c_f) / 2^i, which differs from c_f + (P - c_f) / 2^(i+1) by c_f / 2^(i+1).
            const long pairs = 2_000_000, final = 20_000;
            var counts = EarlyCropHook.StepCounts(pairs, final, 100).ToArray();
            for (var i = 0; i < 5; i++)
            {
                var sparsity = (1 - ((double)final / pairs)) - ((1 - ((double)final / pairs) - 0.5) / Math.Pow(2, i));
                Assert.That(counts[i], Is.EqualTo(pairs * (1 - sparsity)).Within(final / Math.Pow(2, i + 1) + 1), $"step {i}");
            }

            Assert.That(counts, Has.Length.EqualTo(21), "about log2 of the distance");
        });
    }

    [Test]
    public void EarlyCrop_leaves_every_layer_connected_where_the_first_layer_sees_mostly_noise()
    {
        // A MADELON-like table (20 of 500 columns relevant) in CTRE's regime at epsilon 1: four equal pruning steps over all
        // layers together leave the first layer 1 connection of its 700 (its scores are all small); halving steps rescore as
        // they go and keep 334.
        var (all, _) = Sparse.Bench.Madelon.Generate(1000, 500, 11);
        var recipe = new TrainingRecipe
        {
            Hidden = [200, 200, 200], Epsilon = 1, Evolution = EvolutionMethod.EarlyCrop, Epochs = 20, BatchSize = 100, Seed = 1,
            Optimizer = OptimizerKind.Sgd, LearningRate = 0.01f,
        };
        recipe.Validate();
        var trainer = recipe.CreateTrainer(all);
        trainer.Fit(all);
        int[] sizes = [500, 200, 200, 200, 2];
        var erdosRenyi = recipe.Densities(sizes).Select((d, l) => d * sizes[l] * sizes[l + 1]).ToArray();
        var counts = trainer.Network.SparseLayers.Select(l => (double)l.Weights.NonZeroCount).ToArray();
        Assert.That(counts.Zip(erdosRenyi, (c, e) => c / e), Has.All.GreaterThan(0.1), $"each layer keeps a tenth of its Erdos-Renyi count ({string.Join(", ", counts)})");
    }

    [Test]
    public void The_gradient_flow_score_is_weight_times_the_hessian_gradient_product()
    {
        // One linear layer under softmax cross-entropy, whose Hessian-vector product is known in closed form: for the mean
        // loss over n samples, (H v)[j, i] = 1/n sum_s ((diag p_s - p_s p_s^T)(V x_s))_j x_s[i], with V supported on the
        // stored connections and read there.
        var network = SparseNetwork.CreateMlp([64, 10], ActivationKind.Relu, epsilon: 3, seed: 2,
            normalization: InputNormalization.Fit(DigitsData.Train, NormalizationKind.Standardize));
        var w = network.SparseLayers.Single().Weights;
        const int n = 100;
        var loader = new BatchLoader(DigitsData.Train, n, network.Normalization, shuffle: false, seed: 0);
        var scores = EarlyCropHook.Scores(network, new SoftmaxCrossEntropy(), loader, 1, new float[10 * n])!.Single();

        loader.StartEpoch(0);
        loader.Next();
        var x = loader.Batch.Features.ToArray();
        var labels = loader.Batch.Labels.ToArray();
        double[] Probabilities(int s)
        {
            var z = new double[10];
            for (var j = 0; j < 10; j++)
            {
                z[j] = network.SparseLayers.Single().Bias[j];
                for (var k = w.RowPointers[j]; k < w.RowPointers[j + 1]; k++)
                {
                    z[j] += w.Values[k] * x[(w.ColumnIndices[k] * n) + s];
                }
            }

            var max = z.Max();
            var e = z.Select(v => Math.Exp(v - max)).ToArray();
            return [.. e.Select(v => v / e.Sum())];
        }

        var p = Enumerable.Range(0, n).Select(Probabilities).ToArray();
        var g = new double[w.NonZeroCount];
        for (var j = 0; j < 10; j++)
        {
            for (var k = (int)w.RowPointers[j]; k < w.RowPointers[j + 1]; k++)
            {
                g[k] = Enumerable.Range(0, n).Sum(s => (p[s][j] - (labels[s] == j ? 1 : 0)) * x[(w.ColumnIndices[k] * n) + s]) / n;
            }
        }

        var hg = new double[w.NonZeroCount];
        for (var s = 0; s < n; s++)
        {
            var vx = new double[10];
            for (var j = 0; j < 10; j++)
            {
                for (var k = (int)w.RowPointers[j]; k < w.RowPointers[j + 1]; k++)
                {
                    vx[j] += g[k] * x[(w.ColumnIndices[k] * n) + s];
                }
            }

            var pv = Enumerable.Range(0, 10).Sum(j => p[s][j] * vx[j]);
            for (var j = 0; j < 10; j++)
            {
                var jv = p[s][j] * (vx[j] - pv);
                for (var k = (int)w.RowPointers[j]; k < w.RowPointers[j + 1]; k++)
                {
                    hg[k] += jv * x[(w.ColumnIndices[k] * n) + s] / n;
                }
            }
        }

        var largest = hg.Select((v, k) => Math.Abs(w.Values[k] * v)).Max();
        for (var k = 0; k < hg.Length; k++)
        {
            Assert.That(scores[k], Is.EqualTo(Math.Abs(w.Values[k] * hg[k])).Within(2e-3 * largest), $"connection {k}");
        }
    }
}
