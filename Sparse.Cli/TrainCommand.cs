using System.CommandLine;
using Microsoft.Extensions.Logging;
using Sparse.Distributed;
using static Sparse.Cli.SharedOptions;
using static Sparse.Cli.TrainOptions;

namespace Sparse.Cli;

/// <summary>
/// <c>sparse train</c>: fit a truly sparse MLP to a CSV file and save it. The options parse into a
/// <see cref="TrainingRecipe"/>, which builds the network and trainer; this command reads the data, reports, handles
/// interrupts, divergence and MPI ranks, and writes the outputs.
/// </summary>
internal static class TrainCommand
{
    public static Command Create(Option<bool> quiet, Option<bool> verbose)
    {
        var command = new Command("train", "Train a truly sparse MLP on a CSV file and save the model.");
        foreach (var option in All())
        {
            command.Options.Add(option);
        }

        command.SetAction(parse => Cli.Guard(() => Run(parse, parse.GetValue(quiet), parse.GetValue(verbose))));
        return command;
    }

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

        var json = parse.GetValue(LogFormat) == "json";
        var terminal = !json && !quiet && Cli.ShowsProgress;
        using var loggers = RunLogging.Create(json, terminal, quiet, verbose);
        var events = loggers.CreateLogger("Sparse.Cli");
        try
        {
            var code = Train(parse, quiet, verbose, json, loggers, events, mpi);
            mpi?.Dispose();
            return code;
        }
        catch (RanksDivergedException e)
        {
            throw new UserError(e.Message);
        }
        catch (Exception e) when (json && Cli.IsReported(e))
        {
            // The JSON stream ends with the error too; the caller still prints it to standard error and exits 1.
            RunLogging.Failed(events, e.Message);
            throw;
        }
    }

    private static int Train(ParseResult parse, bool quiet, bool verbose, bool json, ILoggerFactory loggers, ILogger events, Mpi? mpi)
    {
        var memory = new RunMemory();
        var run = Options(parse);
        Check(parse, run);
        var output = run.Get(Output)!;
        var resumePath = run.Get(Resume);
        var outputs = TrainOutputs.Check(run, output, resumePath);
        var resumed = resumePath is null ? null : Cli.LoadModel(resumePath);
        if (resumed is not null)
        {
            if (resumed.Optimizer is null)
            {
                throw new UserError($"{resumePath}: is a finished model, not a checkpoint of an interrupted run (it has no optimizer state to resume).");
            }

            run = Options(parse, resumed, resumePath);
        }

        outputs = TrainOutputs.Check(run, output, resumePath);

        // With JSON events on standard output, everything else goes to standard error.
        var say = json ? (quiet ? _ => { } : Console.Error.WriteLine) : Cli.Sayer(quiet);

        // The options were checked, so the recipe builds; a resumed run's are the checkpoint's. Ranks on one machine share its cores.
        var recipe = Recipe(run) with { Threads = run.Get(Threads) ?? Math.Max(1, Environment.ProcessorCount / (mpi is null ? 1 : Mpi.LocalSize())) };
        var warmup = Warmup.Start(recipe, verbose ? say : _ => { });
        var (schema, train, test) = TrainData.Read(run, outputs.Train, outputs.Test, resumed, resumePath, say, line =>
        {
            if (json)
            {
                RunLogging.Task(events, line);
            }
            else
            {
                say(line);
            }
        });
        var trainer = resumed is null ? NewTrainer(recipe, train, schema, loggers) : recipe.ResumeTrainer(resumed, loggers);
        trainer.Schema ??= schema;
        trainer.Options.CheckpointPath = run.Get(CheckpointEvery) == "off" ? null : outputs.Checkpoint;
        trainer.Options.CheckpointEverySteps = CheckpointSteps(run);
        trainer.CheckpointParts.Add(run);
        trainer.Options.AllowDataChange = run.Get(DataChanged);
        var parallel = mpi is null ? null : new MpiDataParallel(mpi, run.Get(SyncEvery));
        trainer.DataParallel = parallel;
        if (parallel is not null && recipe.LazyInputs)
        {
            say("note: --lazy-inputs is off under mpirun: the ranks hold different features of each batch, and a lazy step of each rank's own would part their weights");
        }
        if (resumed is not null)
        {
            var batches = (train.Count + recipe.BatchSize - 1) / recipe.BatchSize;
            if (trainer.StartBatch > batches || trainer.StartEpoch > recipe.Epochs || (trainer.StartEpoch == recipe.Epochs && trainer.StartBatch > 0))
            {
                throw new UserError($"{resumePath}: stopped at epoch {trainer.StartEpoch + 1}, batch {trainer.StartBatch}, which is past the end of this run " +
                    $"({recipe.Epochs} epochs of {batches} batches); resume with the --epochs, --batch-size and data of the interrupted run.");
            }

            if (trainer.DataChangeSince(train, test) is { } change)
            {
                if (!run.Get(DataChanged))
                {
                    throw new UserError($"{resumePath}: the interrupted run trained on other data than {outputs.Train}{(outputs.Test is null ? " and its validation split" : $" and {outputs.Test}")} hold now ({change}). " +
                        "Resume with the files and split of that run, or give --data-changed to continue on these rows on purpose (the metrics record it).");
                }

                say($"note: continuing on other data, as --data-changed says ({change})");
            }

            say($"resuming at epoch {trainer.StartEpoch + 1}, batch {trainer.StartBatch}");
        }

        TrainOutputs.Describe(recipe, trainer.Network, train, mpi, parallel, say);
        memory.Training(trainer.EstimateMemory());

        // Ctrl+C and SIGTERM (a scheduler's stop) both end the run after the current batch with a checkpoint.
        using var interrupt = new SignalStop();
        warmup.Wait();
        var root = mpi is null || mpi.IsRoot;
        try
        {
            Cli.WithProgress(trainer, quiet || json, () => trainer.Fit(train, test, interrupt.Token));
        }
        catch (TrainingDivergedException e)
        {
            var message = $"{e.Message} From the command line: a lower --learning-rate (it was {trainer.BaseLearningRate.ToString(CultureInfo.InvariantCulture)}), --clip-norm 1 or --optimizer adam. " +
                $"Nothing was saved{(File.Exists(output) ? $"; {output} is unchanged" : string.Empty)}.";
            if (root)
            {
                Console.Error.WriteLine($"sparse: {message}");
            }

            if (json)
            {
                RunLogging.Failed(events, message);
            }

            return 3;
        }

        if (trainer.StartEpoch < recipe.Epochs && !trainer.History.StoppedEarly)
        {
            trainer.SaveCheckpoint(outputs.Checkpoint);
            if (json)
            {
                RunLogging.Saved(events, "checkpoint", outputs.Checkpoint, trainer.StartEpoch, trainer.StartBatch);
            }

            if (root)
            {
                Console.Error.WriteLine($"sparse: interrupted in epoch {trainer.StartEpoch + 1} after {trainer.StartBatch} batches; resume with --resume {outputs.Checkpoint}");
            }

            return interrupt.ExitCode;
        }

        var final = Metrics.Evaluate(trainer.Network, test, trainer.Loss, recipe.BatchSize);
        if (!root)
        {
            return interrupt.ExitCode; // rank 0 saves what every rank holds
        }

        outputs.Write(trainer, final, mpi?.Size ?? 1, json ? events : null, memory);
        if (parallel is { Reductions: > 0 })
        {
            say($"communication: {parallel.Reductions:N0} allreduces of {parallel.BytesReduced / (double)parallel.Reductions:N0} bytes each, {parallel.ReduceSeconds:F2} s in them (waits for the slowest rank included)");
        }

        if (interrupt.ExitCode != 0)
        {
            Console.Error.WriteLine($"sparse: interrupted while finishing; the run had ended, so {output} was saved completely first.");
        }

        return interrupt.ExitCode;
    }

    // The command line's options; when resuming, the checkpoint's for every option that shapes the run (the recipe's and the data's).
    private static RunOptions Options(ParseResult parse, Checkpoint? resumed = null, string? resumePath = null) =>
        new(parse, Fixed, Overridable, InRecipe, resumed, resumePath, c => TrainingRecipe.FromCheckpoint(c) is { } saved ? RecipeValues(saved) : null);

    // A new run's network (refused with the arithmetic, before any of it is allocated, when it cannot fit) and trainer.
    private static Trainer NewTrainer(TrainingRecipe recipe, Dataset train, TabularSchema schema, ILoggerFactory loggers)
    {
        var estimate = recipe.EstimateMemory(train.FeatureCount, schema.OutputSize, recipe.BatchSize);
        try
        {
            MemoryEstimate.EnsureFits(estimate);
        }
        catch (InsufficientMemoryException e)
        {
            // Activations grow with the batch; with layers of millions of neurons they are what does not fit.
            var batch = recipe.BatchSize / 2;
            while (batch >= 1 && recipe.EstimateMemory(train.FeatureCount, schema.OutputSize, batch).TotalBytes > MemoryEstimate.AvailableBytes())
            {
                batch /= 2;
            }

            throw new UserError(e.Message + (batch >= 1 ? $" It fits with --batch-size {batch}." : " Fewer or narrower layers, or a lower density, would fit."));
        }

        var optimizer = recipe.CreateOptimizer(schema.IsClassification);
        var trainer = recipe.CreateTrainer(recipe.CreateNetwork(train, schema.OutputSize), optimizer, TrainingRecipe.CreateLoss(schema.IsClassification), optimizer.LearningRate, loggers);
        trainer.Schema = schema;
        return trainer;
    }
}
