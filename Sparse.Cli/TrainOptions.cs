using System.CommandLine;
using static Sparse.Cli.SharedOptions;

namespace Sparse.Cli;

/// <summary>
/// <c>sparse train</c>'s options: their declarations, their ranges (checked before any file is read), and the
/// <see cref="TrainingRecipe"/> they parse into. The recipe is saved in every checkpoint; the data options (files,
/// label, task, split) are saved beside it (<see cref="RunOptions"/>), so <c>--resume</c> needs no other flag.
/// </summary>
internal static class TrainOptions
{
    public static readonly Option<string> Hidden = new("--hidden") { Description = "Hidden layer sizes, comma-separated; none for a linear model (one layer from the inputs to the outputs).", DefaultValueFactory = _ => "512,512" };
    public static readonly Option<string> ActivationName = new("--activation") { Description = "relu, leaky-relu, all-relu, tanh or sigmoid.", DefaultValueFactory = _ => "relu" };
    public static readonly Option<double> Epsilon = new("--epsilon") { Description = "Erdos-Renyi sparsity: about epsilon x (in + out) connections per layer.", DefaultValueFactory = _ => 8 };
    public static readonly Option<double?> Density = new("--density") { Description = "Uniform density of every layer (instead of --epsilon)." };
    public static readonly Option<double?> Erk = new("--erk") { Description = "Overall density spread by ERK (instead of --epsilon)." };
    public static readonly Option<string> Evolve = new("--evolve")
    {
        Description = "Topology evolution: rigl (prune by magnitude, regrow where the gradient is largest), set (regrow at random), " +
            "ctre (regrow between the neurons whose activations over the training rows are most alike; ctre-sim and ctre-seq are its variants), " +
            "gradual (prune a denser start down to the sparsity by magnitude, regrow nothing; --initial-density), gap (grow each layer in turn, " +
            "train it, prune it back; --gap-density), earlycrop (prune a denser start early by gradient flow; --initial-density) or none.",
        DefaultValueFactory = _ => "rigl",
    };

    public static readonly Option<string?> PruneRule = new("--prune")
    {
        Description = "The pruning half of --evolve: magnitude (the weights closest to zero) or cosine (the connections between the neurons whose activations " +
            "over the training rows are least alike). Default: the method's own, magnitude.",
    };

    public static readonly Option<string?> GrowRule = new("--grow")
    {
        Description = "The regrowth half of --evolve: random, gradient or cosine (between the most alike neurons). Default: the method's own " +
            "(set random, rigl gradient, ctre cosine).",
    };

    public static readonly Option<double?> InitialDensity = new("--initial-density")
    {
        Description = "With --evolve gradual or earlycrop: every layer's density when training starts (default 1, dense), pruned to the density " +
            "--epsilon, --density or --erk sets (gradual: by magnitude on a cubic schedule until 75 % of training; earlycrop: by gradient flow after a tenth).",
    };

    public static readonly Option<double?> GapDensity = new("--gap-density")
    {
        Description = "With --evolve gap: the density each layer grows to in its phase (default 1, dense), before it is pruned back by magnitude.",
    };

    public static readonly Option<int?> SupTickets = new("--sup-tickets")
    {
        Description = "Sup-tickets around the evolution: this many cycles of a cyclic learning rate in the last tenth of training, each ending in a " +
            "ticket; the run ends with their superposition pruned back to the connection budget (docs/topology.md).",
    };

    public static readonly Option<double> Zeta = new("--zeta") { Description = "Fraction rewired per evolution step (RigL: the starting fraction).", DefaultValueFactory = _ => 0.3 };
    public static readonly Option<string> RiglSearch = new("--rigl-search")
    {
        Description = "RigL's regrowth: exact (score every missing connection, out x in x batch work), bounded (score the top neurons by gradient and " +
            "activation norm, any width) or auto (exact up to 2^31 scores a layer).",
        DefaultValueFactory = _ => "auto",
    };

    public static readonly Option<int?> EvolveEvery = new("--evolve-every")
    {
        Description = "Evolve every N steps with a fraction cosine-decayed from --zeta, until 75 % of training (default: twice an epoch; " +
            "after each epoch when a half is cosine, as for ctre); 0 evolves after each epoch with a constant --zeta.",
    };

    public static readonly Option<bool> LazyInputs = new("--lazy-inputs")
    {
        Description = "Sparse rows: step only the first layer's connections of each batch's features, stored input-major, so that a step " +
            "costs the batch's non-zeros rather than the input's width (lazy moments, as PyTorch's SparseAdam: an absent feature's momentum does not decay; docs/performance.md).",
    };
    public static readonly Option<int?> Band = new("--band")
    {
        Description = "Connect each neuron of a layer between two hidden layers only to a band of N neurons of the layer below, at the same " +
            "count, and keep the band when regrowing at random (set): wide hidden layers then gather from cache (docs/performance.md, \"Banded hidden layers\").",
    };
    public static readonly Option<bool> PruneNeurons = new("--prune-neurons") { Description = "Prune hidden neurons at or below the 20th importance percentile every 5 epochs from epoch 5." };
    public static readonly Option<string> LogFormat = new("--log-format")
    {
        Description = "text: lines a person reads (a progress bar on a terminal); json: one JSON object per event on standard output " +
            "(run start, every epoch, every layer's rewiring, warnings), and the other messages on standard error.",
        DefaultValueFactory = _ => "text",
    };

    public static readonly Option<int> Epochs = new("--epochs") { Description = "Training epochs.", DefaultValueFactory = _ => 40 };
    public static readonly Option<int> BatchSize = new("--batch-size") { Description = "Samples per batch.", DefaultValueFactory = _ => 32 };
    public static readonly Option<string> OptimizerName = new("--optimizer") { Description = "adam or sgd (momentum).", DefaultValueFactory = _ => "adam" };
    public static readonly Option<float?> LearningRate = new("--learning-rate") { Description = "Learning rate, cosine-annealed (default: 0.003 for adam; for sgd 0.01, or 0.002 for regression; docs/defaults.md)." };
    public static readonly Option<float> WeightDecay = new("--weight-decay") { Description = "Weight decay (L2 for sgd, decoupled for adam).", DefaultValueFactory = _ => 1e-4f };
    public static readonly Option<float> DropoutRate = new("--dropout") { Description = "Dropout after each hidden activation.", DefaultValueFactory = _ => 0f };
    public static readonly Option<ulong> Seed = new("--seed") { Description = "Seed of initialisation, split, shuffles and evolution.", DefaultValueFactory = _ => 1 };
    public static readonly Option<int?> SelectFeatures = new("--select-features") { Description = "Train on the K strongest features of the model given by --features-from (sparse features)." };
    public static readonly Option<string?> FeaturesFrom = new("--features-from") { Description = "The trained model whose feature ranking --select-features takes." };
    public static readonly Option<int> SyncEvery = new("--sync-every")
    {
        Description = "Under mpirun: 1 sums every step's gradients over the ranks (synchronous); K > 1 lets each rank step alone and averages the weights every K steps and before every rewiring (local SGD).",
        DefaultValueFactory = _ => 1,
    };

    public static readonly Option<string> CheckpointEvery = new("--checkpoint-every")
    {
        Description = "Write OUTPUT.checkpoint after every epoch (epoch), also every N steps (a number), or only when interrupted (off).",
        DefaultValueFactory = _ => "epoch",
    };

    public static readonly Option<float> ClipNorm = new("--clip-norm") { Description = "Scale gradients so that their global norm is at most this (0: off).", DefaultValueFactory = _ => 0f };
    public static readonly Option<string> Output = new("--output") { Description = "Where to save the trained model.", DefaultValueFactory = _ => "model.sparse" };
    public static readonly Option<string?> Resume = new("--resume") { Description = "Continue from a checkpoint written by an interrupted run." };
    public static readonly Option<bool> DataChanged = new("--data-changed")
    {
        Description = "With --resume: continue although the training or test rows differ from the interrupted run's (other values, order or split); the metrics record it.",
    };
    public static readonly Option<string?> MetricsPath = new("--metrics") { Description = "Write the per-epoch history as JSON here." };
    public static readonly Option<string?> PlotPath = new("--plot") { Description = "Draw loss, accuracy and connections per layer as a PNG here." };

    /// <summary>Every option of the command, in <c>--help</c> order.</summary>
    public static Option[] All()
    {
        ActivationName.AcceptOnlyFromAmong("relu", "leaky-relu", "all-relu", "tanh", "sigmoid");
        Evolve.AcceptOnlyFromAmong([.. TrainingRecipe.EvolutionNames]);
        PruneRule.AcceptOnlyFromAmong([.. TrainingRecipe.PruneNames]);
        GrowRule.AcceptOnlyFromAmong([.. TrainingRecipe.GrowthNames]);
        RiglSearch.AcceptOnlyFromAmong("auto", "exact", "bounded");
        LogFormat.AcceptOnlyFromAmong("text", "json");
        OptimizerName.AcceptOnlyFromAmong("sgd", "adam");
        return [TrainFile, TestFile, ValidationSplit, Label, TaskName, NoHeader, DataFormat, ZeroBased, FeatureCount, Hidden, ActivationName, Epsilon, Density, Erk, Evolve, PruneRule, GrowRule, InitialDensity, GapDensity, SupTickets, Zeta, EvolveEvery,
            RiglSearch, PruneNeurons, Epochs, BatchSize, OptimizerName, LearningRate, Momentum, WeightDecay, DropoutRate, ClipNorm, RawTargets, Seed, Threads,
            PrecisionName, LazyInputs, Band, SyncEvery, CheckpointEvery, SelectFeatures, FeaturesFrom, Output, Resume, DataChanged, MetricsPath, PlotPath, LogFormat];
    }

    /// <summary>
    /// The options that shape a run, saved in its checkpoint and taken from there on --resume. --train, --test and
    /// --epochs are saved too but may be given again (data moved, a run extended); outputs, threads and logging are the new command's.
    /// </summary>
    public static readonly Option[] Overridable = [TrainFile, TestFile, Epochs];

    /// <inheritdoc cref="Overridable"/>
    public static readonly Option[] Fixed = [ValidationSplit, Label, TaskName, NoHeader, DataFormat, ZeroBased, FeatureCount, Hidden, ActivationName, Epsilon, Density, Erk, Evolve, PruneRule, GrowRule, InitialDensity, GapDensity, SupTickets, Zeta, EvolveEvery,
        RiglSearch, PruneNeurons, BatchSize, OptimizerName, LearningRate, Momentum, WeightDecay, DropoutRate, ClipNorm, RawTargets, Seed, PrecisionName, LazyInputs, Band, SyncEvery, SelectFeatures, FeaturesFrom];

    /// <summary>The options the checkpoint's recipe section holds (<see cref="RecipeValues"/>), so the CLI's own section leaves them out.</summary>
    public static readonly Option[] InRecipe = [Hidden, ActivationName, Epsilon, Density, Erk, Evolve, PruneRule, GrowRule, InitialDensity, GapDensity, SupTickets, Zeta, EvolveEvery, RiglSearch, PruneNeurons, Epochs, BatchSize,
        OptimizerName, LearningRate, Momentum, WeightDecay, DropoutRate, ClipNorm, Seed, PrecisionName, LazyInputs, Band];

    /// <summary>The run's recipe: every option that shapes training, with the library's defaults for what is left out.</summary>
    /// <exception cref="UserError">--hidden is not a list of positive whole numbers.</exception>
    public static TrainingRecipe Recipe(RunOptions run) => new()
    {
        Hidden = HiddenSizes(run.Get(Hidden)!),
        Activation = Activation(run.Get(ActivationName)!) ?? ActivationKind.Relu,
        Epsilon = run.Get(Epsilon),
        Density = run.Get(Density),
        Erk = run.Get(Erk),
        Dropout = run.Get(DropoutRate),
        PruneNeurons = run.Get(PruneNeurons),
        Optimizer = run.Get(OptimizerName) == "adam" ? OptimizerKind.Adam : OptimizerKind.Sgd,
        LearningRate = run.Get(LearningRate),
        Momentum = run.Get(Momentum),
        WeightDecay = run.Get(WeightDecay),
        Evolution = TrainingRecipe.ParseEvolution(run.Get(Evolve)!),
        Prune = run.Get(PruneRule) is { } prune ? TrainingRecipe.ParsePrune(prune) : null,
        Grow = run.Get(GrowRule) is { } grow ? TrainingRecipe.ParseGrowth(grow) : null,
        InitialDensity = run.Get(InitialDensity),
        SupTickets = run.Get(SupTickets),
        GapDensity = run.Get(GapDensity),
        Zeta = run.Get(Zeta),
        EvolveEvery = run.Get(EvolveEvery),
        RigLSearch = run.Get(RiglSearch) switch
        {
            "exact" => Sparse.Topology.RigLSearch.Exact,
            "bounded" => Sparse.Topology.RigLSearch.Bounded,
            _ => Sparse.Topology.RigLSearch.Auto, // auto, and checkpoints saved before the option existed
        },
        Seed = run.Get(Seed),
        Epochs = run.Get(Epochs),
        BatchSize = run.Get(BatchSize),
        ClipNorm = run.Get(ClipNorm),
        Precision = run.Get(PrecisionName) == "bf16" ? Precision.Bf16 : Precision.Fp32, // fp32 too for checkpoints saved before --precision
        LazyInputs = run.Get(LazyInputs),
        Band = run.Get(Band),
        Threads = run.Get(Threads),
    };

    /// <summary>The values of <see cref="InRecipe"/>'s options that <paramref name="recipe"/> holds, as the command line would give them.</summary>
    public static Dictionary<string, string> RecipeValues(TrainingRecipe recipe)
    {
        var values = new Dictionary<string, string?>
        {
            [Hidden.Name] = string.Join(",", recipe.Hidden),
            [ActivationName.Name] = NetworkConfig.ActivationName(recipe.Activation),
            [Epsilon.Name] = RunOptions.Format(recipe.Epsilon),
            [Density.Name] = RunOptions.Format(recipe.Density),
            [Erk.Name] = RunOptions.Format(recipe.Erk),
            [Evolve.Name] = recipe.EvolutionName,
            [PruneRule.Name] = recipe.Prune is { } prune ? TrainingRecipe.PruneNames[(int)prune] : null,
            [GrowRule.Name] = recipe.Grow is { } grow ? TrainingRecipe.GrowthNames[(int)grow] : null,
            [InitialDensity.Name] = RunOptions.Format(recipe.InitialDensity),
            [SupTickets.Name] = RunOptions.Format(recipe.SupTickets),
            [GapDensity.Name] = RunOptions.Format(recipe.GapDensity),
            [Zeta.Name] = RunOptions.Format(recipe.Zeta),
            [EvolveEvery.Name] = RunOptions.Format(recipe.EvolveEvery),
            [RiglSearch.Name] = recipe.RigLSearch.ToString().ToLowerInvariant(),
            [PruneNeurons.Name] = RunOptions.Format(recipe.PruneNeurons),
            [Epochs.Name] = RunOptions.Format(recipe.Epochs),
            [BatchSize.Name] = RunOptions.Format(recipe.BatchSize),
            [OptimizerName.Name] = recipe.Optimizer == OptimizerKind.Adam ? "adam" : "sgd",
            [LearningRate.Name] = RunOptions.Format(recipe.LearningRate),
            [Momentum.Name] = RunOptions.Format(recipe.Momentum),
            [WeightDecay.Name] = RunOptions.Format(recipe.WeightDecay),
            [DropoutRate.Name] = RunOptions.Format(recipe.Dropout),
            [ClipNorm.Name] = RunOptions.Format(recipe.ClipNorm),
            [Seed.Name] = RunOptions.Format(recipe.Seed),
            [PrecisionName.Name] = recipe.Precision == Precision.Bf16 ? "bf16" : "fp32",
            [LazyInputs.Name] = RunOptions.Format(recipe.LazyInputs),
            [Band.Name] = RunOptions.Format(recipe.Band),
        };
        return values.Where(v => v.Value is not null).ToDictionary(v => v.Key, v => v.Value!);
    }

    /// <summary>Every option's range, checked before any file is read.</summary>
    /// <exception cref="UserError">The first option out of range, by name.</exception>
    public static void Check(ParseResult parse, RunOptions run)
    {
        static string Show(double value) => value.ToString(CultureInfo.InvariantCulture);
        void Require(bool valid, string option, string range, object? value)
        {
            if (!valid)
            {
                throw new UserError($"{option} must be {range}, got {(value is double d ? Show(d) : value is float f ? Show(f) : value)}.");
            }
        }

        var split = run.Get(ValidationSplit);
        Require(split is > 0 and < 1, "--validation-split", "between 0 and 1 (exclusive)", split);
        try
        {
            Recipe(run).Validate();
        }
        catch (ArgumentException e)
        {
            throw new UserError(e.Message);
        }

        var explicitSparsity = new[] { ("--epsilon", Explicit(parse, Epsilon)), ("--density", run.Get(Density) is not null), ("--erk", run.Get(Erk) is not null) }
            .Where(o => o.Item2).Select(o => o.Item1).ToArray();
        if (explicitSparsity.Length > 1)
        {
            throw new UserError($"{string.Join(" and ", explicitSparsity)} both set the sparsity; give one.");
        }

        if (run.Get(SelectFeatures) is { } select)
        {
            Require(select >= 1, "--select-features", "1 or more", select);
            if (run.Get(FeaturesFrom) is null)
            {
                throw new UserError("--select-features needs --features-from MODEL: the trained model whose ranking it takes.");
            }
        }
        else if (run.Get(FeaturesFrom) is not null)
        {
            throw new UserError("--features-from names the model to rank; give --select-features K too.");
        }

        var syncEvery = run.Get(SyncEvery);
        Require(syncEvery >= 1, "--sync-every", "1 (every step) or more", syncEvery);
        var checkpointEvery = run.Get(CheckpointEvery);
        Require(checkpointEvery is "epoch" or "off" || (int.TryParse(checkpointEvery, NumberStyles.None, CultureInfo.InvariantCulture, out var steps) && steps > 0),
            "--checkpoint-every", "epoch, off or a number of steps", checkpointEvery);

        if (run.Get(DataChanged) && run.Get(Resume) is null)
        {
            throw new UserError("--data-changed applies to --resume: it lets a resumed run continue on other data.");
        }

        if (Explicit(parse, Momentum) && run.Get(OptimizerName) == "adam")
        {
            throw new UserError("--momentum applies to --optimizer sgd; Adam keeps its own moments.");
        }
    }

    /// <summary>Steps between checkpoints within an epoch (--checkpoint-every N), or 0.</summary>
    public static int CheckpointSteps(RunOptions run) =>
        int.TryParse(run.Get(CheckpointEvery), NumberStyles.None, CultureInfo.InvariantCulture, out var steps) ? steps : 0;

    private static bool Explicit(ParseResult parse, Option option) => parse.GetResult(option) is { Implicit: false };

    private static int[] HiddenSizes(string text)
    {
        if (text.Trim() == "none")
        {
            return [];
        }

        int[] hidden;
        try
        {
            hidden = [.. text.Split(",", StringSplitOptions.TrimEntries).Select(s => int.Parse(s, NumberStyles.None, CultureInfo.InvariantCulture))];
        }
        catch (Exception e) when (e is FormatException or OverflowException)
        {
            throw new UserError($"--hidden must be comma-separated positive whole numbers, got '{text}'.");
        }

        return hidden.Any(h => h <= 0) ? throw new UserError($"--hidden sizes must be positive, got '{text}'.") : hidden;
    }
}
