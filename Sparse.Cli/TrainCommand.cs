using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Sparse.Core;
using Sparse.Distributed;
using Sparse.Topology;
using Sparse.Training;
using Spectre.Console;
using static Sparse.Cli.SharedOptions;

namespace Sparse.Cli;

/// <summary><c>sparse train</c>: fit a truly sparse MLP to a CSV file and save it.</summary>
internal static partial class TrainCommand
{
    private static readonly Option<string> Hidden = new("--hidden") { Description = "Hidden layer sizes, comma-separated.", DefaultValueFactory = _ => "512,512" };
    private static readonly Option<string> ActivationName = new("--activation") { Description = "relu, leaky-relu, all-relu, tanh or sigmoid.", DefaultValueFactory = _ => "relu" };
    private static readonly Option<double> Epsilon = new("--epsilon") { Description = "Erdos-Renyi sparsity: about epsilon x (in + out) connections per layer.", DefaultValueFactory = _ => 8 };
    private static readonly Option<double?> Density = new("--density") { Description = "Uniform density of every layer (instead of --epsilon)." };
    private static readonly Option<double?> Erk = new("--erk") { Description = "Overall density spread by ERK (instead of --epsilon)." };
    private static readonly Option<string> Evolve = new("--evolve")
    {
        Description = "Topology evolution: rigl (prune by magnitude, regrow where the gradient is largest), set (regrow at random), " +
            "ctre (regrow between the neurons whose activations over the training rows are most alike; ctre-sim and ctre-seq are its variants) or none.",
        DefaultValueFactory = _ => "rigl",
    };
    private static readonly Option<double> Zeta = new("--zeta") { Description = "Fraction rewired per evolution step (RigL: the starting fraction).", DefaultValueFactory = _ => 0.3 };
    private static readonly Option<string> RiglSearch = new("--rigl-search")
    {
        Description = "RigL's regrowth: exact (score every missing connection, out x in x batch work), bounded (score the top neurons by gradient and " +
            "activation norm, any width) or auto (exact up to 2^31 scores a layer).",
        DefaultValueFactory = _ => "auto",
    };

    private static readonly Option<int?> EvolveEvery = new("--evolve-every")
    {
        Description = "Evolve every N steps with a fraction cosine-decayed from --zeta, until 75 % of training (default: twice an epoch; " +
            "for ctre, after each epoch); 0 evolves after each epoch with a constant --zeta.",
    };
    private static readonly Option<bool> PruneNeurons = new("--prune-neurons") { Description = "Prune hidden neurons at or below the 20th importance percentile every 5 epochs from epoch 5." };
    private static readonly Option<string> LogFormat = new("--log-format")
    {
        Description = "text: lines a person reads (a progress bar on a terminal); json: one JSON object per event on standard output " +
            "(run start, every epoch, every layer's rewiring, warnings), and the other messages on standard error.",
        DefaultValueFactory = _ => "text",
    };

    private static readonly Option<int> Epochs = new("--epochs") { Description = "Training epochs.", DefaultValueFactory = _ => 40 };
    private static readonly Option<int> BatchSize = new("--batch-size") { Description = "Samples per batch.", DefaultValueFactory = _ => 32 };
    private static readonly Option<string> OptimizerName = new("--optimizer") { Description = "adam or sgd (momentum).", DefaultValueFactory = _ => "adam" };
    private static readonly Option<float?> LearningRate = new("--learning-rate") { Description = "Learning rate, cosine-annealed (default: 0.003 for adam; for sgd 0.01, or 0.002 for regression; docs/defaults.md)." };
    private static readonly Option<float> WeightDecay = new("--weight-decay") { Description = "Weight decay (L2 for sgd, decoupled for adam).", DefaultValueFactory = _ => 1e-4f };
    private static readonly Option<float> DropoutRate = new("--dropout") { Description = "Dropout after each hidden activation.", DefaultValueFactory = _ => 0f };
    private static readonly Option<ulong> Seed = new("--seed") { Description = "Seed of initialisation, split, shuffles and evolution.", DefaultValueFactory = _ => 1 };
    private static readonly Option<int?> SelectFeatures = new("--select-features") { Description = "Train on the K strongest features of the model given by --features-from (sparse features)." };
    private static readonly Option<string?> FeaturesFrom = new("--features-from") { Description = "The trained model whose feature ranking --select-features takes." };
    private static readonly Option<int> SyncEvery = new("--sync-every")
    {
        Description = "Under mpirun: 1 sums every step's gradients over the ranks (synchronous); K > 1 lets each rank step alone and averages the weights every K steps and before every rewiring (local SGD).",
        DefaultValueFactory = _ => 1,
    };
    private static readonly Option<string> CheckpointEvery = new("--checkpoint-every")
    {
        Description = "Write OUTPUT.checkpoint after every epoch (epoch), also every N steps (a number), or only when interrupted (off).",
        DefaultValueFactory = _ => "epoch",
    };
    private static readonly Option<float> ClipNorm = new("--clip-norm") { Description = "Scale gradients so that their global norm is at most this (0: off).", DefaultValueFactory = _ => 0f };
    private static readonly Option<string> Output = new("--output") { Description = "Where to save the trained model.", DefaultValueFactory = _ => "model.sparse" };
    private static readonly Option<string?> Resume = new("--resume") { Description = "Continue from a checkpoint written by an interrupted run." };
    private static readonly Option<string?> MetricsPath = new("--metrics") { Description = "Write the per-epoch history as JSON here." };
    private static readonly Option<string?> PlotPath = new("--plot") { Description = "Draw loss, accuracy and connections per layer as a PNG here." };


    public static Command Create(Option<bool> quiet, Option<bool> verbose)
    {
        ActivationName.AcceptOnlyFromAmong("relu", "leaky-relu", "all-relu", "tanh", "sigmoid");
        Evolve.AcceptOnlyFromAmong([.. TrainingRecipe.EvolutionNames]);
        RiglSearch.AcceptOnlyFromAmong("auto", "exact", "bounded");
        LogFormat.AcceptOnlyFromAmong("text", "json");
        OptimizerName.AcceptOnlyFromAmong("sgd", "adam");
        var command = new Command("train", "Train a truly sparse MLP on a CSV file and save the model.")
        {
            TrainFile, TestFile, ValidationSplit, Label, TaskName, NoHeader, Hidden, ActivationName, Epsilon, Density, Erk, Evolve, Zeta, EvolveEvery,
            RiglSearch, PruneNeurons, Epochs, BatchSize, OptimizerName, LearningRate, Momentum, WeightDecay, DropoutRate, ClipNorm, RawTargets, Seed, Threads, PrecisionName, SyncEvery, CheckpointEvery, SelectFeatures, FeaturesFrom, Output, Resume, MetricsPath, PlotPath, LogFormat,
        };
        command.SetAction(parse => Cli.Guard(() => Run(parse, parse.GetValue(quiet), parse.GetValue(verbose))));
        return command;
    }

    // The options that shape a run: saved in its checkpoint and taken from there on --resume. --train, --test and
    // --epochs are saved too but may be given again (data moved, a run extended); outputs, threads and logging are
    // the new command's.
    private static readonly Option[] Overridable = [TrainFile, TestFile, Epochs];

    private static readonly Option[] Fixed = [ValidationSplit, Label, TaskName, NoHeader, Hidden, ActivationName, Epsilon, Density, Erk, Evolve, Zeta, EvolveEvery,
        RiglSearch, PruneNeurons, BatchSize, OptimizerName, LearningRate, Momentum, WeightDecay, DropoutRate, ClipNorm, RawTargets, Seed, PrecisionName, SyncEvery, SelectFeatures, FeaturesFrom];

    private static int Run(ParseResult parse, bool quiet, bool verbose)
    {
        // Under mpirun every rank runs this command; rank 0 prints and writes files, the others stay silent.
        var mpi = Mpi.Launched ? Mpi.Initialize() : null;
        if (mpi is { IsRoot: false })
        {
            try
            {
                using var silent = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.None));
                var code = Train(parse, quiet: true, verbose: false, json: false, silent, silent.CreateLogger("Sparse.Cli"), mpi);
                mpi.Dispose();
                return code;
            }
            catch (Exception e) when (Cli.IsReported(e) || e is RanksDivergedException)
            {
                return 1; // rank 0 meets the same error and reports it; exiting non-zero ends the job
            }
        }

        var result = RunRoot(parse, quiet, verbose, mpi);
        mpi?.Dispose();
        return result;
    }

    private static int RunRoot(ParseResult parse, bool quiet, bool verbose, Mpi? mpi)
    {
        var json = parse.GetValue(LogFormat) == "json";
        // On a terminal the progress bar is live and log lines are printed above it.
        var terminal = !json && !quiet && Cli.ShowsProgress;
        using var loggers = LoggerFactory.Create(b =>
        {
            if (json)
            {
                b.AddJsonConsole(o => o.JsonWriterOptions = new System.Text.Json.JsonWriterOptions { Indented = false });
            }
            else if (terminal)
            {
                b.AddProvider(new TerminalLoggerProvider());
            }
            else
            {
                b.AddConsole(o => o.FormatterName = PlainConsoleFormatter.FormatterName)
                    .AddConsoleFormatter<PlainConsoleFormatter, Microsoft.Extensions.Logging.Console.ConsoleFormatterOptions>();
            }

            b.SetMinimumLevel(quiet && !json ? LogLevel.Warning : LogLevel.Information);
            b.AddFilter("Sparse.Topology", verbose || json ? LogLevel.Information : LogLevel.Warning);
        });
        var events = loggers.CreateLogger("Sparse.Cli");
        try
        {
            return Train(parse, quiet, verbose, json, loggers, events, mpi);
        }
        catch (RanksDivergedException e)
        {
            throw new UserError(e.Message);
        }
        catch (Exception e) when (json && Cli.IsReported(e))
        {
            // The JSON stream ends with the error too; the caller still prints it to standard error and exits 1.
            CliLog.Failed(events, e.Message);
            throw;
        }
    }

    private static int Train(ParseResult parse, bool quiet, bool verbose, bool json, ILoggerFactory loggers, ILogger events, Mpi? mpi)
    {
        var root = mpi is null || mpi.IsRoot;
        var run = new RunOptions(parse, Fixed, Overridable);
        CheckOptions(parse, run);
        var output = run.Get(Output)!;
        var checkpointPath = output + ".checkpoint";
        var resumePath = run.Get(Resume);
        string trainPath = null!;
        string? testPath = null;
        void CheckPaths()
        {
            trainPath = run.Get(TrainFile) ?? Path.Combine(AppContext.BaseDirectory, "data", "digits.csv.gz");
            testPath = run.Get(TestFile);
            OutputPaths.Check(
                [("--output", output), ("the checkpoint", checkpointPath), ("--metrics", run.Get(MetricsPath)), ("--plot", run.Get(PlotPath))],
                [("--train", trainPath), ("--test", testPath), ("--resume", resumePath == checkpointPath ? null : resumePath), ("--features-from", run.Get(FeaturesFrom))]);
        }

        CheckPaths();

        // With JSON events on standard output, everything else goes to standard error.
        var say = json ? (quiet ? _ => { } : Console.Error.WriteLine) : Cli.Sayer(quiet);
        bool? header = run.Get(NoHeader) ? false : null;
        var seed = run.Get(Seed);
        var resumed = resumePath is null ? null : Cli.LoadModel(resumePath);
        if (resumed is not null)
        {
            if (resumed.Optimizer is null)
            {
                throw new UserError($"{resumePath}: is a finished model, not a checkpoint of an interrupted run (it has no optimizer state to resume).");
            }

            run = new RunOptions(parse, Fixed, Overridable, resumed, resumePath);
            header = run.Get(NoHeader) ? false : null;
            seed = run.Get(Seed);
            CheckPaths();
        }

        // The options were checked (CheckOptions), so the recipe builds; a resumed run's are the checkpoint's.
        var recipe = Recipe(run, seed);

        // Ranks on one machine share its cores.
        var compute = ComputeOptions.Default with { Threads = run.Get(Threads) ?? Math.Max(1, Environment.ProcessorCount / (mpi is null ? 1 : Mpi.LocalSize())) };
        var warmup = Warmup(recipe, run.Get(BatchSize), PrecisionOf(run), compute, verbose ? say : _ => { });
        TabularSchema schema;
        CsvTable table;
        if (resumed?.Schema is { } saved)
        {
            schema = saved;
            table = CsvTableReader.Read(trainPath, schema, header, requireLabel: true, say);
        }
        else
        {
            table = CsvTableReader.Read(trainPath, header, run.Get(Label), say);
            schema = TabularSchema.Infer(table, run.Get(TaskName), standardizeTargets: !run.Get(RawTargets));
        }

        // The table as the file has it, and the features the run trains on: the strongest K of another model's ranking
        // (a resumed run's schema lists them already).
        var fileSchema = schema;
        IReadOnlyList<string>? selected = null;
        if (resumed is null && run.Get(SelectFeatures) is { } count)
        {
            var from = run.Get(FeaturesFrom)!;
            selected = [.. ModelCommands.Rank(from).Take(count).Select(f => f.Name)];
            table = table.SelectFeatures(selected);
            schema = TabularSchema.Infer(table, run.Get(TaskName), standardizeTargets: !run.Get(RawTargets));
            say($"features: the {selected.Count} strongest of {fileSchema.FeatureNames.Count} by {from}: {string.Join(", ", selected.Take(10))}{(selected.Count > 10 ? ", ..." : string.Empty)}");
        }

        var all = schema.ToDataset(table);
        Dataset train, test;
        if (testPath is not null)
        {
            train = all;
            var testTable = CsvTableReader.Read(testPath, fileSchema, header, requireLabel: true, say);
            test = schema.ToDataset(selected is null ? testTable : testTable.SelectFeatures(selected));
        }
        else
        {
            (train, test) = HoldOut(all, run.Get(ValidationSplit), seed);
        }

        if (resumed is not null && resumed.Network.InputSize != train.FeatureCount)
        {
            throw new UserError($"{resumePath}: the model takes {resumed.Network.InputSize} features, {trainPath} has {train.FeatureCount}.");
        }

        var network = resumed?.Network ?? BuildNetwork(recipe, train, schema, run.Get(BatchSize));
        network.Compute = compute;
        network.Precision = PrecisionOf(run);
        var optimizer = resumed?.Optimizer ?? recipe.CreateOptimizer(schema.IsClassification);
        ILoss loss = schema.IsClassification ? new SoftmaxCrossEntropy() : new MeanSquaredError();
        var baseRate = resumed?.BaseLearningRate ?? optimizer.LearningRate;
        var options = new TrainerOptions
        {
            Epochs = run.Get(Epochs),
            BatchSize = run.Get(BatchSize),
            Seed = seed,
            Schedule = TrainingRecipe.CreateSchedule(baseRate),
            ClipNorm = run.Get(ClipNorm),
            CheckpointPath = run.Get(CheckpointEvery) == "off" ? null : checkpointPath,
            CheckpointEverySteps = int.TryParse(run.Get(CheckpointEvery), NumberStyles.None, CultureInfo.InvariantCulture, out var everySteps) ? everySteps : 0,
        };
        var parallel = mpi is null ? null : new MpiDataParallel(mpi, run.Get(SyncEvery));
        var trainer = new Trainer(network, loss, optimizer, options, loggers.CreateLogger<Trainer>()) { Schema = schema, DataParallel = parallel };
        trainer.CheckpointParts.Add(run);
        if (resumed is not null)
        {
            trainer.Resume(resumed);
            var batches = (train.Count + options.BatchSize - 1) / options.BatchSize;
            if (trainer.StartBatch > batches || trainer.StartEpoch > options.Epochs || (trainer.StartEpoch == options.Epochs && trainer.StartBatch > 0))
            {
                throw new UserError($"{resumePath}: stopped at epoch {trainer.StartEpoch + 1}, batch {trainer.StartBatch}, which is past the end of this run " +
                    $"({options.Epochs} epochs of {batches} batches); resume with the --epochs, --batch-size and data of the interrupted run.");
            }

            say($"resuming at epoch {trainer.StartEpoch + 1}, batch {trainer.StartBatch}");
        }

        AddHooks(recipe, trainer, loggers);
        var evolve = run.Get(Evolve)!;
        say(evolve == "none"
            ? "topology: fixed (--evolve none)"
            : $"topology: {evolve}, rewiring {run.Get(Zeta).ToString(CultureInfo.InvariantCulture)} of each layer " +
              (recipe.EvolutionInterval switch
              {
                  null => "twice an epoch (cosine-decayed, until 75 % of training)",
                  0 => "after every epoch but the last",
                  var every => $"every {every} steps (cosine-decayed, until 75 % of training)",
              }));
        if (evolve.StartsWith("ctre", StringComparison.Ordinal))
        {
            var rows = ActivationSample.RowsWithin(network, ActivationSample.DefaultBytes, train.Count);
            say($"{evolve} compares neurons over {rows:N0} of {train.Count:N0} training rows: an inference pass and " +
                $"{(double)rows * ActivationSample.BytesPerRow(network) / (1 << 20):N0} MiB of activations per evolution");
        }
        say($"network {string.Join("-", new[] { network.InputSize }.Concat(network.SparseLayers.Select(l => l.OutputSize)))}: {network.ConnectionCount:N0} connections, {network.ParameterBytes:N0} bytes of parameters");
        if (mpi is not null)
        {
            say(parallel!.SyncEvery == 1
                ? $"data parallel over {mpi.Size} MPI ranks, {compute.Threads} thread{(compute.Threads == 1 ? string.Empty : "s")} each: every step sums {4 * (network.ConnectionCount + network.SparseLayers.Sum(l => (long)l.OutputSize)):N0} bytes of gradients over the ranks; each rank trains {Share(run.Get(BatchSize), mpi.Size)} of each batch of {run.Get(BatchSize)}"
                : $"local SGD over {mpi.Size} MPI ranks, {compute.Threads} thread{(compute.Threads == 1 ? string.Empty : "s")} each: weights averaged every {parallel.SyncEvery} steps and before every rewiring");
        }

        // Ctrl+C and SIGTERM (a scheduler's stop) both end the run after the current batch with a checkpoint.
        using var interrupt = new SignalStop();
        warmup.Wait();
        try
        {
            Cli.WithProgress(trainer, quiet || json, () => trainer.Fit(train, test, interrupt.Token));
        }
        catch (TrainingDivergedException e)
        {
            var message = $"{e.Message} From the command line: a lower --learning-rate (it was {baseRate.ToString(CultureInfo.InvariantCulture)}), --clip-norm 1 or --optimizer adam. " +
                $"Nothing was saved{(File.Exists(output) ? $"; {output} is unchanged" : string.Empty)}.";
            if (root)
            {
                Console.Error.WriteLine($"sparse: {message}");
            }

            if (json)
            {
                CliLog.Failed(events, message);
            }

            return 3;
        }

        var finished = trainer.StartEpoch >= options.Epochs || trainer.History.StoppedEarly;
        if (!finished)
        {
            trainer.SaveCheckpoint(checkpointPath);
            if (json)
            {
                CliLog.Saved(events, "checkpoint", checkpointPath, trainer.StartEpoch, trainer.StartBatch);
            }

            if (root)
            {
                Console.Error.WriteLine($"sparse: interrupted in epoch {trainer.StartEpoch + 1} after {trainer.StartBatch} batches; resume with --resume {checkpointPath}");
            }

            return interrupt.ExitCode;
        }

        var final = Metrics.Evaluate(network, test, loss, run.Get(BatchSize));
        if (!root)
        {
            return interrupt.ExitCode; // rank 0 saves what every rank holds
        }

        Checkpoint.Save(output, network, history: trainer.History, schema: schema);
        if (json)
        {
            CliLog.Saved(events, "model", output, trainer.StartEpoch, 0);
        }

        // The run is complete: its checkpoint (the last epoch's, or an interrupted run's) would only resume a finished run.
        if (File.Exists(checkpointPath))
        {
            File.Delete(checkpointPath);
        }

        if (run.Get(MetricsPath) is { } metricsPath)
        {
            MetricsFile.Write(metricsPath, trainer.History, final, schema, network.Precision, mpi?.Size ?? 1);
            if (json)
            {
                CliLog.Saved(events, "metrics", metricsPath, trainer.StartEpoch, 0);
            }
        }

        if (run.Get(PlotPath) is { } plotPath)
        {
            CurvePlot.Write(plotPath, trainer.History);
            if (json)
            {
                CliLog.Saved(events, "plot", plotPath, trainer.StartEpoch, 0);
            }
        }

        var quality = final.Accuracy is { } a
            ? $"test accuracy {a.ToString("P2", CultureInfo.InvariantCulture)}, test loss {final.Loss.ToString("F4", CultureInfo.InvariantCulture)}"
            : $"test RMSE {(Math.Sqrt(final.Loss) * schema.TargetScale).ToString("G5", CultureInfo.InvariantCulture)} (in the target's units)";
        (json ? Console.Error : Console.Out).WriteLine($"{quality}; {network.ConnectionCount:N0} connections; saved {output}");
        if (parallel is { Reductions: > 0 })
        {
            say($"communication: {parallel.Reductions:N0} allreduces of {parallel.BytesReduced / (double)parallel.Reductions:N0} bytes each, {parallel.ReduceSeconds:F2} s in them (waits for the slowest rank included)");
        }
        if (interrupt.ExitCode != 0)
        {
            Console.Error.WriteLine($"sparse: interrupted while finishing; the run had ended, so {output} was saved completely first.");
            return interrupt.ExitCode;
        }

        return 0;
    }

    /// <summary>Every option's range, checked before any file is read.</summary>
    private static void CheckOptions(ParseResult parse, RunOptions run)
    {
        static string Show(double value) => value.ToString(CultureInfo.InvariantCulture);
        void Require(bool valid, string option, string range, object? value)
        {
            if (!valid)
            {
                throw new UserError($"{option} must be {range}, got {(value is double d ? Show(d) : value is float f ? Show(f) : value)}.");
            }
        }

        Require(run.Get(Epochs) >= 1, "--epochs", "1 or more", run.Get(Epochs));
        Require(run.Get(BatchSize) >= 1, "--batch-size", "1 or more", run.Get(BatchSize));
        var split = run.Get(ValidationSplit);
        Require(split is > 0 and < 1, "--validation-split", "between 0 and 1 (exclusive)", split);
        try
        {
            Recipe(run, run.Get(Seed)).Validate();
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

        var clip = run.Get(ClipNorm);
        Require(float.IsFinite(clip) && clip >= 0, "--clip-norm", "0 (off) or a positive number", clip);
        if (run.Get(Threads) is { } threads)
        {
            Require(threads >= 1, "--threads", "1 or more", threads);
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

        if (Explicit(parse, Momentum) && run.Get(OptimizerName) == "adam")
        {
            throw new UserError("--momentum applies to --optimizer sgd; Adam keeps its own moments.");
        }
    }

    // A rank's samples of a global batch (BatchLoader.Shard): equal shares, or shares one apart.
    private static string Share(int batch, int ranks) =>
        batch % ranks == 0 ? $"{batch / ranks}" : $"{batch / ranks} or {(batch / ranks) + 1}";

    // A checkpoint written before --precision existed trained in fp32.
    private static Precision PrecisionOf(RunOptions run) => run.Get(PrecisionName) == "bf16" ? Precision.Bf16 : Precision.Fp32;

    private static bool Explicit(ParseResult parse, Option option) => parse.GetResult(option) is { Implicit: false };

    private static int[] HiddenSizes(RunOptions run)
    {
        int[] hidden;
        try
        {
            hidden = [.. run.Get(Hidden)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(s => int.Parse(s, NumberStyles.None, CultureInfo.InvariantCulture))];
        }
        catch (Exception e) when (e is FormatException or OverflowException)
        {
            throw new UserError($"--hidden must be comma-separated positive whole numbers, got '{run.Get(Hidden)}'.");
        }

        if (hidden.Any(h => h <= 0))
        {
            throw new UserError($"--hidden sizes must be positive, got '{run.Get(Hidden)}'.");
        }

        return hidden;
    }

    private static ActivationKind ActivationOf(RunOptions run) => Activation(run.Get(ActivationName)!) ?? ActivationKind.Relu;

    private static SparseNetwork BuildNetwork(TrainingRecipe recipe, Dataset train, TabularSchema schema, int batchSize)
    {
        // Refuse a network that cannot fit before allocating any of it, with the arithmetic.
        var estimate = recipe.EstimateMemory(train.FeatureCount, schema.OutputSize, batchSize);
        try
        {
            MemoryEstimate.EnsureFits(estimate);
        }
        catch (InsufficientMemoryException e)
        {
            // Activations grow with the batch; with layers of millions of neurons they are what does not fit.
            var batch = batchSize / 2;
            while (batch >= 1 && recipe.EstimateMemory(train.FeatureCount, schema.OutputSize, batch).TotalBytes > MemoryEstimate.AvailableBytes())
            {
                batch /= 2;
            }

            throw new UserError(e.Message + (batch >= 1 ? $" It fits with --batch-size {batch}." : " Fewer or narrower layers, or a lower density, would fit."));
        }

        return recipe.CreateNetwork(train, schema.OutputSize);
    }

    /// <summary>
    /// Compiles the code a run will execute before its first epoch needs it: one short epoch of a small network of
    /// the run's kind (activation, dropout, batch size, optimizer, topology method, threads) on random data, with an
    /// evaluation. Started on a thread pool thread while the data files are read, it takes the just-in-time
    /// compilation (about 200 methods compiled fully optimized, since the tool runs without tiered compilation) out
    /// of the first epoch. Nothing it builds is shared with the run; evolver and random streams are its own.
    /// </summary>
    private static System.Threading.Tasks.Task Warmup(TrainingRecipe recipe, int batchSize, Precision precision, ComputeOptions compute, Action<string> note) =>
        System.Threading.Tasks.Task.Run(() =>
        {
            try
            {
                // Small layers: the compiled methods are the same at any width.
                const int Inputs = 64, Classes = 10;
                var batch = Math.Min(batchSize, 256);
                int[] sizes = [Inputs, .. recipe.Hidden.Select(h => Math.Min(h, 256)), Classes];
                var random = new SparseRandom(recipe.Seed);
                var rows = (2 * batch) + 1; // two full batches and a short one
                var features = new float[rows * Inputs];
                for (var k = 0; k < features.Length; k++)
                {
                    features[k] = (float)random.NextDouble();
                }

                var labels = Enumerable.Range(0, rows).Select(r => r % Classes).ToArray();
                var data = Dataset.ForClassification(features, Inputs, labels, Classes);
                var network = SparseNetwork.CreateMlp(sizes, recipe.Activation, epsilon: 2, recipe.Seed, recipe.Dropout,
                    normalization: InputNormalization.Fit(data, NormalizationKind.Standardize));
                network.Compute = compute;
                network.Precision = precision;
                var optimizer = recipe.Optimizer == OptimizerKind.Adam ? (Optimizer)new Adam(1e-3f, decoupled: true) : new Sgd(1e-3f, 0.9f);
                var trainer = new Trainer(network, new SoftmaxCrossEntropy(), optimizer, new TrainerOptions { Epochs = 2, BatchSize = batch, Seed = recipe.Seed });
                if (recipe.CreateEvolver() is { } evolver)
                {
                    trainer.Hooks.Add(new EvolutionHook(evolver, EvolutionSchedule.EveryEpoch(0.3)));
                }

                trainer.Fit(data, data);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // Only time is at stake: the run compiles whatever the warm-up did not.
                note($"warm-up skipped: {e.Message}");
            }
        });

    /// <summary>The run's optimization and evolution choices, with the library's defaults for what the command line leaves out.</summary>
    private static TrainingRecipe Recipe(RunOptions run, ulong seed) => new()
    {
        Hidden = HiddenSizes(run),
        Activation = ActivationOf(run),
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
        Zeta = run.Get(Zeta),
        EvolveEvery = run.Get(EvolveEvery),
        RigLSearch = run.Get(RiglSearch) switch
        {
            "exact" => RigLSearch.Exact,
            "bounded" => RigLSearch.Bounded,
            _ => RigLSearch.Auto, // auto, and checkpoints saved before the option existed
        },
        Seed = seed,
    };

    private static void AddHooks(TrainingRecipe recipe, Trainer trainer, ILoggerFactory loggers)
    {
        foreach (var hook in recipe.CreateHooks(loggers.CreateLogger<TopologyEvolver>()))
        {
            trainer.Hooks.Add(hook);
        }
    }

    // The CLI's own events: in the JSON stream with --log-format json, one object per event.
    private static partial class CliLog
    {
        [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Saved the {Kind} {Path} after {Epochs} epochs and {Batches} batches")]
        public static partial void Saved(ILogger logger, string kind, string path, int epochs, int batches);

        [LoggerMessage(EventId = 2, Level = LogLevel.Error, Message = "{Reason}")]
        public static partial void Failed(ILogger logger, string reason);
    }
}
