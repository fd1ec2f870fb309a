using Microsoft.Extensions.Logging;
using Sparse.Distributed;
using static Sparse.Cli.SharedOptions;
using static Sparse.Cli.TrainOptions;

namespace Sparse.Cli;

/// <summary>
/// The files a <c>sparse train</c> run reads and writes, checked before any work (every output's directory exists
/// and is writable, no output is an input), what the run says about itself before training, and what it writes after.
/// </summary>
/// <param name="Train">The training file (default: the bundled digits).</param>
/// <param name="Test">The test file, or null for a validation split.</param>
/// <param name="Output">The model file.</param>
/// <param name="Checkpoint">The checkpoint file beside it.</param>
/// <param name="Metrics">The per-epoch JSON, or null.</param>
/// <param name="Plot">The curves' PNG, or null.</param>
internal sealed record TrainOutputs(string Train, string? Test, string Output, string Checkpoint, string? Metrics, string? Plot)
{
    /// <summary>The run's files, checked.</summary>
    /// <exception cref="UserError">An output that cannot be written or would overwrite an input.</exception>
    public static TrainOutputs Check(RunOptions run, string output, string? resumePath)
    {
        var files = new TrainOutputs(run.Get(TrainFile) ?? Path.Combine(AppContext.BaseDirectory, "data", "digits.csv.gz"), run.Get(TestFile), output,
            output + ".checkpoint", run.Get(MetricsPath), run.Get(PlotPath));
        OutputPaths.Check(
            [("--output", output), ("the checkpoint", files.Checkpoint), ("--metrics", files.Metrics), ("--plot", files.Plot)],
            [("--train", files.Train), ("--test", files.Test), ("--resume", resumePath == files.Checkpoint ? null : resumePath), ("--features-from", run.Get(FeaturesFrom))]);
        return files;
    }

    /// <summary>The lines that say, before the first epoch, how the run will evolve, what CTRE samples, the network's size and the ranks' share.</summary>
    public static void Describe(TrainingRecipe recipe, SparseNetwork network, Dataset train, Mpi? mpi, MpiDataParallel? parallel, Action<string> say)
    {
        var method = recipe.EvolutionName;
        say(recipe.Evolution == EvolutionMethod.None
            ? "topology: fixed (--evolve none)"
            : recipe.Evolution is EvolutionMethod.Gap or EvolutionMethod.EarlyCrop
            ? $"topology: {recipe.EvolutionDescription}"
            : recipe.Evolution == EvolutionMethod.Gradual
            ? $"topology: {recipe.EvolutionDescription}, pruning " + (recipe.EvolveEvery is > 0 and var steps ? $"every {steps} steps" : "after every epoch") +
              $"; {network.ConnectionCount:N0} connections at the start"
            : $"topology: {recipe.EvolutionDescription}; rewiring {recipe.Zeta.ToString(CultureInfo.InvariantCulture)} of each layer " +
              (recipe.EvolutionInterval switch
              {
                  null => "twice an epoch (cosine-decayed, until 75 % of training)",
                  0 => "after every epoch but the last",
                  var every => $"every {every} steps (cosine-decayed, until 75 % of training)",
              }));
        if (recipe.SupTickets is { } tickets)
        {
            var (pretrain, cycle) = recipe.SupTicketsPhases;
            say($"sup-tickets: {tickets} cycle{(tickets == 1 ? string.Empty : "s")} of {cycle} epoch{(cycle == 1 ? string.Empty : "s")} after epoch {pretrain}, the learning rate " +
                "rising from where the first phase ends to five times that and back, each cycle starting with a rewiring of half of every layer; the run ends with the tickets' superposition");
        }

        if (recipe.EvolutionSamplesRows)
        {
            var rows = ActivationSample.RowsWithin(network, ActivationSample.DefaultBytes, train.Count);
            say($"{method} compares neurons over {rows:N0} of {train.Count:N0} training rows: an inference pass and " +
                $"{(double)rows * ActivationSample.BytesPerRow(network) / (1 << 20):N0} MiB of activations per evolution");
        }

        say($"network {string.Join("-", new[] { network.InputSize }.Concat(network.SparseLayers.Select(l => l.OutputSize)))}: {network.ConnectionCount:N0} connections, {network.ParameterBytes:N0} bytes of parameters");
        if (mpi is not null)
        {
            var threads = $"{network.Compute.Threads} thread{(network.Compute.Threads == 1 ? string.Empty : "s")} each";
            say(parallel!.SyncEvery == 1
                ? $"data parallel over {mpi.Size} MPI ranks, {threads}: every step sums {4 * (network.ConnectionCount + network.SparseLayers.Sum(l => (long)l.OutputSize)):N0} bytes of gradients over the ranks; each rank trains {Share(recipe.BatchSize, mpi.Size)} of each batch of {recipe.BatchSize}"
                : $"local SGD over {mpi.Size} MPI ranks, {threads}: weights averaged every {parallel.SyncEvery} steps and before every rewiring");
        }
    }

    /// <summary>
    /// Saves the finished model, removes the checkpoint (it would only resume a finished run), writes the metrics and
    /// plot when asked, and prints the final figures; each file saved is an event in <paramref name="events"/> when given.
    /// </summary>
    public void Write(Trainer trainer, Evaluation final, int ranks, ILogger? events, RunMemory memory)
    {
        var schema = trainer.Schema!;
        // The recipe and the data options go with the model, so `sparse info` shows how it was trained.
        Sparse.Training.Checkpoint.Save(Output, trainer.Network, history: trainer.History, schema: schema, sections: [.. trainer.CheckpointParts.Select(p => p.ToCheckpointSection())]);
        Saved("model", Output);
        if (File.Exists(Checkpoint))
        {
            File.Delete(Checkpoint);
        }

        if (Metrics is not null)
        {
            MetricsFile.Write(Metrics, trainer.History, final, schema, trainer.Network.Precision, ranks, memory, trainer.CheckpointParts.OfType<TrainingRecipe>().FirstOrDefault());
            Saved("metrics", Metrics);
        }

        if (Plot is not null)
        {
            CurvePlot.Write(Plot, trainer.History);
            Saved("plot", Plot);
        }

        var quality = final.Accuracy is { } a
            ? $"test accuracy {a.ToString("P2", CultureInfo.InvariantCulture)}, test loss {final.Loss.ToString("F4", CultureInfo.InvariantCulture)}"
            : $"test RMSE {(Math.Sqrt(final.Loss) * schema.TargetScale).ToString("G5", CultureInfo.InvariantCulture)} (in the target's units)";
        var console = events is not null ? Console.Error : Console.Out;
        console.WriteLine($"{quality}; {trainer.Network.ConnectionCount:N0} connections; saved {Output}");
        console.WriteLine(memory.Describe());

        void Saved(string kind, string path)
        {
            if (events is not null)
            {
                RunLogging.Saved(events, kind, path, trainer.StartEpoch, 0);
            }
        }
    }

    // A rank's samples of a global batch (BatchLoader.Shard): equal shares, or shares one apart.
    private static string Share(int batch, int ranks) =>
        batch % ranks == 0 ? $"{batch / ranks}" : $"{batch / ranks} or {(batch / ranks) + 1}";
}
