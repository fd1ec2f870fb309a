using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Sparse.Core;
using Sparse.Topology;
using Sparse.Training;
using Spectre.Console;

namespace Sparse.Cli;

/// <summary><c>sparse train</c>: fit a truly sparse MLP to a CSV file and save it.</summary>
internal static class TrainCommand
{
    private static readonly Option<string?> TrainFile = new("--train") { Description = "Training CSV. Default: the bundled 8x8 digits set." };
    private static readonly Option<string?> TestFile = new("--test") { Description = "Held-out CSV with the same columns (default: a --validation-split of the training file)." };
    private static readonly Option<double> ValidationSplit = new("--validation-split") { Description = "Fraction of the training file held out when there is no --test.", DefaultValueFactory = _ => 0.2 };
    private static readonly Option<string?> Label = new("--label") { Description = "Label column: a header name or a 0-based index (default: the last column)." };
    private static readonly Option<string?> Task = new("--task") { Description = "classification or regression (default: inferred from the labels)." };
    private static readonly Option<bool> NoHeader = new("--no-header") { Description = "The first line is data (default: detected)." };
    private static readonly Option<string> Hidden = new("--hidden") { Description = "Hidden layer sizes, comma-separated.", DefaultValueFactory = _ => "512,512" };
    private static readonly Option<string> ActivationName = new("--activation") { Description = "relu, leaky-relu, all-relu, tanh or sigmoid.", DefaultValueFactory = _ => "relu" };
    private static readonly Option<double> Epsilon = new("--epsilon") { Description = "Erdos-Renyi sparsity: about epsilon x (in + out) connections per layer.", DefaultValueFactory = _ => 8 };
    private static readonly Option<double?> Density = new("--density") { Description = "Uniform density of every layer (instead of --epsilon)." };
    private static readonly Option<double?> Erk = new("--erk") { Description = "Overall density spread by ERK (instead of --epsilon)." };
    private static readonly Option<string> Evolve = new("--evolve") { Description = "Topology evolution: none, set, rigl or ctre.", DefaultValueFactory = _ => "none" };
    private static readonly Option<double> Zeta = new("--zeta") { Description = "Fraction rewired per evolution step (RigL: the starting fraction).", DefaultValueFactory = _ => 0.3 };
    private static readonly Option<int> EvolveEvery = new("--evolve-every") { Description = "Evolve every N steps (cosine-decayed fraction) instead of after each epoch.", DefaultValueFactory = _ => 0 };
    private static readonly Option<bool> PruneNeurons = new("--prune-neurons") { Description = "Prune hidden neurons at or below the 20th importance percentile every 5 epochs from epoch 5." };
    private static readonly Option<int> Epochs = new("--epochs") { Description = "Training epochs.", DefaultValueFactory = _ => 40 };
    private static readonly Option<int> BatchSize = new("--batch-size") { Description = "Samples per batch.", DefaultValueFactory = _ => 32 };
    private static readonly Option<string> OptimizerName = new("--optimizer") { Description = "sgd or adam.", DefaultValueFactory = _ => "sgd" };
    private static readonly Option<float?> LearningRate = new("--learning-rate") { Description = "Learning rate, cosine-annealed (default: 0.05 for sgd, 0.001 for adam)." };
    private static readonly Option<float> Momentum = new("--momentum") { Description = "SGD momentum.", DefaultValueFactory = _ => 0.9f };
    private static readonly Option<float> WeightDecay = new("--weight-decay") { Description = "Weight decay (L2 for sgd, decoupled for adam).", DefaultValueFactory = _ => 1e-4f };
    private static readonly Option<float> DropoutRate = new("--dropout") { Description = "Dropout after each hidden activation.", DefaultValueFactory = _ => 0f };
    private static readonly Option<ulong> Seed = new("--seed") { Description = "Seed of initialisation, split, shuffles and evolution.", DefaultValueFactory = _ => 1 };
    private static readonly Option<int> Threads = new("--threads") { Description = "Kernel threads (default: all cores).", DefaultValueFactory = _ => Environment.ProcessorCount };
    private static readonly Option<string> Output = new("--output") { Description = "Where to save the trained model.", DefaultValueFactory = _ => "model.sparse" };
    private static readonly Option<string?> Resume = new("--resume") { Description = "Continue from a checkpoint written by an interrupted run." };
    private static readonly Option<string?> MetricsPath = new("--metrics") { Description = "Write the per-epoch history as JSON here." };
    private static readonly Option<string?> PlotPath = new("--plot") { Description = "Draw loss, accuracy and connections per layer as a PNG here." };

    public static Command Create(Option<bool> quiet, Option<bool> verbose)
    {
        ActivationName.AcceptOnlyFromAmong("relu", "leaky-relu", "all-relu", "tanh", "sigmoid");
        Evolve.AcceptOnlyFromAmong("none", "set", "rigl", "ctre");
        OptimizerName.AcceptOnlyFromAmong("sgd", "adam");
        Task.AcceptOnlyFromAmong("classification", "regression");
        var command = new Command("train", "Train a truly sparse MLP on a CSV file and save the model.")
        {
            TrainFile, TestFile, ValidationSplit, Label, Task, NoHeader, Hidden, ActivationName, Epsilon, Density, Erk, Evolve, Zeta, EvolveEvery,
            PruneNeurons, Epochs, BatchSize, OptimizerName, LearningRate, Momentum, WeightDecay, DropoutRate, Seed, Threads, Output, Resume, MetricsPath, PlotPath,
        };
        command.SetAction(parse => Cli.Guard(() => Run(parse, parse.GetValue(quiet), parse.GetValue(verbose))));
        return command;
    }

    private static int Run(ParseResult parse, bool quiet, bool verbose)
    {
        SparseParallel.MaxDegreeOfParallelism = Math.Max(1, parse.GetValue(Threads));
        var say = Cli.Sayer(quiet);
        bool? header = parse.GetValue(NoHeader) ? false : null;
        var trainPath = parse.GetValue(TrainFile) ?? Path.Combine(AppContext.BaseDirectory, "data", "digits.csv.gz");
        var table = CsvTableReader.Read(trainPath, header, parse.GetValue(Label), null, requireLabel: true, say);

        var seed = parse.GetValue(Seed);
        var resumePath = parse.GetValue(Resume);
        var resumed = resumePath is null ? null : Cli.LoadModel(resumePath);
        var metadata = resumed is not null
            ? ModelMetadata.From(resumed, resumePath!)
            : DataPreparation.InferClassification(table, parse.GetValue(Task))
                ? new ModelMetadata(true, table.ClassNames(), table.FeatureNames, table.LabelName!)
                : new ModelMetadata(false, [], table.FeatureNames, table.LabelName!);
        var all = DataPreparation.ToDataset(table, metadata);
        Dataset train, test;
        if (parse.GetValue(TestFile) is { } testPath)
        {
            train = all;
            test = DataPreparation.ToDataset(CsvTableReader.Read(testPath, header, parse.GetValue(Label), all.FeatureCount, requireLabel: true, say), metadata);
        }
        else
        {
            (train, test) = all.Split(parse.GetValue(ValidationSplit), seed);
        }

        var network = resumed?.Network ?? BuildNetwork(parse, train, metadata, seed, say);
        var optimizer = resumed?.Optimizer ?? BuildOptimizer(parse);
        ILoss loss = metadata.Classification ? new SoftmaxCrossEntropy() : new MeanSquaredError();
        using var loggers = LoggerFactory.Create(b =>
        {
            b.AddSimpleConsole(o => o.SingleLine = true);
            b.SetMinimumLevel(quiet ? LogLevel.Warning : LogLevel.Information);
            b.AddFilter("Sparse.Topology", verbose ? LogLevel.Information : LogLevel.Warning);
        });
        var baseRate = resumed?.BaseLearningRate ?? optimizer.LearningRate;
        var trainer = new Trainer(network, loss, optimizer,
            new TrainerOptions { Epochs = parse.GetValue(Epochs), BatchSize = parse.GetValue(BatchSize), Seed = seed, Schedule = LearningRateSchedule.Cosine(baseRate / 50) },
            Console.IsOutputRedirected || verbose ? loggers.CreateLogger<Trainer>() : null);
        if (resumed is not null)
        {
            trainer.Resume(resumed);
            say($"resuming at epoch {trainer.StartEpoch + 1}, batch {trainer.StartBatch}");
        }

        AddHooks(parse, trainer, seed, loggers);
        say($"network {string.Join("-", new[] { network.InputSize }.Concat(network.SparseLayers.Select(l => l.OutputSize)))}: {network.ConnectionCount:N0} connections, {network.ParameterBytes:N0} bytes of parameters");

        using var interrupt = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            e.Cancel = true;
            interrupt.Cancel();
        };
        Console.CancelKeyPress += onCancel;
        try
        {
            Cli.WithProgress(trainer, quiet, () => trainer.Fit(train, test, interrupt.Token));
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }

        var output = parse.GetValue(Output)!;
        if (interrupt.IsCancellationRequested)
        {
            var checkpoint = output + ".checkpoint";
            trainer.SaveCheckpoint(checkpoint, metadata.ToDictionary());
            Console.Error.WriteLine($"sparse: interrupted in epoch {trainer.StartEpoch + 1} after {trainer.StartBatch} batches; resume with --resume {checkpoint}");
            return 130;
        }

        var final = Metrics.Evaluate(network, test, loss, parse.GetValue(BatchSize));
        Checkpoint.Save(output, network, history: trainer.History, metadata: metadata.ToDictionary());
        if (parse.GetValue(MetricsPath) is { } metricsPath)
        {
            MetricsFile.Write(metricsPath, trainer.History, final);
        }

        if (parse.GetValue(PlotPath) is { } plotPath)
        {
            CurvePlot.Write(plotPath, trainer.History);
        }

        var accuracy = final.Accuracy is { } a ? $"test accuracy {a.ToString("P2", CultureInfo.InvariantCulture)}, " : string.Empty;
        Console.WriteLine($"{accuracy}test loss {final.Loss.ToString("F4", CultureInfo.InvariantCulture)}; {network.ConnectionCount:N0} connections; saved {output}");
        return 0;
    }

    private static SparseNetwork BuildNetwork(ParseResult parse, Dataset train, ModelMetadata metadata, ulong seed, Action<string> say)
    {
        int[] hidden;
        try
        {
            hidden = [.. parse.GetValue(Hidden)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(s => int.Parse(s, NumberStyles.None, CultureInfo.InvariantCulture))];
        }
        catch (Exception e) when (e is FormatException or OverflowException)
        {
            throw new UserError($"--hidden must be comma-separated positive whole numbers, got '{parse.GetValue(Hidden)}'.");
        }

        if (hidden.Any(h => h <= 0))
        {
            throw new UserError($"--hidden sizes must be positive, got '{parse.GetValue(Hidden)}'.");
        }

        int[] sizes = [train.FeatureCount, .. hidden, metadata.Classification ? metadata.Classes.Length : 1];
        var densities = parse.GetValue(Density) is { } d ? LayerDensities.Uniform(sizes, d)
            : parse.GetValue(Erk) is { } overall ? LayerDensities.ErdosRenyiKernel(sizes, overall)
            : null;

        // Refuse a network that cannot fit before allocating any of it, with the arithmetic.
        var slots = parse.GetValue(OptimizerName) == "adam" ? 2 : 1;
        MemoryBreakdown Estimate(int batch) => MemoryEstimate.ForMlp(sizes, densities ?? LayerDensities.ErdosRenyi(sizes, parse.GetValue(Epsilon)), batch, slots,
            parse.GetValue(DropoutRate) > 0, evolving: parse.GetValue(Evolve) != "none" || parse.GetValue(PruneNeurons));
        var estimate = Estimate(parse.GetValue(BatchSize));
        try
        {
            MemoryEstimate.EnsureFits(estimate);
        }
        catch (InsufficientMemoryException e)
        {
            // Activations grow with the batch; with layers of millions of neurons they are what does not fit.
            var batch = parse.GetValue(BatchSize) / 2;
            while (batch >= 1 && Estimate(batch).TotalBytes > MemoryEstimate.AvailableBytes())
            {
                batch /= 2;
            }

            throw new UserError(e.Message + (batch >= 1 ? $" It fits with --batch-size {batch}." : " Fewer or narrower layers, or a lower density, would fit."));
        }

        say($"memory estimate: {estimate}");
        var activation = parse.GetValue(ActivationName) switch
        {
            "leaky-relu" => ActivationKind.LeakyRelu,
            "all-relu" => ActivationKind.AllRelu,
            "tanh" => ActivationKind.Tanh,
            "sigmoid" => ActivationKind.Sigmoid,
            _ => ActivationKind.Relu,
        };
        return SparseNetwork.CreateMlp(sizes, activation, parse.GetValue(Epsilon), seed, parse.GetValue(DropoutRate),
            normalization: InputNormalization.Fit(train, NormalizationKind.Standardize), densities: densities);
    }

    private static Optimizer BuildOptimizer(ParseResult parse)
    {
        var adam = parse.GetValue(OptimizerName) == "adam";
        var rate = parse.GetValue(LearningRate) ?? (adam ? 0.001f : 0.05f);
        return adam
            ? new Adam(rate, weightDecay: parse.GetValue(WeightDecay), decoupled: true)
            : new Sgd(rate, parse.GetValue(Momentum), weightDecay: parse.GetValue(WeightDecay));
    }

    private static void AddHooks(ParseResult parse, Trainer trainer, ulong seed, ILoggerFactory loggers)
    {
        var logger = loggers.CreateLogger<TopologyEvolver>();
        var evolver = parse.GetValue(Evolve) switch
        {
            "set" => TopologyEvolver.Set(seed, logger: logger),
            "rigl" => TopologyEvolver.RigL(logger),
            "ctre" => TopologyEvolver.Ctre(CtreVariant.Plain, seed, logger),
            _ => null,
        };
        if (evolver is not null)
        {
            var every = parse.GetValue(EvolveEvery);
            trainer.Hooks.Add(new EvolutionHook(evolver, every > 0 ? EvolutionSchedule.CosineDecay(parse.GetValue(Zeta), every) : EvolutionSchedule.EveryEpoch(parse.GetValue(Zeta))));
        }

        if (parse.GetValue(PruneNeurons))
        {
            trainer.Hooks.Add(new NeuronPruningHook(new NeuronImportancePruner(20), startEpoch: 5, everyEpochs: 5));
        }
    }
}
