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
internal static class PerfCheck
{
    // The quantile of a figure's call times that stands for it.
    private const double FastQuantile = 0.1;

    // Seconds of one block of calls: between two calibration calls here, and between the two builds' turns in perf-pair.
    private const double BlockSeconds = 0.05;

    /// <summary>
    /// <c>FIGURE:FRACTION</c> (for example <c>kernel.forward:0.10</c>): the figure's calls are followed by a busy wait
    /// of that fraction of their own time, a slowdown on purpose that proves the gate catches one. Read only here.
    /// </summary>
    public const string SlowdownVariable = "SPARSE_BENCH_SLOWDOWN";

    public static int Run(string[] args)
    {
        var threshold = 0.15;
        string? filter = null;
        var update = false;
        var baselinePath = Path.Combine(RepositoryRoot(), "Sparse.Bench", "perf-baseline.json");
        var output = "perf-results.json";
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
                default:
                    Console.Error.WriteLine($"perf-check: unknown option '{args[n]}'. Options: --threshold 0.15, --filter TEXT, --update-baseline, --baseline FILE, --output FILE");
                    return 2;
            }
        }

        var gemm = KernelWorkload.Get("1000->1000");
        var dense = gemm.DenseWeights();
        void Calibration() => DenseGemm.Multiply(dense, gemm.X.Span, gemm.Y.Span, 1000, 1000, gemm.Batch);

        // Warm every path first, so compilation has settled before anything is timed.
        var slowdown = Environment.GetEnvironmentVariable(SlowdownVariable);
        var figures = Wanted(filter).Select(f => Slowed(f, slowdown)).ToList();
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
    /// A timed figure: its calls are timed for at least <paramref name="BudgetSeconds"/> and <paramref name="Calls"/> calls.
    /// <paramref name="Seconds"/>, when given, makes a call and returns the seconds that count (a child process's
    /// first epoch), in place of the stopwatch around <paramref name="Call"/>; <paramref name="Resources"/> is
    /// disposed after the run.
    /// </summary>
    private sealed record Figure(string Name, Action Call, double BudgetSeconds, int Calls = 10, bool MemoryBound = false,
        Func<double>? Seconds = null, IDisposable? Resources = null)
    {
        /// <summary>One call, returning the seconds that count.</summary>
        public Func<double> Timed => Seconds ?? (() => TimeCall(Call));
    }

    /// <summary>
    /// A figure's timed calls: how many it still needs (<see cref="More"/>), blocks of them, and their 10th percentile.
    /// </summary>
    internal sealed class CallTimes(int calls, double budgetSeconds)
    {
        private double _spent;

        public List<double> Seconds { get; } = [];

        /// <summary>Whether the figure still lacks its least number of calls or its budget of seconds.</summary>
        public bool More => Seconds.Count < calls || _spent < budgetSeconds;

        /// <summary>The figure's value: the 10th percentile of its calls.</summary>
        public double Fast => Quantile([.. Seconds], FastQuantile);

        /// <summary>Times calls for one block of about <see cref="BlockSeconds"/>: at least one call, and none once the figure has enough.</summary>
        public void Block(Func<double> call)
        {
            var block = Stopwatch.StartNew();
            do
            {
                var seconds = call();
                Seconds.Add(seconds);
                _spent += seconds;
            }
            while (block.Elapsed.TotalSeconds < BlockSeconds && More);
        }
    }

    /// <summary>
    /// Runs a figure's call until compilation has settled: short calls for three samples of up to 0.1 s, long calls
    /// (budget 0) twice, once to compile and touch their memory and once more to settle.
    /// </summary>
    internal static void Warm(Action call, double budgetSeconds) =>
        Repeat(call, budgetSeconds > 0 ? 3 : 1, Math.Min(budgetSeconds / 4, 0.1));

    /// <summary>Random 128-byte row gathers over a buffer in huge pages, on all cores: the unit of memory-bound figures.</summary>
    private sealed unsafe class GatherProbe
    {
        private readonly Memory<float> _buffer;
        private readonly int[] _rows = new int[1 << 20];

        public GatherProbe(int mebibytes)
        {
            _buffer = AlignedMemory.Allocate(mebibytes << 18, hugePages: true);
            var random = new SparseRandom(9);
            var rows = _buffer.Length / 32;
            for (var k = 0; k < _rows.Length; k++)
            {
                _rows[k] = random.NextInt(rows);
            }
        }

        public void Run()
        {
            fixed (float* x = _buffer.Span)
            fixed (int* rows = _rows)
            {
                MemoryProbe.Gather(x, rows, _rows.Length, prefetch: false);
            }
        }
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

    private static IEnumerable<Figure> Wanted(string? filter)
    {
        bool Wanted(string name) => filter is null || name.Contains(filter, StringComparison.OrdinalIgnoreCase);
        return Figures(Wanted).Where(f => Wanted(f.Name));
    }

    private static Figure Slowed(Figure figure, string? setting)
    {
        if (setting?.Split(':') is not [var name, var fraction] || name != figure.Name)
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
            Seconds = figure.Seconds is { } own ? () =>
            {
                var seconds = own();
                Wait(seconds);
                return seconds * (1 + factor);
            } : null,
        };
    }

    // Only the wanted figures are built: the wide workloads take seconds and a gigabyte, which a filtered run skips.
    private static IEnumerable<Figure> Figures(Func<string, bool> wanted)
    {
        if (wanted("kernel.forward") || wanted("kernel.input_gradient") || wanted("kernel.weight_gradient"))
        {
            var kernel = KernelWorkload.Get("1000->1000");
            yield return new("kernel.forward", () => SparseOps.Multiply(kernel.Weights, kernel.X.Span, kernel.Bias, kernel.Y.Span, kernel.Batch), 0.5);
            yield return new("kernel.input_gradient", () => SparseOps.MultiplyTransposed(kernel.Weights, kernel.Dy.Span, kernel.Dx.Span, kernel.Batch), 0.5);
            yield return new("kernel.weight_gradient", () => SparseOps.WeightGradient(kernel.Weights, kernel.Dy.Span, kernel.X.Span, kernel.Dw, kernel.Batch), 0.5);
        }

        // A wide layer whose activations outgrow the cache: the three kernels with column tiling (7 tiles).
        if (wanted("kernel.wide_layer_step"))
        {
            var wide = KernelWorkload.Get("100000->100000");
            yield return new("kernel.wide_layer_step", () =>
            {
                SparseOps.Multiply(wide.Weights, wide.X.Span, wide.Bias, wide.Y.Span, wide.Batch);
                SparseOps.MultiplyTransposed(wide.Weights, wide.Dy.Span, wide.Dx.Span, wide.Batch);
                SparseOps.WeightGradient(wide.Weights, wide.Dy.Span, wide.X.Span, wide.Dw, wide.Batch);
            }, 0, Calls: 6);
        }

        // A layer too wide and sparse for column tiles (as at a million neurons): every gather comes from memory, and
        // the kernels prefetch the rows they will gather. Tiling is switched off to keep it at a size CI can build.
        if (wanted("kernel.wide_untiled_step"))
        {
            var far = KernelWorkload.Get("400000->400000@32");
            var untiled = ComputeOptions.Default with { ColumnTileBytes = 0 };
            yield return new("kernel.wide_untiled_step", () =>
            {
                SparseOps.Multiply(far.Weights, far.X.Span, far.Bias, far.Y.Span, far.Batch, untiled);
                SparseOps.MultiplyTransposed(far.Weights, far.Dy.Span, far.Dx.Span, far.Batch, untiled);
                SparseOps.WeightGradient(far.Weights, far.Dy.Span, far.X.Span, far.Dw, far.Batch, untiled);
            }, 0, Calls: 6, MemoryBound: true);
        }

        // The same step gathering bfloat16 rows (Precision.Bf16): half the bytes per gathered row.
        if (wanted("kernel.wide_untiled_step_bf16"))
        {
            var far = KernelWorkload.Get("400000->400000@32");
            yield return new("kernel.wide_untiled_step_bf16", () =>
            {
                SparseOps.Multiply(far.Weights, far.XHalf.Span, far.Bias, far.Y.Span, far.Batch);
                SparseOps.MultiplyTransposed(far.Weights, far.DyHalf.Span, far.Dx.Span, far.Batch);
                SparseOps.WeightGradient(far.Weights, far.Dy.Span, far.XHalf.Span, far.Dw, [], far.Batch);
            }, 0, Calls: 5, MemoryBound: true);
        }

        var gradient = new float[10 * W1.BatchSize];
        var loss = new SoftmaxCrossEntropy();
        if (wanted("w1.train_step") || wanted("w1.epoch") || wanted("w1.set_step"))
        {
            var network = W1.Network();
            var loader = new BatchLoader(W1.Data, W1.BatchSize, null, shuffle: true, seed: 1);
            var optimizer = new Sgd(0.01f, momentum: 0.9f);
            yield return new("w1.train_step", () => W1.Step(network, loader, optimizer, gradient, loss), 0.5);
            yield return new("w1.epoch", () =>
            {
                loader.StartEpoch(0);
                for (var b = 0; b < loader.BatchesPerEpoch; b++)
                {
                    W1.Step(network, loader, optimizer, gradient, loss);
                }
            }, 0, Calls: 8);

            var set = TopologyEvolver.Set(seed: 5);
            yield return new("w1.set_step", () => set.Evolve(network, optimizer, 0.3), 0.3);
        }

        if (wanted("w1.epoch_bf16"))
        {
            var network = W1.Network();
            network.Precision = Precision.Bf16;
            var loader = new BatchLoader(W1.Data, W1.BatchSize, null, shuffle: true, seed: 1);
            var optimizer = new Sgd(0.01f, momentum: 0.9f);
            yield return new("w1.epoch_bf16", () =>
            {
                loader.StartEpoch(0);
                for (var b = 0; b < loader.BatchesPerEpoch; b++)
                {
                    W1.Step(network, loader, optimizer, gradient, loss);
                }
            }, 0, Calls: 6);
        }

        // The first epoch of a fresh `sparse train` process; a build without the CLI beside it (before this figure) has none.
        if (wanted("cli.first_epoch") && FirstEpoch.Create() is { } firstEpoch)
        {
            yield return new("cli.first_epoch", () => firstEpoch.Run(), 0, Calls: 3, Seconds: firstEpoch.Run, Resources: firstEpoch);
        }

        // RigL and CTRE score a 1000 -> 1000 layer of its own from signals of a W1 step.
        if (wanted("layer.rigl_step") || wanted("layer.ctre_step"))
        {
            var scored = W1.Network(seed: 2);
            var recorder = new SignalRecorder(SignalKinds.OutputGradients);
            W1.Step(scored, new BatchLoader(W1.Data, W1.BatchSize, null, shuffle: false, seed: 1), new Sgd(0.01f), gradient, loss, recorder);
            var layer = scored.SparseLayers.ElementAt(1);
            var signals = recorder.Of(layer);
            var rigl = TopologyEvolver.RigL();
            var ctre = TopologyEvolver.Ctre(seed: 5);
            yield return new("layer.rigl_step", () => rigl.EvolveLayer(layer, null, 0.3, signals), 0.3);
            yield return new("layer.ctre_step", () => ctre.EvolveLayer(layer, null, 0.3, signals), 0.3);
        }
    }

    internal static double TimeCall(Action call)
    {
        var start = Stopwatch.GetTimestamp();
        call();
        return Stopwatch.GetElapsedTime(start).TotalSeconds;
    }

    /// <summary>Warms <paramref name="call"/>: one call, then <paramref name="repeats"/> runs of calls, each at least <paramref name="minimumSeconds"/> long.</summary>
    private static void Repeat(Action call, int repeats, double minimumSeconds)
    {
        call();
        for (var r = 0; r < repeats; r++)
        {
            var watch = Stopwatch.StartNew();
            do
            {
                call();
            }
            while (watch.Elapsed.TotalSeconds < minimumSeconds);
        }
    }

    internal static double Quantile(double[] samples, double q)
    {
        var sorted = samples.Order().ToArray();
        var position = q * (sorted.Length - 1);
        var low = (int)Math.Floor(position);
        var high = Math.Min(sorted.Length - 1, low + 1);
        return sorted[low] + ((position - low) * (sorted[high] - sorted[low]));
    }

    internal static double Median(double[] samples)
    {
        var sorted = samples.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
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
