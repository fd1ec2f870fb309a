using System.CommandLine;
using System.Text;
using static Sparse.Cli.SharedOptions;

namespace Sparse.Cli;

/// <summary>
/// <c>sparse sweep</c>: a grid of configurations trained in one process as one block-diagonal sparse network
/// (<see cref="ParallelNetworks"/>), with a row of results per configuration and the best saved as a normal model.
/// </summary>
internal static class SweepCommand
{
    private static readonly Option<string> Hidden = new("--hidden") { Description = "Hidden sizes of each configuration, comma-separated; configurations separated by ':' (256,256:512,512). All need the same depth.", DefaultValueFactory = _ => "512,512" };
    private static readonly Option<string> ActivationNames = new("--activation") { Description = "relu, leaky-relu, all-relu, tanh or sigmoid; several separated by ','.", DefaultValueFactory = _ => "relu" };
    private static readonly Option<string> Epsilons = new("--epsilon") { Description = "Erdos-Renyi epsilon; several separated by ','.", DefaultValueFactory = _ => "8" };
    private static readonly Option<string?> Densities = new("--density") { Description = "Uniform density of every layer (instead of --epsilon); several separated by ','." };
    private static readonly Option<string?> LearningRates = new("--learning-rate") { Description = "Learning rates, cosine-annealed, separated by ',' (default: 0.003 for adam; for sgd 0.01, or 0.002 for regression)." };
    private static readonly Option<string> WeightDecays = new("--weight-decay") { Description = "Weight decays (L2 for sgd, decoupled for adam), separated by ','.", DefaultValueFactory = _ => "0.0001" };
    private static readonly Option<string> Dropouts = new("--dropout") { Description = "Dropout rates after each hidden activation, separated by ','.", DefaultValueFactory = _ => "0" };
    private static readonly Option<string> Zetas = new("--zeta") { Description = "Fractions rewired per evolution step (RigL: the starting fraction), separated by ','.", DefaultValueFactory = _ => "0.3" };
    private static readonly Option<string> Seeds = new("--seed") { Description = "Seeds of initialisation, dropout and evolution, separated by ','. The first also splits and shuffles the data, which every configuration shares.", DefaultValueFactory = _ => "1" };
    private static readonly Option<string> Evolve = new("--evolve") { Description = "Topology evolution of every configuration: none, set, rigl, ctre, ctre-sim or ctre-seq.", DefaultValueFactory = _ => "rigl" };
    private static readonly Option<string?> PruneRule = new("--prune") { Description = "The pruning half of --evolve for every configuration: magnitude or cosine. Default: the method's own, magnitude." };
    private static readonly Option<string?> GrowRule = new("--grow") { Description = "The regrowth half of --evolve for every configuration: random, gradient or cosine. Default: the method's own." };
    private static readonly Option<int?> EvolveEvery = new("--evolve-every") { Description = "Steps between evolutions, cosine-decayed until 75 % of training (default: twice an epoch; after each epoch when a half is cosine, as for ctre); 0: after every epoch." };
    private static readonly Option<int> Epochs = new("--epochs") { Description = "Training epochs, shared by the grid.", DefaultValueFactory = _ => 40 };
    private static readonly Option<int> BatchSize = new("--batch-size") { Description = "Samples per batch, shared by the grid.", DefaultValueFactory = _ => 32 };
    private static readonly Option<string> OptimizerName = new("--optimizer") { Description = "adam or sgd (momentum), shared by the grid.", DefaultValueFactory = _ => "adam" };
    private static readonly Option<string> OutputDir = new("--output-dir") { Description = "Directory for results.csv, best.sparse and (--save-all) every model; created if missing.", DefaultValueFactory = _ => "sweep" };
    private static readonly Option<bool> SaveAll = new("--save-all") { Description = "Also save every configuration's model as config-N.sparse (those that did not diverge)." };

    public static Command Create(Option<bool> quiet)
    {
        Evolve.AcceptOnlyFromAmong([.. TrainingRecipe.EvolutionNames]);
        PruneRule.AcceptOnlyFromAmong([.. TrainingRecipe.PruneNames]);
        GrowRule.AcceptOnlyFromAmong([.. TrainingRecipe.GrowthNames]);
        OptimizerName.AcceptOnlyFromAmong("sgd", "adam");
        var command = new Command("sweep",
            "Train a grid of configurations at once as one block-diagonal sparse network: every combination of the listed --hidden, --activation, " +
            "--epsilon (or --density), --learning-rate, --weight-decay, --dropout, --zeta and --seed values. Each configuration trains as it would " +
            "alone with `sparse train`; batch size, epochs, optimizer, evolution method and the data are shared by the grid.")
        {
            TrainFile, TestFile, ValidationSplit, Label, TaskName, NoHeader, DataFormat, ZeroBased, FeatureCount, Hidden, ActivationNames, Epsilons, Densities, LearningRates, WeightDecays, Dropouts, Zetas, Seeds,
            Evolve, PruneRule, GrowRule, EvolveEvery, Epochs, BatchSize, OptimizerName, Momentum, Threads, PrecisionName, RawTargets, OutputDir, SaveAll,
        };
        command.SetAction(parse => Cli.Guard(() => Run(parse, parse.GetValue(quiet))));
        return command;
    }

    private static int Run(ParseResult parse, bool quiet)
    {
        var say = Cli.Sayer(quiet);
        var epochs = parse.GetValue(Epochs);
        var batchSize = parse.GetValue(BatchSize);
        Require(epochs >= 1, "--epochs", "1 or more", epochs);
        Require(batchSize >= 1, "--batch-size", "1 or more", batchSize);
        var split = parse.GetValue(ValidationSplit);
        Require(split is > 0 and < 1, "--validation-split", "between 0 and 1 (exclusive)", split);
        Require(parse.GetValue(EvolveEvery) is null or >= 0, "--evolve-every", "0 (after each epoch) or a positive number of steps", parse.GetValue(EvolveEvery));
        var momentum = parse.GetValue(Momentum);
        Require(momentum is >= 0 and < 1, "--momentum", "in [0, 1)", momentum);
        if (parse.GetValue(Threads) is { } threads)
        {
            Require(threads >= 1, "--threads", "1 or more", threads);
        }

        var adam = parse.GetValue(OptimizerName) == "adam";
        if (adam && parse.GetResult(Momentum) is { Implicit: false })
        {
            throw new UserError("--momentum applies to --optimizer sgd; Adam keeps its own moments.");
        }

        // The evolution's halves need a method to belong to; the grid's block network rewires, it does not prune a denser start.
        if (parse.GetValue(Evolve) is "gradual" or "gap" or "earlycrop")
        {
            throw new UserError($"--evolve {parse.GetValue(Evolve)} grows layers denser than the grid's block network is built; train it with `sparse train --evolve {parse.GetValue(Evolve)}`.");
        }

        try
        {
            new TrainingRecipe
            {
                Evolution = TrainingRecipe.ParseEvolution(parse.GetValue(Evolve)!),
                Prune = parse.GetValue(PruneRule) is { } p ? TrainingRecipe.ParsePrune(p) : null,
                Grow = parse.GetValue(GrowRule) is { } g ? TrainingRecipe.ParseGrowth(g) : null,
            }.Validate();
        }
        catch (ArgumentException e)
        {
            throw new UserError(e.Message);
        }

        // The grid, checked before any file is read.
        var hidden = parse.GetValue(Hidden)!.Split(':').Select(ParseHidden).ToArray();
        if (hidden.Select(h => h.Length).Distinct().Count() > 1)
        {
            throw new UserError($"--hidden: every configuration needs the same number of hidden layers (one block network), got {string.Join(", ", hidden.Select(h => $"{string.Join(",", h)} ({h.Length})"))}.");
        }

        var activations = List(ActivationNames, parse.GetValue(ActivationNames)!, ParseActivation);
        if (parse.GetValue(Densities) is not null && parse.GetResult(Epsilons) is { Implicit: false })
        {
            throw new UserError("--epsilon and --density both set the sparsity; give one.");
        }

        double?[] densities = parse.GetValue(Densities) is { } densityText
            ? [.. List(Densities, densityText, s => Number(Densities, s, d => d is > 0 and <= 1, "in (0, 1]")).Select(d => (double?)d)]
            : [null];
        var epsilons = densities[0] is null ? List(Epsilons, parse.GetValue(Epsilons)!, s => Number(Epsilons, s, e => double.IsFinite(e) && e > 0, "a positive number")) : [0];
        var rates = parse.GetValue(LearningRates) is { } rateText
            ? List(LearningRates, rateText, s => (float)Number(LearningRates, s, r => double.IsFinite(r) && r > 0, "a positive number"))
            : null; // from the task, once the data is read
        var decays = List(WeightDecays, parse.GetValue(WeightDecays)!, s => (float)Number(WeightDecays, s, d => double.IsFinite(d) && d >= 0, "0 or a positive number"));
        var dropouts = List(Dropouts, parse.GetValue(Dropouts)!, s => (float)Number(Dropouts, s, d => d is >= 0 and < 1, "in [0, 1)"));
        var zetas = List(Zetas, parse.GetValue(Zetas)!, s => Number(Zetas, s, z => z is > 0 and < 1, "between 0 and 1 (exclusive)"));
        var seeds = List(Seeds, parse.GetValue(Seeds)!, s => ulong.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var seed)
            ? seed : throw new UserError($"--seed values must be whole numbers of 0 or more, got '{s}'."));

        var outputDir = parse.GetValue(OutputDir)!;
        if (File.Exists(outputDir))
        {
            throw new UserError($"--output-dir {outputDir}: is a file, not a directory.");
        }

        var trainPath = parse.GetValue(TrainFile) ?? Path.Combine(AppContext.BaseDirectory, "data", "digits.csv.gz");
        var testPath = parse.GetValue(TestFile);
        Directory.CreateDirectory(outputDir);
        var resultsPath = Path.Combine(outputDir, "results.csv");
        var bestPath = Path.Combine(outputDir, "best.sparse");
        OutputPaths.Check([("results", resultsPath), ("best model", bestPath)], [("--train", trainPath), ("--test", testPath)]);

        // The data, shared by the grid: the first seed splits and shuffles it.
        var dataSeed = seeds[0];
        bool? header = parse.GetValue(NoHeader) ? false : null;
        TabularSchema schema;
        Dataset all;
        Dataset? heldOut;
        if (IsSvmLight(trainPath, parse.GetValue(DataFormat)))
        {
            (schema, all, heldOut, _) = ReadSvmLight(trainPath, testPath, parse.GetValue(DataFormat), null, parse.GetValue(ZeroBased), parse.GetValue(FeatureCount),
                parse.GetValue(TaskName), parse.GetValue(RawTargets), say);
        }
        else
        {
            var table = CsvTableReader.Read(trainPath, header, parse.GetValue(Label), say);
            schema = TabularSchema.Infer(table, parse.GetValue(TaskName), standardizeTargets: !parse.GetValue(RawTargets));
            all = schema.ToDataset(table);
            heldOut = testPath is null ? null : schema.ToDataset(CsvTableReader.Read(testPath, schema, header, requireLabel: true, say));
        }

        var (train, test) = heldOut is not null ? (all, heldOut) : HoldOut(all, split, dataSeed);

        // The grid's shared choices; each configuration sets its own rate, decay, zeta and seed (Recipe).
        var evolve = parse.GetValue(Evolve)!;
        var shared = new TrainingRecipe
        {
            Optimizer = adam ? OptimizerKind.Adam : OptimizerKind.Sgd,
            Momentum = momentum,
            Evolution = TrainingRecipe.ParseEvolution(evolve),
            Prune = parse.GetValue(PruneRule) is { } prune ? TrainingRecipe.ParsePrune(prune) : null,
            Grow = parse.GetValue(GrowRule) is { } grow ? TrainingRecipe.ParseGrowth(grow) : null,
            EvolveEvery = parse.GetValue(EvolveEvery),
        };
        TrainingRecipe Recipe(NetworkConfig c) => shared with { LearningRate = c.LearningRate, WeightDecay = c.WeightDecay, Zeta = c.Zeta, Seed = c.Seed };
        rates ??= [shared.BaseLearningRate(schema.IsClassification)];
        var configs = (
            from h in hidden
            from activation in activations
            from density in densities
            from epsilon in epsilons
            from rate in rates
            from decay in decays
            from dropout in dropouts
            from zeta in zetas
            from seed in seeds
            select new NetworkConfig
            {
                Hidden = h,
                Activation = activation,
                Epsilon = density is null ? epsilon : 20,
                Density = density,
                LearningRate = rate,
                WeightDecay = decay,
                Dropout = dropout,
                Zeta = zeta,
                Seed = seed,
            }).ToArray();

        // Refuse a grid that cannot fit before building any of it: every configuration's training memory, plus the
        // copy of each one's weights that building the block network holds for a moment. The evolution scratch is
        // counted as the trainer counts it, for the block network's largest layer (all blocks of it).
        var slots = shared.OptimizerSlots;
        var rewiring = Recipe(configs[0]).CreateEvolver()?.ScratchBytesPerConnection(slots) ?? 0;
        var estimates = configs.Select(c =>
        {
            int[] sizes = [train.FeatureCount, .. c.Hidden, schema.OutputSize];
            return MemoryEstimate.ForMlp(sizes, c.Density is { } d ? LayerDensities.Uniform(sizes, d) : LayerDensities.ErdosRenyi(sizes, c.Epsilon), batchSize, slots, c.Dropout > 0, rewiring);
        }).ToArray();
        var connections = estimates.Sum(e => e.Connections);
        var total = new MemoryBreakdown(connections, estimates.Sum(e => e.ConnectionBytes) + (8 * connections), estimates.Sum(e => e.NeuronBytes),
            estimates.Sum(e => e.ActivationBytes), estimates.Sum(e => e.EvolutionBytes));
        try
        {
            MemoryEstimate.EnsureFits(total);
        }
        catch (InsufficientMemoryException e)
        {
            throw TooLarge(e);
        }

        var grid = ParallelNetworks.Create(train.FeatureCount, schema.OutputSize, configs, InputNormalization.Fit(train, train.IsSparse ? NormalizationKind.MaxAbs : NormalizationKind.Standardize));
        grid.Network.Compute = ComputeOptions.Default with { Threads = parse.GetValue(Threads) ?? Environment.ProcessorCount };
        grid.Network.Precision = parse.GetValue(PrecisionName) == "bf16" ? Precision.Bf16 : Precision.Fp32;
        var loss = grid.CreateLoss(TrainingRecipe.CreateLoss(schema.IsClassification), schema.IsClassification);
        Optimizer optimizer = adam ? new Adam(rates[0], decoupled: true) : new Sgd(rates[0], momentum);
        grid.ConfigureOptimizer(optimizer, TrainingRecipe.CreateSchedule);
        var trainer = new Trainer(grid.Network, loss, optimizer, new TrainerOptions { Epochs = epochs, BatchSize = batchSize, Seed = dataSeed });
        var monitor = new SweepMonitor(grid, loss, epochs, schema, say);
        trainer.Hooks.Add(monitor);
        if (shared.Evolution != EvolutionMethod.None)
        {
            monitor.Evolution = grid.CreateEvolutionHook(c => Recipe(c).CreateEvolver()!, c => Recipe(c).CreateEvolutionSchedule());
            trainer.Hooks.Add(monitor.Evolution);
        }

        say($"sweep: {configs.Length} configuration{(configs.Length == 1 ? string.Empty : "s")} as one network of {grid.Network.ConnectionCount:N0} connections " +
            $"({train.FeatureCount}-[{string.Join("-", grid.Network.SparseLayers.Take(grid.Network.SparseLayers.Count() - 1).Select(l => l.OutputSize))}]-{configs.Length} x {schema.OutputSize}), " +
            $"{epochs} epochs of {train.Count:N0} samples in batches of {batchSize}, topology: {shared.EvolutionDescription}");

        using var interrupt = new SignalStop();
        var watch = Stopwatch.StartNew();
        try
        {
            Cli.WithProgress(trainer, quiet, () => trainer.Fit(train, test, interrupt.Token));
        }
        catch (TrainingDivergedException e)
        {
            throw new UserError($"every configuration diverged ({e.Message}); try lower --learning-rate values.");
        }
        catch (InsufficientMemoryException e)
        {
            throw TooLarge(e);
        }

        var finished = trainer.StartEpoch >= epochs;
        var results = monitor.Results(finished);
        WriteResults(resultsPath, results, schema);
        var best = SweepMonitor.Best(results, schema.IsClassification);
        if (best is { } b)
        {
            Checkpoint.Save(bestPath, grid.Split(b), history: monitor.HistoryOf(b), schema: schema);
        }

        if (parse.GetValue(SaveAll))
        {
            // A diverged configuration was frozen at zero: there is no model of it to save.
            foreach (var k in results.Where(r => r.TestLoss is not null).Select(r => r.Index))
            {
                Checkpoint.Save(Path.Combine(outputDir, $"config-{k + 1}.sparse"), grid.Split(k), history: monitor.HistoryOf(k), schema: schema);
            }
        }

        var summary = best is { } w
            ? $"best: configuration {w + 1} ({configs[w]}), {SweepMonitor.Describe(results[w], schema)}; saved {bestPath}"
            : "no configuration finished an epoch without diverging; no model saved";
        Console.WriteLine($"{summary}; results of {configs.Length} configurations in {resultsPath} ({watch.Elapsed.TotalSeconds:F1} s)");
        if (!finished)
        {
            Console.Error.WriteLine($"sparse: interrupted in epoch {trainer.StartEpoch + 1}; results.csv holds the last completed epoch of each configuration (a sweep does not resume).");
            return interrupt.ExitCode == 0 ? 130 : interrupt.ExitCode;
        }

        return 0;
    }

    private static UserError TooLarge(InsufficientMemoryException e) =>
        new($"{e.Message} Fewer configurations per sweep (run the grid in parts), a smaller --batch-size or lower densities would fit.");

    private static void WriteResults(string path, IReadOnlyList<SweepResult> results, TabularSchema schema)
    {
        static string N(double? value) => value is { } v && double.IsFinite(v) ? v.ToString("R", CultureInfo.InvariantCulture) : string.Empty;
        static string F(float? value) => value is { } v && float.IsFinite(v) ? v.ToString("R", CultureInfo.InvariantCulture) : string.Empty;
        var text = new StringBuilder();
        text.AppendLine("config,hidden,activation,epsilon,density,learning_rate,weight_decay,dropout,zeta,seed,connections,epochs," +
            (schema.IsClassification ? "train_loss,train_accuracy,test_loss,test_accuracy,best_test_loss,best_test_accuracy,best_epoch,status"
                : "train_loss,test_loss,test_rmse,best_test_loss,best_epoch,status"));
        foreach (var r in results)
        {
            var c = r.Config;
            text.Append(CultureInfo.InvariantCulture, $"{r.Index + 1},{string.Join("-", c.Hidden)},{NetworkConfig.ActivationName(c.Activation)},{(c.Density is null ? N(c.Epsilon) : string.Empty)},{N(c.Density)},");
            text.Append(CultureInfo.InvariantCulture, $"{F(c.LearningRate)},{F(c.WeightDecay)},{F(c.Dropout)},{N(c.Zeta)},{c.Seed},{r.Connections},{r.Epochs},");
            text.AppendLine(schema.IsClassification
                ? $"{F(r.TrainLoss)},{F(r.TrainAccuracy)},{F(r.TestLoss)},{F(r.TestAccuracy)},{F(r.BestTestLoss)},{F(r.BestTestAccuracy)},{r.BestEpoch},{r.Status}"
                : $"{F(r.TrainLoss)},{F(r.TestLoss)},{N(r.TestLoss is { } l ? Math.Sqrt(l) * schema.TargetScale : null)},{F(r.BestTestLoss)},{r.BestEpoch},{r.Status}");
        }

        AtomicFile.Write(path, stream =>
        {
            using var writer = new StreamWriter(stream, new UTF8Encoding(false), leaveOpen: true);
            writer.Write(text.ToString());
        });
    }

    private static void Require(bool valid, string option, string range, object? value)
    {
        if (!valid)
        {
            throw new UserError($"{option} must be {range}, got {Convert.ToString(value, CultureInfo.InvariantCulture)}.");
        }
    }

    private static T[] List<T>(Option option, string text, Func<string, T> parse)
    {
        var items = text.Split(',', StringSplitOptions.TrimEntries);
        if (items.Any(string.IsNullOrEmpty))
        {
            throw new UserError($"{option.Name} has an empty value in '{text}'; separate values by single commas.");
        }

        var values = items.Select(parse).ToArray();
        if (values.Distinct().Count() != values.Length)
        {
            throw new UserError($"{option.Name} lists a value twice in '{text}'.");
        }

        return values;
    }

    private static double Number(Option option, string text, Func<double, bool> valid, string range) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && valid(value)
            ? value
            : throw new UserError($"{option.Name} values must be {range}, got '{text}'.");

    private static int[] ParseHidden(string text)
    {
        var sizes = text.Split(',', StringSplitOptions.TrimEntries);
        return sizes.Length > 0 && sizes.All(s => int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var size) && size > 0)
            ? [.. sizes.Select(s => int.Parse(s, CultureInfo.InvariantCulture))]
            : throw new UserError($"--hidden must be positive whole numbers separated by ',' within a configuration and ':' between configurations, got '{text}'.");
    }

    private static ActivationKind ParseActivation(string name) => Activation(name)
        ?? throw new UserError($"--activation values must be relu, leaky-relu, all-relu, tanh or sigmoid, got '{name}'.");
}
