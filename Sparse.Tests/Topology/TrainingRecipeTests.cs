using Sparse.Core;
using Sparse.Topology;
using Sparse.Training;

namespace Sparse.Tests.Topology;

/// <summary>The library's defaults for optimization and evolution, in the one place train and sweep read them.</summary>
[TestFixture]
public class TrainingRecipeTests
{
    [TestCase(OptimizerKind.Adam, true, 0.003f)]
    [TestCase(OptimizerKind.Adam, false, 0.003f)]
    [TestCase(OptimizerKind.Sgd, true, 0.01f)]
    [TestCase(OptimizerKind.Sgd, false, 0.002f)]
    public void The_learning_rate_defaults_by_optimizer_and_task_and_anneals_to_a_fiftieth(OptimizerKind kind, bool classification, float rate)
    {
        var recipe = new TrainingRecipe { Optimizer = kind, WeightDecay = 0.01f };
        var optimizer = recipe.CreateOptimizer(classification);
        Assert.Multiple(() =>
        {
            Assert.That(optimizer.LearningRate, Is.EqualTo(rate));
            Assert.That(optimizer, kind == OptimizerKind.Adam ? Is.InstanceOf<Adam>().With.Property(nameof(Adam.Decoupled)).True : Is.InstanceOf<Sgd>());
            Assert.That(optimizer.StateSlots, Is.EqualTo(recipe.OptimizerSlots));
            Assert.That((recipe with { LearningRate = 0.5f }).CreateOptimizer(classification).LearningRate, Is.EqualTo(0.5f));
            Assert.That(TrainingRecipe.CreateSchedule(rate).RateAt(rate, 99, 100), Is.EqualTo(rate / 50).Within(rate * 1e-3));
            Assert.That(TrainingRecipe.CreateSchedule(rate).RateAt(rate, 0, 100), Is.EqualTo(rate));
        });
    }

    [TestCase(EvolutionMethod.None, null, null)]
    [TestCase(EvolutionMethod.Set, typeof(RandomRegrower), null)]
    [TestCase(EvolutionMethod.RigL, typeof(GradientRegrower), null)]
    [TestCase(EvolutionMethod.Ctre, typeof(CosineRegrower), 0)]
    [TestCase(EvolutionMethod.CtreSim, typeof(CosineRegrower), 0)]
    [TestCase(EvolutionMethod.CtreSeq, typeof(CosineRegrower), 0)]
    public void Each_method_builds_its_evolver_and_rewires_on_its_default_schedule(EvolutionMethod method, Type? regrower, int? interval)
    {
        var recipe = new TrainingRecipe { Evolution = method };
        var evolver = recipe.CreateEvolver();
        Assert.Multiple(() =>
        {
            Assert.That(evolver?.Regrower.GetType(), Is.EqualTo(regrower));
            Assert.That(recipe.EvolutionInterval, Is.EqualTo(interval), "null: twice an epoch; 0: after each epoch");
            Assert.That((recipe with { EvolveEvery = 7 }).EvolutionInterval, Is.EqualTo(7));
            Assert.That(recipe.CreateEvolutionHook() is null, Is.EqualTo(method == EvolutionMethod.None));
            Assert.That(TrainingRecipe.ParseEvolution(TrainingRecipe.EvolutionNames[(int)method]), Is.EqualTo(method));
        });
        if (evolver?.Regrower is CosineRegrower cosine)
        {
            Assert.That(cosine.Variant, Is.EqualTo(method switch { EvolutionMethod.CtreSim => CtreVariant.Sim, EvolutionMethod.CtreSeq => CtreVariant.Seq, _ => CtreVariant.Plain }));
        }
    }

    [Test]
    public void Rigl_search_sets_how_many_scores_a_layer_is_searched_exactly_up_to()
    {
        long Exact(RigLSearch search) => ((GradientRegrower)new TrainingRecipe { RigLSearch = search }.CreateEvolver()!.Regrower).ExactScores;
        Assert.That((Exact(RigLSearch.Auto), Exact(RigLSearch.Exact), Exact(RigLSearch.Bounded)), Is.EqualTo((GradientRegrower.DefaultExactScores, long.MaxValue, 0L)));
    }

    [Test]
    public void Set_regrows_from_the_seeds_regrowth_stream()
    {
        // Two recipes with one seed regrow the same positions; another seed, others.
        CsrMatrix Step(ulong seed)
        {
            var layer = new SparseLinear(RandomSparse.Bernoulli(30, 30, 0.2, ValueDistribution.Normal(1), 9));
            new TrainingRecipe { Evolution = EvolutionMethod.Set, Seed = seed }.CreateEvolver()!.EvolveLayer(layer, null, 0.3);
            return layer.Weights;
        }

        var (first, again, other) = (Step(4), Step(4), Step(5));
        Assert.That(again.ColumnIndices, Is.EqualTo(first.ColumnIndices));
        Assert.That(other.ColumnIndices, Is.Not.EqualTo(first.ColumnIndices));
    }

    [Test]
    public void The_network_has_the_recipes_shape_sparsity_and_seed_and_its_memory_is_estimated_with_the_hooks()
    {
        var random = new Random(3);
        var x = new float[200 * 30];
        for (var k = 0; k < x.Length; k++)
        {
            x[k] = (float)random.NextDouble();
        }

        var data = Dataset.ForClassification(x, 30, [.. Enumerable.Range(0, 200).Select(r => r % 4)], 4);
        var recipe = new TrainingRecipe { Hidden = [40, 20], Activation = ActivationKind.Tanh, Density = 0.3, Dropout = 0.2f, Seed = 7, PruneNeurons = true };
        var network = recipe.CreateNetwork(data, 4);
        var layers = network.SparseLayers.ToArray();
        Assert.Multiple(() =>
        {
            Assert.That(layers.Select(l => (l.InputSize, l.OutputSize)), Is.EqualTo(new[] { (30, 40), (40, 20), (20, 4) }));
            Assert.That(layers[0].Weights.Density, Is.EqualTo(0.3).Within(0.05));
            Assert.That(network.Layers.OfType<Dropout>().Count(), Is.EqualTo(2));
            Assert.That(network.Normalization, Is.Not.Null);
            Assert.That(recipe.CreateNetwork(data, 4).SparseLayers.First().Weights.ColumnIndices, Is.EqualTo(layers[0].Weights.ColumnIndices), "the seed fixes it");
            Assert.That((recipe with { Seed = 8 }).CreateNetwork(data, 4).SparseLayers.First().Weights.ColumnIndices, Is.Not.EqualTo(layers[0].Weights.ColumnIndices));
            Assert.That(recipe.CreateHooks().Select(h => h.GetType()), Is.EqualTo(new[] { typeof(EvolutionHook), typeof(NeuronPruningHook) }));
            Assert.That((recipe with { Evolution = EvolutionMethod.None, PruneNeurons = false }).CreateHooks(), Is.Empty);
        });

        var sizes = recipe.LayerSizes(30, 4);
        var expected = MemoryEstimate.ForMlp(sizes, LayerDensities.Uniform(sizes, 0.3), 32, 2, dropout: true,
            Math.Max(recipe.CreateEvolver()!.ScratchBytesPerConnection(2), NeuronImportancePruner.ScratchBytesPerConnection(2)));
        Assert.That(recipe.EstimateMemory(30, 4, 32), Is.EqualTo(expected));
        Assert.That(new TrainingRecipe { Hidden = [10] }.Densities([30, 10, 4]), Is.EqualTo(LayerDensities.ErdosRenyi([30, 10, 4], 8)));
        Assert.That(new TrainingRecipe { Erk = 0.1 }.Densities([30, 10, 4]), Is.EqualTo(LayerDensities.ErdosRenyiKernel([30, 10, 4], 0.1)));
    }

    [TestCase("Epsilon", "--epsilon must be a positive number, got 0.")]
    [TestCase("Density", "--density must be in (0, 1], got 2.")]
    [TestCase("Dropout", "--dropout must be in [0, 1), got 1.")]
    [TestCase("Hidden", "--hidden must be positive sizes, got 10,0.")]
    [TestCase("Zeta", "--zeta must be between 0 and 1 (exclusive), got 1.")]
    [TestCase("LearningRate", "--learning-rate must be a positive number, got 0.")]
    [TestCase("Momentum", "--momentum must be in [0, 1), got 1.")]
    [TestCase("WeightDecay", "--weight-decay must be 0 or a positive number, got -1.")]
    [TestCase("EvolveEvery", "--evolve-every must be 0 (after each epoch) or a positive number of steps, got -1.")]
    public void Validation_names_the_option(string property, string message)
    {
        var recipe = property switch
        {
            "Epsilon" => new TrainingRecipe { Epsilon = 0 },
            "Density" => new TrainingRecipe { Density = 2 },
            "Dropout" => new TrainingRecipe { Dropout = 1 },
            "Hidden" => new TrainingRecipe { Hidden = [10, 0] },
            "Zeta" => new TrainingRecipe { Zeta = 1 },
            "LearningRate" => new TrainingRecipe { LearningRate = 0 },
            "Momentum" => new TrainingRecipe { Momentum = 1 },
            "WeightDecay" => new TrainingRecipe { WeightDecay = -1 },
            _ => new TrainingRecipe { EvolveEvery = -1 },
        };
        Assert.That(recipe.Validate, Throws.ArgumentException.With.Message.EqualTo(message));
        Assert.That(new TrainingRecipe().Validate, Throws.Nothing);
    }

    [Test]
    public void A_recipe_round_trips_through_its_checkpoint_section_and_a_damaged_one_is_named()
    {
        var recipe = new TrainingRecipe
        {
            Hidden = [7, 5, 3],
            Activation = ActivationKind.Tanh,
            Erk = 0.2,
            Dropout = 0.1f,
            PruneNeurons = true,
            Optimizer = OptimizerKind.Sgd,
            LearningRate = 0.04f,
            Momentum = 0.8f,
            WeightDecay = 0.5f,
            Evolution = EvolutionMethod.CtreSeq,
            Prune = PruneMethod.Cosine,
            Grow = GrowthMethod.Gradient,
            Zeta = 0.2,
            EvolveEvery = 17,
            RigLSearch = RigLSearch.Bounded,
            Seed = 99,
            Epochs = 3,
            BatchSize = 9,
            ClipNorm = 2,
            Precision = Precision.Bf16,
            Threads = 1,
            Band = 64,
        };
        var network = SparseNetwork.CreateMlp([4, 3], ActivationKind.Relu, epsilon: 1, seed: 1);
        var path = Path.Combine(Path.GetTempPath(), $"recipe-{Guid.NewGuid():N}.sparse");
        try
        {
            Checkpoint.Save(path, network, sections: [recipe.ToCheckpointSection()]);
            var loaded = TrainingRecipe.FromCheckpoint(Checkpoint.Load(path))!;
            Assert.That(loaded with { Hidden = recipe.Hidden }, Is.EqualTo(recipe));
            Assert.That(loaded.Hidden, Is.EqualTo(recipe.Hidden));

            Checkpoint.Save(path, network);
            Assert.That(TrainingRecipe.FromCheckpoint(Checkpoint.Load(path)), Is.Null, "a checkpoint without a recipe");

            Checkpoint.Save(path, network, sections: [(recipe with { Zeta = 3 }).ToCheckpointSection()]);
            Assert.That(() => TrainingRecipe.FromCheckpoint(Checkpoint.Load(path)),
                Throws.InstanceOf<InvalidDataException>().With.Message.EqualTo("the saved recipe is out of range (--zeta must be between 0 and 1 (exclusive), got 3.)"));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
