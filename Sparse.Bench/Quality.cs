using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Sparse.Bench;

/// <summary>
/// <c>quality</c>: what each way of evolving the topology is worth. Trains the same network from the same seeds
/// with a fixed topology and with every evolution method and schedule, on one data set at the given sparsities,
/// budget and seeds, and reports the final test accuracy (mean and standard deviation over seeds), the best
/// epoch's, and the time, as a markdown table and a JSON. With <c>--gate BASELINE</c> it compares each
/// configuration's mean with the baseline's and fails when it dropped by more than the baseline's seed spread
/// (at least <see cref="MinimumSpread"/>): the accuracy counterpart of <c>perf-check</c>.
/// </summary>
/// <remarks>
/// <code>
/// quality [--data digits | fashion-mnist:DIR | mnist:DIR | wide:FILE | madelon[:EPOCHS[:COLUMNS:WIDTH]]] [--budget short|long]
///         [--seeds 3] [--epsilons 20,2] [--methods static,set,...] [--json FILE] [--markdown FILE] [--gate BASELINE]
///         [--require ctre>static,rigl-steps>static@2] [--optimizer sgd|sgd-step|adam] [--learning-rate R]
///         [--epochs N] [--zeta Z] [--first-seed 1]
///         [--inject none|no-rewiring|random-growth|shuffled-scores]
/// </code>
/// Methods: <c>static</c>; <c>set</c>, <c>rigl</c>, <c>ctre</c>, <c>ctre-sim</c>, <c>ctre-seq</c> after every epoch
/// but the last (zeta 0.3); <c>set-steps</c>, <c>rigl-steps</c> twice an epoch with RigL's cosine-decayed fraction
/// (alpha 0.3), ending at 75 % of training, and <c>rigl-bounded</c> the same with the norm-bounded search at every
/// width; <c>ctre-batch</c> is <c>ctre</c> scoring its similarities over one batch's worth of training rows instead of
/// all of them; <c>neurons</c>: SET plus importance pruning of hidden neurons; <c>gradual</c> and <c>gradual-5x</c>:
/// gradual magnitude pruning after every epoch from a dense start, or from 5x the target density, to epsilon's counts
/// by 75 % of training (the connections column shows the start); <c>gap</c>: each layer in turn grown dense, trained and
/// pruned back (<see cref="GapHook"/>, phases as <see cref="TrainingRecipe.GapPhaseEpochs"/>), <c>gap-5x</c> grown to 5x the
/// network's density instead; <c>earlycrop</c>: a dense start (<c>earlycrop-5x</c>: 5x the target density) pruned after a
/// tenth of training by gradient flow to epsilon's total count (<see cref="EarlyCropHook"/>); any method with <c>-sup</c> (<c>rigl-sup</c>): Sup-tickets
/// around it, 3 cycles in the last tenth of training (<see cref="TrainingRecipe.SupTickets"/>); <c>PRUNE+GROW</c> (<c>magnitude|cosine</c> +
/// <c>random|gradient|cosine</c>, for example <c>cosine+gradient</c>) the two halves alone, after every epoch like
/// <c>set</c>, hidden layers only, magnitude pruning of both signs together, cosine regrowth as plain CTRE's.
/// <c>--optimizer sgd</c> trains any data set in CTRE's
/// recipe (ReLU, SGD 0.01 with Nesterov momentum 0.9, L2 1e-4, constant rate, no dropout); <c>--optimizer sgd-step</c> in
/// the CIFAR recipe of Sup-tickets' reference (ReLU, SGD 0.1 with momentum 0.9, L2 5e-4, tenfold decays at 50 % and 75 % of
/// training, or of the epochs before Sup-tickets' cycles, no dropout); <c>--epochs</c>, <c>--zeta</c> and <c>--learning-rate</c>
/// override the data set's.
/// </remarks>
internal static class Quality
{
    /// <summary>The least drop the gate treats as real: one test sample of the bundled digits is 0.28 points.</summary>
    public const double MinimumSpread = 0.006;

    private static readonly string[] AllMethods = ["static", "set", "set-steps", "rigl", "rigl-steps", "rigl-bounded", "ctre", "ctre-sim", "ctre-seq", "ctre-batch", "neurons", "gradual", "gradual-5x", "gap", "gap-5x", "earlycrop", "earlycrop-5x"];

    // The prune x grow grid's methods, PRUNE+GROW: each half on its own, the rest of the step alike.
    private static readonly string[] GridMethods = [.. from p in TrainingRecipe.PruneNames from g in TrainingRecipe.GrowthNames select $"{p}+{g}"];

    public static int Run(string[] args)
    {
        string Option(string name, string fallback)
        {
            var at = Array.IndexOf(args, name);
            return at >= 0 && at + 1 < args.Length ? args[at + 1] : fallback;
        }

        var data = Option("--data", "digits");
        var budget = Option("--budget", "short");
        var seeds = int.Parse(Option("--seeds", "3"), CultureInfo.InvariantCulture);
        var firstSeed = int.Parse(Option("--first-seed", "1"), CultureInfo.InvariantCulture);
        var inject = Option("--inject", "none");
        if (!BrokenEvolver.Kinds.Contains(inject))
        {
            Console.Error.WriteLine($"quality: --inject {inject}: one of {string.Join(", ", BrokenEvolver.Kinds)}");
            return 2;
        }

        if (inject != "none")
        {
            Console.WriteLine($"# every evolution method broken on purpose: {inject}");
        }
        var epsilons = Option("--epsilons", "20,2").Split(',').Select(e => double.Parse(e, CultureInfo.InvariantCulture)).ToArray();
        var methods = Option("--methods", string.Join(",", AllMethods)).Split(',');
        var unknown = methods.Select(m => m.EndsWith("-sup", StringComparison.Ordinal) ? m[..^"-sup".Length] : m).Except(AllMethods).Except(GridMethods).ToArray();
        if (unknown.Length > 0)
        {
            Console.Error.WriteLine($"quality: unknown method {unknown[0]}; the methods are {string.Join(", ", AllMethods)}, and PRUNE+GROW: {string.Join(", ", GridMethods)}");
            return 2;
        }

        var setup = Setup.For(data, budget == "long");

        // A data set's recipe with some of it changed: CTRE's regime on images is SGD, long training, zeta 0.2.
        if (Option("--optimizer", string.Empty) is { Length: > 0 } optimizerName)
        {
            setup = optimizerName switch
            {
                "sgd" => setup with { Sgd = true, LearningRate = 0.01f, WeightDecay = 1e-4f, Dropout = 0f, Activation = ActivationKind.Relu },
                "sgd-step" => setup with { Sgd = true, StepDecay = true, Nesterov = false, LearningRate = 0.1f, WeightDecay = 5e-4f, Dropout = 0f, Activation = ActivationKind.Relu },
                "adam" => setup with { Sgd = false },
                _ => throw new ArgumentException($"--optimizer {optimizerName}: sgd, sgd-step or adam"),
            };
        }

        if (Option("--learning-rate", string.Empty) is { Length: > 0 } rate)
        {
            setup = setup with { LearningRate = float.Parse(rate, CultureInfo.InvariantCulture) };
        }

        setup = setup with
        {
            Epochs = int.Parse(Option("--epochs", setup.Epochs.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture),
            Zeta = double.Parse(Option("--zeta", setup.Zeta.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture),
        };
        Console.WriteLine($"# {setup.Name}: {string.Join("-", setup.Sizes)}, {setup.Activation}, {setup.Epochs} epochs, batch {setup.BatchSize}, " +
            $"{(setup.Sgd ? $"SGD with {(setup.Nesterov ? "Nesterov " : string.Empty)}momentum 0.9 ({(setup.StepDecay ? "tenfold decays at 50 % and 75 %" : "constant")}), L2" : "Adam (cosine), decoupled weight decay")} {setup.WeightDecay.ToString(CultureInfo.InvariantCulture)}, " +
            $"learning rate {setup.LearningRate.ToString(CultureInfo.InvariantCulture)}, dropout {setup.Dropout.ToString(CultureInfo.InvariantCulture)}, zeta {setup.Zeta.ToString(CultureInfo.InvariantCulture)}; " +
            $"{setup.Train.Count:N0} training and {setup.Test.Count:N0} test rows; {seeds} seeds");
        var rows = new List<Row>();
        Console.WriteLine("| data | epsilon | connections | epochs | method | final accuracy | best accuracy | seconds | evolving |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|");
        foreach (var epsilon in epsilons)
        {
            foreach (var method in methods)
            {
                var runs = Enumerable.Range(firstSeed, seeds).Select(seed => Train(setup, epsilon, method, (ulong)seed, inject)).ToArray();
                var row = new Row(setup.Name, epsilon, setup.Epochs, method, runs);
                rows.Add(row);
                Console.WriteLine(row.Markdown());
            }
        }

        var json = new JsonObject
        {
            ["data"] = setup.Name,
            ["epochs"] = setup.Epochs,
            ["seeds"] = seeds,
            ["machine"] = $"{Environment.ProcessorCount} cores",
            ["results"] = new JsonObject(rows.Select(r => new KeyValuePair<string, JsonNode?>(r.Key, r.ToJson()))),
        };
        if (Option("--json", string.Empty) is { Length: > 0 } jsonPath)
        {
            File.WriteAllText(jsonPath, json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
        }

        if (Option("--markdown", string.Empty) is { Length: > 0 } markdownPath)
        {
            File.WriteAllLines(markdownPath, rows.Select(r => r.Markdown()));
        }

        var failed = Option("--gate", string.Empty) is { Length: > 0 } baseline ? Gate(rows, baseline) : 0;
        return Option("--require", string.Empty) is { Length: > 0 } requirements ? Math.Max(failed, Require(rows, requirements)) : failed;
    }

    // "a>b,c>d@2": method a's mean beats method b's by more than the larger seed spread of the two (at least
    // MinimumSpread), at every epsilon of the run or at the one after '@': what keeps a method that does nothing (a
    // CTRE that grows at random) from passing the gate.
    private static int Require(List<Row> rows, string requirements)
    {
        var failed = 0;
        Console.WriteLine();
        Console.WriteLine("requirement                                    better   worse    margin  needed  status");
        foreach (var requirement in requirements.Split(','))
        {
            var (pair, at) = requirement.Split('@') is [var p, var e] ? (p, (double?)double.Parse(e, CultureInfo.InvariantCulture)) : (requirement, null);
            var (better, worse) = pair.Split('>') is [var a, var b] ? (a, b) : throw new ArgumentException($"--require {requirement}: write BETTER>WORSE or BETTER>WORSE@EPSILON");
            foreach (var group in rows.GroupBy(r => r.Epsilon).Where(g => at is null || g.Key == at))
            {
                var high = group.SingleOrDefault(r => r.Method == better) ?? throw new ArgumentException($"--require {requirement}: {better} was not run");
                var low = group.SingleOrDefault(r => r.Method == worse) ?? throw new ArgumentException($"--require {requirement}: {worse} was not run");
                var margin = high.Mean - low.Mean;
                var needed = Math.Max(MinimumSpread, Math.Max(high.Std, low.Std));
                var ok = margin > needed;
                failed += ok ? 0 : 1;
                Console.WriteLine($"{high.Data}/eps{group.Key.ToString(CultureInfo.InvariantCulture)}: {better} > {worse}".PadRight(46) +
                    $" {high.Mean,7:P2} {low.Mean,7:P2} {margin,8:P2} {needed,7:P2}  {(ok ? "ok" : "NOT AHEAD")}");
            }
        }

        if (failed > 0)
        {
            Console.Error.WriteLine($"quality: {failed} requirement(s) not met: a method is not ahead of the one it must beat by more than the seed spread");
        }

        return failed > 0 ? 1 : 0;
    }

    private static int Gate(List<Row> rows, string baselinePath)
    {
        var baseline = JsonNode.Parse(File.ReadAllText(baselinePath))!["results"]!.AsObject();
        var failed = 0;
        Console.WriteLine();
        Console.WriteLine("configuration                     mean    baseline  allowed drop  status");
        foreach (var row in rows)
        {
            if (baseline[row.Key] is not { } expected)
            {
                Console.WriteLine($"{row.Key,-32} {row.Mean:P2}  (not in the baseline)");
                continue;
            }

            var mean = expected["mean"]!.GetValue<double>();
            var allowed = Math.Max(expected["std"]!.GetValue<double>(), MinimumSpread);
            var ok = row.Mean >= mean - allowed;
            failed += ok ? 0 : 1;
            Console.WriteLine($"{row.Key,-32} {row.Mean,6:P2}  {mean,8:P2}  {allowed,12:P2}  {(ok ? "ok" : "DROPPED")}");
        }

        if (failed > 0)
        {
            Console.Error.WriteLine($"quality: {failed} configuration(s) lost more accuracy than their seed spread allows against {baselinePath}");
            return 1;
        }

        return 0;
    }

    private static RunResult Train(Setup setup, double epsilon, string method, ulong seed, string inject)
    {
        // Gradual pruning starts denser (dense, or 5x the target density) and ends at the Erdos-Renyi counts of epsilon.
        var targetDensities = LayerDensities.ErdosRenyi(setup.Sizes, epsilon);
        long[] targetCounts = [.. targetDensities.Select((d, l) => (long)Math.Round(d * setup.Sizes[l] * setup.Sizes[l + 1]))];
        var pairs = setup.Sizes.Zip(setup.Sizes.Skip(1), (a, b) => (long)a * b).Sum();
        var startFactor = method switch { "gradual" or "earlycrop" => double.PositiveInfinity, "gradual-5x" or "earlycrop-5x" => 5, _ => 1 };
        var network = SparseNetwork.CreateMlp(setup.Sizes, setup.Activation, epsilon, seed, setup.Dropout,
            normalization: InputNormalization.Fit(setup.Train, NormalizationKind.Standardize),
            densities: startFactor == 1 ? null : [.. targetDensities.Select(d => Math.Min(1, d * startFactor))]);
        Optimizer optimizer = setup.Sgd
            ? new Sgd(setup.LearningRate, momentum: 0.9f, nesterov: setup.Nesterov, weightDecay: setup.WeightDecay)
            : new Adam(setup.LearningRate, weightDecay: setup.WeightDecay, decoupled: true);
        // Sup-tickets (METHOD-sup): 3 cycles in the last tenth of training around the method, as TrainingRecipe sets them
        // (the reference's commands: 3 cycles of 8 epochs in 250).
        var sup = method.EndsWith("-sup", StringComparison.Ordinal);
        var (pretrain, cycle) = new TrainingRecipe { Epochs = setup.Epochs, SupTickets = 3 }.SupTicketsPhases;
        // Sup-tickets' cycles run from where this schedule ends (over the epochs before them) to 5x that and back.
        var baseSchedule = setup.StepDecay ? LearningRateSchedule.Milestones(0.1f, 0.5, 0.75)
            : setup.Sgd ? LearningRateSchedule.Constant : LearningRateSchedule.Cosine(setup.LearningRate / 50);
        var options = new TrainerOptions
        {
            Epochs = setup.Epochs,
            BatchSize = setup.BatchSize,
            Seed = seed,
            Schedule = sup ? new SupTicketsSchedule(baseSchedule, pretrain, cycle) : baseSchedule,
        };
        var trainer = new Trainer(network, new SoftmaxCrossEntropy(), optimizer, options);
        EvolutionHook Epochly(TopologyEvolver evolver, int sampleRows = 0) =>
            new(BrokenEvolver.Break(evolver, inject, seed), EvolutionSchedule.EveryEpoch(setup.Zeta)) { SampleRows = sampleRows };
        EvolutionHook Stepwise(TopologyEvolver evolver) => new(BrokenEvolver.Break(evolver, inject, seed), EvolutionSchedule.CosineDecayPerEpoch(0.3, timesPerEpoch: 2, endFraction: 0.75));
        ITrainingHook[] hooks = (sup ? method[..^"-sup".Length] : method) switch
        {
            "static" => [],
            "set" => [Epochly(TopologyEvolver.Set(seed))],
            "set-steps" => [Stepwise(TopologyEvolver.Set(seed))],
            "rigl" => [Epochly(TopologyEvolver.RigL())],
            "rigl-steps" => [Stepwise(TopologyEvolver.RigL())],
            "rigl-bounded" => [Stepwise(TopologyEvolver.RigL(exactScores: 0))],
            "ctre" => [Epochly(TopologyEvolver.Ctre(CtreVariant.Plain, seed))],
            "ctre-sim" => [Epochly(TopologyEvolver.Ctre(CtreVariant.Sim, seed))],
            "ctre-seq" => [Epochly(TopologyEvolver.Ctre(CtreVariant.Seq, seed))],
            "ctre-batch" => [Epochly(TopologyEvolver.Ctre(CtreVariant.Plain, seed), sampleRows: setup.BatchSize)],
            "neurons" => [Epochly(TopologyEvolver.Set(seed)), new NeuronPruningHook(new NeuronImportancePruner(), Math.Max(1, setup.Epochs / 4), Math.Max(1, setup.Epochs / 4))],
            "earlycrop" or "earlycrop-5x" => [new EarlyCropHook(targetCounts.Sum(), new TrainingRecipe { Epochs = setup.Epochs }.EarlyCropEpochs)],
            "gap" or "gap-5x" => [new GapHook(setup.Sizes.Length - 1, method == "gap" ? 1 : Math.Min(1, 5.0 * targetCounts.Sum() / pairs),
                new TrainingRecipe { Epochs = setup.Epochs }.GapPhaseEpochs(setup.Sizes.Length - 1), seed)],
            "gradual" or "gradual-5x" => [new GradualPruningHook(targetCounts, interval: 0)],
            _ when method.Split('+') is [var prune, var grow] => [Epochly(new TopologyEvolver(
                TrainingRecipe.ParsePrune(prune) == PruneMethod.Cosine ? new CosinePruner() : new MagnitudePruner(separateSigns: false),
                TrainingRecipe.ParseGrowth(grow) switch
                {
                    GrowthMethod.Random => new RandomRegrower(seed),
                    GrowthMethod.Gradient => new GradientRegrower(),
                    _ => new CosineRegrower(CtreVariant.Plain, seed),
                }))],
            _ => throw new ArgumentException(method),
        };
        if (sup)
        {
            // The method's schedule ends where the cycles begin; the Sup-tickets hook rewires at each cycle's start.
            hooks = [.. hooks.Select(h => h is EvolutionHook e ? new EvolutionHook(e.Evolver, EvolutionSchedule.Before(e.Schedule, pretrain)) { SampleRows = e.SampleRows } : h)];
            trainer.Hooks.Add(new SupTicketsHook(pretrain, cycle, hooks.OfType<EvolutionHook>().FirstOrDefault()));
        }

        foreach (var hook in hooks)
        {
            trainer.Hooks.Add(hook);
        }
        var connections = network.ConnectionCount;
        var watch = Stopwatch.StartNew();
        var history = trainer.Fit(setup.Train, setup.Test);
        var accuracies = history.Epochs.Select(e => (double)e.TestAccuracy!.Value).ToArray();
        return new RunResult(accuracies[^1], accuracies.Max(), watch.Elapsed.TotalSeconds, history.Epochs.Sum(e => e.EvolutionSeconds), connections);
    }

    private sealed record RunResult(double Final, double Best, double Seconds, double EvolutionSeconds, long Connections);

    private sealed record Row(string Data, double Epsilon, int Epochs, string Method, RunResult[] Runs)
    {
        public string Key => $"{Data}/eps{Epsilon.ToString(CultureInfo.InvariantCulture)}/{Epochs}ep/{Method}";

        public double Mean => Runs.Average(r => r.Final);

        public double Std => StandardDeviation(Runs.Select(r => r.Final));

        public string Markdown()
        {
            var seconds = Runs.Average(r => r.Seconds);
            var evolving = Runs.Average(r => r.EvolutionSeconds) / seconds;
            return $"| {Data} | {Epsilon.ToString(CultureInfo.InvariantCulture)} | {Runs[0].Connections:N0} | {Epochs} | {Method} | " +
                $"{Mean * 100:F2} ± {Std * 100:F2} % | {Runs.Average(r => r.Best) * 100:F2} % | {seconds:F1} | {evolving * 100:F1} % |";
        }

        public JsonObject ToJson() => new()
        {
            ["mean"] = Mean,
            ["std"] = Std,
            ["best"] = Runs.Average(r => r.Best),
            ["finals"] = new JsonArray([.. Runs.Select(r => JsonValue.Create(r.Final))]),
            ["seconds"] = Runs.Average(r => r.Seconds),
            ["evolution_seconds"] = Runs.Average(r => r.EvolutionSeconds),
            ["connections"] = Runs[0].Connections,
        };

        private static double StandardDeviation(IEnumerable<double> values)
        {
            var v = values.ToArray();
            if (v.Length < 2)
            {
                return 0;
            }

            var mean = v.Average();
            return Math.Sqrt(v.Sum(x => (x - mean) * (x - mean)) / (v.Length - 1));
        }
    }

    private sealed record Setup(string Name, Dataset Train, Dataset Test, int[] Sizes, ActivationKind Activation, int Epochs, int BatchSize, float LearningRate, float Dropout, float WeightDecay)
    {
        /// <summary>SGD with momentum 0.9, L2 <see cref="WeightDecay"/> and a constant rate (or <see cref="StepDecay"/>), instead of Adam with a cosine schedule.</summary>
        public bool Sgd { get; init; }

        /// <summary>With <see cref="Sgd"/>: Nesterov's momentum rather than the classic (PyTorch's default).</summary>
        public bool Nesterov { get; init; } = true;

        /// <summary>With <see cref="Sgd"/>: tenfold decays at 50 % and 75 % of training instead of a constant rate.</summary>
        public bool StepDecay { get; init; }

        /// <summary>The fraction the per-epoch methods rewire.</summary>
        public double Zeta { get; init; } = 0.3;

        public static Setup For(string data, bool longBudget)
        {
            var factor = longBudget ? 5 : 1;
            var (kind, path) = data.IndexOf(':') is var colon and > 0 ? (data[..colon], data[(colon + 1)..]) : (data, string.Empty);
            switch (kind)
            {
                case "digits":
                {
                    var file = path.Length > 0 ? path : Path.Combine(AppContext.BaseDirectory, "data", "digits.csv.gz");
                    var (train, test) = CsvDataset.LoadClassification(file).Data.Split(0.2, seed: 42);
                    return new Setup("digits", train, test, [64, 256, 256, 10], ActivationKind.Relu, 20 * factor, 32, 0.003f, 0f, 1e-4f);
                }

                case "fashion-mnist" or "mnist":
                {
                    // scripts/fetch-datasets writes both files without a header, the label last.
                    var train = CsvDataset.LoadClassification(Path.Combine(path, "train.csv"));
                    var test = train.Schema.ToDataset(CsvTableReader.Read(Path.Combine(path, "test.csv"), train.Schema, header: false, requireLabel: true));
                    return new Setup(kind, train.Data, test, [784, 1000, 1000, 1000, 10], ActivationKind.AllRelu, 15 * factor, 128, 0.001f, 0.3f, 5e-4f);
                }

                case "wide":
                {
                    var (train, test) = CsvDataset.LoadClassification(path, hasHeader: true).Data.Split(0.2, seed: 42);
                    return new Setup("wide", train, test, [5000, 256, 256, 3], ActivationKind.Relu, 20 * factor, 32, 0.003f, 0f, 1e-4f);
                }

                case "madelon":
                {
                    // CTRE's reference script (run.sbatch): 3 x 1,000 ReLU, SGD 0.01 with Nesterov momentum 0.9, L2 1e-4,
                    // batch 100, zeta 0.2 after every epoch, 500 epochs. MADELON's 2,000 training and 600 test rows of 500 columns.
                    // madelon:EPOCHS:COLUMNS:WIDTH shrinks it (scripts/quality-check: a smaller table and network in seconds).
                    var parts = path.Split(':', StringSplitOptions.RemoveEmptyEntries).Select(p => int.Parse(p, CultureInfo.InvariantCulture)).ToArray();
                    var epochs = parts.Length > 0 ? parts[0] : 100 * factor;
                    var columns = parts.Length > 1 ? parts[1] : 500;
                    var width = parts.Length > 2 ? parts[2] : 1000;
                    var (all, _) = Madelon.Generate(2600, columns, 11);
                    var train = all.Subset([.. Enumerable.Range(0, 2000)]);
                    var test = all.Subset([.. Enumerable.Range(2000, 600)]);
                    var name = parts.Length > 1 ? $"madelon{columns}x{width}" : "madelon";
                    return new Setup(name, train, test, [columns, width, width, width, 2], ActivationKind.Relu, epochs, 100, 0.01f, 0f, 1e-4f) { Sgd = true, Zeta = 0.2 };
                }

                default:
                    throw new ArgumentException($"unknown data {data}: digits, fashion-mnist:DIR, mnist:DIR, wide:FILE or madelon[:EPOCHS]");
            }
        }
    }
}
