using System.Text.Json;
using System.Text.Json.Nodes;

namespace Sparse.Bench;

/// <summary>
/// <c>perf-check</c>: the performance regression gate. Times a quick set of figures (kernels, a W1 step,
/// a W1 epoch, SET/RigL/CTRE steps), each as the median of repeats divided by the median of a calibration
/// kernel (a dense GEMM) timed between them in the same run, so machines of different speed compare.
/// Writes the results as JSON, compares them with the committed baseline, prints a table, and exits 1
/// when a figure is slower than its baseline by more than the threshold.
/// </summary>
internal static partial class PerfCheck
{
    // The quantile of a figure's call times that stands for it.
    private const double FastQuantile = 0.1;

    // Seconds of one block of calls: between two calibration calls here, and between the two builds' turns in perf-pair.
    private const double BlockSeconds = 0.05;

    /// <summary>
    /// <c>FIGURE:FRACTION</c> (for example <c>kernel.forward:0.10</c>, or <c>all:0.10</c> for every figure): the figure's
    /// calls are followed by a busy wait of that fraction of their own time, a slowdown on purpose that proves the gate
    /// catches one. Read only here.
    /// </summary>
    public const string SlowdownVariable = "SPARSE_BENCH_SLOWDOWN";

    public static int Run(string[] args)
    {
        var threshold = 0.15;
        string? filter = null;
        var update = false;
        var baselinePath = Path.Combine(RepositoryRoot(), "Sparse.Bench", "perf-baseline.json");
        var output = "perf-results.json";
        var userFigures = File.Exists(UserFiguresFile) ? UserFiguresFile : null;
        for (var n = 0; n < args.Length; n++)
        {
            switch (args[n])
            {
                case "--threshold":
                    threshold = double.Parse(args[++n], CultureInfo.InvariantCulture);
                    break;
                case "--filter":
                    filter = args[++n];
                    break;
                case "--update-baseline":
                    update = true;
                    break;
                case "--baseline":
                    baselinePath = args[++n];
                    break;
                case "--output":
                    output = args[++n];
                    break;
                case "--figures":
                    userFigures = args[++n];
                    break;
                default:
                    Console.Error.WriteLine($"perf-check: unknown option '{args[n]}'. Options: --threshold 0.15, --filter TEXT, --update-baseline, --baseline FILE, --output FILE, --figures FILE (user figures; {UserFiguresFile} when present)");
                    return 2;
            }
        }

        var gemm = KernelWorkload.Get("1000->1000");
        var dense = gemm.DenseWeights();
        void Calibration() => DenseGemm.Multiply(dense, gemm.X.Span, gemm.Y.Span, 1000, 1000, gemm.Batch);

        // Warm every path first, so compilation has settled before anything is timed.
        var slowdown = Environment.GetEnvironmentVariable(SlowdownVariable);
        bool IsWanted(string name) => Matches(filter, name);
        List<UserModel> models;
        try
        {
            models = userFigures is null ? [] : ReadUserFigures(userFigures);
        }
        catch (Exception e) when (e is InvalidDataException or IOException)
        {
            Console.Error.WriteLine($"perf-check: {e.Message}");
            return 2;
        }

        var figures = Wanted(filter).Concat(UserFigures(models, IsWanted).Where(f => IsWanted(f.Name))).Select(f => Slowed(f, slowdown)).ToList();
        Repeat(Calibration, 3, 0.05);
        foreach (var figure in figures)
        {
            Warm(figure.Call, figure.BudgetSeconds);
        }

        // Memory-bound figures also get a probe of their own kind: random 128-byte row gathers over 256 MiB, which a
        // GEMM's speed does not predict across machines or loads.
        var gathers = figures.Any(f => f.MemoryBound) ? new GatherProbe(256) : null;
        if (gathers is not null)
        {
            Repeat(gathers.Run, 3, 0.05);
        }

        Thread.Sleep(300);

        // Every call is timed on its own, and a figure is the fast tail (the 10th percentile) of its calls: another
        // tenant or a descheduled worker thread only ever adds time to a call, so the fast calls are the ones the
        // code's own speed decides. Over 12 processes of one build, kernel.forward's 10th percentile varied by 1.0 %
        // (standard deviation over mean) and its median call by 4.8 % (docs/performance.md, "The regression gate").
        // Blocks of calls alternate with calibration calls, so the calibration sees the same minutes of the machine.
        var calibration = new List<double>();
        var results = new List<(string Name, double Seconds, double Relative, double Spread, double? RelativeToGathers, int Calls)>();
        foreach (var figure in figures)
        {
            var calls = new CallTimes(figure.Calls, figure.BudgetSeconds);
            var units = new List<double>();
            var gatherUnits = new List<double>();
            while (calls.More)
            {
                units.Add(TimeCall(Calibration));
                if (figure.MemoryBound)
                {
                    gatherUnits.Add(TimeCall(gathers!.Run));
                }

                calls.Block(figure.Timed);
            }

            calibration.AddRange(units);
            var fast = calls.Fast;
            var median = Quantile([.. calls.Seconds], 0.5);
            results.Add((figure.Name, fast, fast / Quantile([.. units], FastQuantile), (median - fast) / fast,
                figure.MemoryBound ? fast / Quantile([.. gatherUnits], FastQuantile) : null, calls.Seconds.Count));
        }

        foreach (var figure in figures)
        {
            figure.Resources?.Dispose();
        }

        var unit = Quantile([.. calibration], FastQuantile);
        var json = new JsonObject
        {
            ["machine"] = $"{Environment.ProcessorCount} cores, {ComputeOptions.BestSimd}, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}",
            ["calibration_seconds"] = unit,
            ["figures"] = new JsonObject(results.Select(r =>
            {
                var figure = new JsonObject
                {
                    ["seconds"] = r.Seconds,
                    ["relative"] = r.Relative,
                    ["spread"] = r.Spread,
                    ["calls"] = r.Calls,
                };
                if (r.RelativeToGathers is { } g)
                {
                    figure["relative_to_gathers"] = g;
                }

                return new KeyValuePair<string, JsonNode?>(r.Name, figure);
            })),
        };
        var text = System.Text.Encoding.UTF8.GetBytes(json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        File.WriteAllBytes(output, text);
        if (update)
        {
            AtomicFile.Write(baselinePath, stream => stream.Write(text));
            Console.WriteLine($"baseline written to {baselinePath}");
        }

        var baseline = File.Exists(baselinePath) ? JsonNode.Parse(File.ReadAllText(baselinePath))?["figures"] : null;
        Console.WriteLine($"calibration (dense GEMM 1000x1000x128): {unit * 1e3:F3} ms; threshold {threshold:P0}");
        Console.WriteLine($"{"figure",-28} {"seconds",10} {"relative",9} {"baseline",9} {"change",8} {"spread",7}  status   (seconds: the 10th percentile of the calls; spread: how much slower the median call is)");
        var failed = 0;
        foreach (var (name, seconds, gemmRelative, spread, toGathers, _) in results)
        {
            // A memory-bound figure is compared through the gather probe when the baseline has that ratio.
            var byGathers = toGathers is not null && baseline?[name]?["relative_to_gathers"] is not null;
            var relative = byGathers ? toGathers!.Value : gemmRelative;
            var expected = baseline?[name]?[byGathers ? "relative_to_gathers" : "relative"]?.GetValue<double>();
            var change = expected is { } e ? (relative / e) - 1 : (double?)null;
            var status = change is null ? "new" : change > threshold ? "SLOWER" : "ok";
            if (status == "SLOWER")
            {
                failed++;
            }

            Console.WriteLine($"{name,-28} {seconds,10:F5} {relative,9:F3} {(expected is { } b ? b.ToString("F3", CultureInfo.InvariantCulture) : "-"),9} {(change is { } c ? (c >= 0 ? "+" : string.Empty) + c.ToString("P1", CultureInfo.InvariantCulture).Replace(" ", string.Empty, StringComparison.Ordinal) : "-"),8} {spread,7:P0}  {status}{(byGathers ? " (against the gather probe)" : string.Empty)}");
        }

        Console.WriteLine($"wrote {output}");
        if (failed > 0)
        {
            Console.Error.WriteLine($"perf-check: {failed} figure(s) slower than the baseline by more than {threshold:P0}.");
            return 1;
        }

        return 0;
    }

    /// <summary>
    /// This build's figures for <c>perf-compare</c>'s paired mode, which loads two builds' benches into one process
    /// (each in an <see cref="System.Runtime.Loader.AssemblyLoadContext"/> of its own) and alternates their calls.
    /// Only the runtime library's types cross between the builds: a figure is its name, a call that returns the seconds
    /// it counts, its budget and least number of calls, and what to dispose after it. Found by name through reflection.
    /// </summary>
    /// <param name="filter">Only figures whose name contains it; null for all.</param>
    /// <param name="slowdown">A <see cref="SlowdownVariable"/> setting for this build alone, or null.</param>
    internal static List<(string Name, Func<double> Call, double BudgetSeconds, int Calls, IDisposable? Resources)> Load(string? filter, string? slowdown) =>
        [.. Wanted(filter).Select(f => Slowed(f, slowdown)).Select(f => (f.Name, f.Timed, f.BudgetSeconds, f.Calls, f.Resources))];

    /// <summary>
    /// <see cref="Load"/> with each figure's parts (<see cref="Figure.Parts"/>, none for a figure of whole calls), which
    /// perf-pair times in turns with the other builds' parts when every build has the same number. A build without
    /// this method (before parts) is timed by whole calls.
    /// </summary>
    internal static List<(string Name, Func<double> Call, double BudgetSeconds, int Calls, IDisposable? Resources, Func<double>[] Parts)> LoadWithParts(string? filter, string? slowdown) =>
        [.. Wanted(filter).Select(f => Slowed(f, slowdown)).Select(f => (f.Name, f.Timed, f.BudgetSeconds, f.Calls, f.Resources, f.TimedParts))];

    private static IEnumerable<Figure> Wanted(string? filter) => Figures(name => Matches(filter, name)).Where(f => Matches(filter, f.Name));

    /// <summary>Whether a figure's name passes a <c>--filter</c>: it contains the filter, in any case; every name passes null.</summary>
    private static bool Matches(string? filter, string name) => filter is null || name.Contains(filter, StringComparison.OrdinalIgnoreCase);

    private static Figure Slowed(Figure figure, string? setting)
    {
        if (setting?.Split(':') is not [var name, var fraction] || (name != figure.Name && name != "all"))
        {
            return figure;
        }

        var factor = double.Parse(fraction, CultureInfo.InvariantCulture);
        Console.Error.WriteLine($"perf-check: {figure.Name} slowed by {factor:P0} on purpose ({SlowdownVariable})");
        void Wait(double seconds)
        {
            var until = Stopwatch.GetTimestamp() + (long)(seconds * factor * Stopwatch.Frequency);
            while (Stopwatch.GetTimestamp() < until)
            {
                Thread.SpinWait(20);
            }
        }

        return figure with
        {
            Call = () => Wait(TimeCall(figure.Call)),
            Parts = figure.Parts?.Select(part => (Action)(() => Wait(TimeCall(part)))).ToArray(),
            Seconds = figure.Seconds is { } own ? () =>
            {
                var seconds = own();
                Wait(seconds);
                return seconds * (1 + factor);
            }
            : null,
        };
    }

    private static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Sparse.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? Directory.GetCurrentDirectory();
    }
}
