using System.Globalization;
using Sparse.Core;
using Sparse.Distributed;
using Sparse.Topology;
using Sparse.Tests.Training;
using Sparse.Training;

namespace Sparse.Tests.Distributed;

/// <summary>
/// What each rank of an <c>mpirun ... dotnet Sparse.Tests.dll mpi-rank SCENARIO DIR</c> job runs for
/// <see cref="MpiTests"/>: the test assembly's own entry point (NUnit loads it as a library and never calls it). Each
/// rank writes what it saw to <c>DIR/rank-R.txt</c> (and a model file), which the test reads back and judges.
/// </summary>
public static class MpiRanks
{
    /// <summary>Dispatches <c>mpi-rank SCENARIO DIR [ARGS]</c>; anything else is not for this entry point.</summary>
    public static int Main(string[] args)
    {
        if (args is not ["mpi-rank", var scenario, var directory, .. var rest])
        {
            Console.Error.WriteLine("Sparse.Tests runs under dotnet test; 'mpi-rank SCENARIO DIR' is the MPI tests' rank program.");
            return 2;
        }

        using var mpi = Mpi.Initialize();
        var lines = scenario switch
        {
            "collectives" => Collectives(mpi),
            "train" => Train(mpi, directory, rest),
            _ => throw new ArgumentException($"Unknown scenario {scenario}."),
        };
        File.WriteAllLines(Path.Combine(directory, $"rank-{mpi.Rank}.txt"), lines);
        return 0;
    }

    // Every collective against the value it must give, on lengths that are empty, one, and off every vector width.
    private static List<string> Collectives(Mpi mpi)
    {
        var problems = new List<string>();
        void Expect(bool condition, string what)
        {
            if (!condition)
            {
                problems.Add(what);
            }
        }

        var (rank, size) = (mpi.Rank, mpi.Size);
        foreach (var length in new[] { 0, 1, 1_000_003 })
        {
            var floats = Enumerable.Range(0, length).Select(k => (float)((k % 7) + rank)).ToArray();
            mpi.AllReduceSum(floats);
            Expect(floats.Select((v, k) => v == (size * (k % 7)) + (size * (size - 1) / 2)).All(x => x), $"float sum of {length}");
            var doubles = Enumerable.Range(0, length).Select(k => (k * 0.5) + rank).ToArray();
            mpi.AllReduceSum(doubles);
            Expect(doubles.Select((v, k) => v == (size * k * 0.5) + (size * (size - 1) / 2.0)).All(x => x), $"double sum of {length}");
        }

        double[] max = [rank];
        mpi.AllReduceMax(max);
        Expect(max[0] == size - 1, "max");

        var broadcast = rank == 0 ? Enumerable.Range(0, 1001).Select(k => k * 3).ToArray() : new int[1001];
        mpi.Broadcast<int>(broadcast);
        Expect(broadcast.Select((v, k) => v == k * 3).All(x => x), "broadcast");

        var gathered = new int[3 * size];
        mpi.AllGather<int>([rank, rank * 10, -rank], gathered);
        Expect(Enumerable.Range(0, size).All(r => gathered[3 * r] == r && gathered[(3 * r) + 1] == r * 10 && gathered[(3 * r) + 2] == -r), "allgather");

        // Rank r sends r + 1 floats of value r.
        var counts = Enumerable.Range(1, size).ToArray();
        var variable = new float[counts.Sum()];
        mpi.AllGatherVariable<float>(Enumerable.Repeat((float)rank, rank + 1).ToArray(), variable, counts);
        var expected = Enumerable.Range(0, size).SelectMany(r => Enumerable.Repeat((float)r, r + 1)).ToArray();
        Expect(variable.SequenceEqual(expected), "allgatherv");

        var parallel = new MpiDataParallel(mpi);
        Expect(parallel.AnyStops(rank == size - 1), "one rank stopping stops all");
        Expect(!parallel.AnyStops(false), "no rank stopping");
        mpi.Barrier();
        return problems.Count == 0 ? [$"ok rank {rank} of {size}"] : problems;
    }

    // train METHOD SYNC_EVERY EPOCHS BATCH: digits, 64-256-256-10, Adam, the given topology method; every rank saves its
    // model and reports its test accuracy, checksum and the bytes it reduced.
    private static List<string> Train(Mpi mpi, string directory, string[] args)
    {
        var (method, syncEvery, epochs, batch) = (args[0], int.Parse(args[1], CultureInfo.InvariantCulture), int.Parse(args[2], CultureInfo.InvariantCulture), int.Parse(args[3], CultureInfo.InvariantCulture));
        var (network, trainer) = DistributedSetup(method, epochs, batch, new ComputeOptions { Threads = 1 });
        var parallel = new MpiDataParallel(mpi, syncEvery);
        trainer.DataParallel = parallel;
        trainer.Fit(DigitsData.Train, DigitsData.Test);
        var accuracy = Metrics.Evaluate(network, DigitsData.Test, new SoftmaxCrossEntropy()).Accuracy!.Value;
        Checkpoint.Save(Path.Combine(directory, $"model-{mpi.Rank}.sparse"), network);
        return [
            $"accuracy {accuracy.ToString("R", CultureInfo.InvariantCulture)}",
            $"checksum {MpiDataParallel.Checksum(network):x16}",
            $"reduced {parallel.BytesReduced} bytes in {parallel.Reductions} allreduces",
            $"pruned {trainer.History.TopologyChanges.Sum(c => c.Pruned)}",
        ];
    }

    /// <summary>The network and trainer both the ranks and the single-process reference train.</summary>
    internal static (SparseNetwork Network, Trainer Trainer) DistributedSetup(string method, int epochs, int batch, ComputeOptions compute)
    {
        var normalization = InputNormalization.Fit(DigitsData.Train, NormalizationKind.Standardize);
        int[] sizes = [64, 256, 256, 10];

        // Gradual pruning starts at twice epsilon 8's density and ends at its counts.
        var densities = LayerDensities.ErdosRenyi(sizes, 8);
        var network = SparseNetwork.CreateMlp(sizes, ActivationKind.Relu, epsilon: 8, seed: 3, normalization: normalization,
            densities: method == "gradual" ? [.. densities.Select(d => Math.Min(1, 2 * d))] : null);
        network.Compute = compute;
        var schedule = method == "sup-tickets" ? new SupTicketsSchedule(LearningRateSchedule.Cosine(0.0001f), epochs - 2, 1) : LearningRateSchedule.Cosine(0.0001f);
        var trainer = new Trainer(network, new SoftmaxCrossEntropy(), new Adam(0.003f, decoupled: true), new TrainerOptions { Epochs = epochs, BatchSize = batch, Seed = 3, Schedule = schedule });
        if (method == "gradual")
        {
            trainer.Hooks.Add(new GradualPruningHook([.. densities.Select((d, l) => (long)Math.Round(d * sizes[l] * sizes[l + 1]))], interval: 0));
            return (network, trainer);
        }

        if (method == "sup-tickets")
        {
            // Two cycles of an epoch at the end, RigL rewiring half of every layer at each one's start.
            var rigl = new EvolutionHook(TopologyEvolver.RigL(), EvolutionSchedule.Before(EvolutionSchedule.CosineDecayPerEpoch(), epochs - 2));
            trainer.Hooks.Add(new SupTicketsHook(epochs - 2, 1, rigl));
            trainer.Hooks.Add(rigl);
            return (network, trainer);
        }

        TopologyEvolver? evolver = method switch
        {
            "set" => TopologyEvolver.Set(seed: 4),
            "rigl" => TopologyEvolver.RigL(),
            "ctre" => TopologyEvolver.Ctre(seed: 4),
            "cosine+gradient" => new TopologyEvolver(new CosinePruner(), new GradientRegrower()),
            _ => null,
        };
        if (evolver is not null)
        {
            trainer.Hooks.Add(new EvolutionHook(evolver, EvolutionSchedule.CosineDecayPerEpoch()));
        }

        return (network, trainer);
    }
}
