using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Sparse.Core;
using Sparse.Topology;
using Sparse.Training;

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
    private const int Repeats = 9;

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

        // Warm every path first, so tiered compilation has settled before anything is timed.
        bool Wanted(string name) => filter is null || name.Contains(filter, StringComparison.OrdinalIgnoreCase);
        var figures = Figures(Wanted).Where(f => Wanted(f.Name)).Select(Slowed).ToList();
        Time(Calibration, 3, 0.05);
        foreach (var figure in figures)
        {
            Time(figure.Call, 3, Math.Max(figure.MinimumSeconds / 2, 0.1));
        }

        // Memory-bound figures also get a probe of their own kind: random 128-byte row gathers over 256 MiB, which a
        // GEMM's speed does not predict across machines or loads.
        var gathers = figures.Any(f => f.MemoryBound) ? new GatherProbe(256) : null;
        if (gathers is not null)
        {
            Time(gathers.Run, 3, 0.05);
        }

        Thread.Sleep(300);

        // Each sample of a figure is divided by a calibration sample taken right before it, so a slowdown
        // of the whole machine (another tenant, a lower clock) cancels out sample by sample.
        var calibration = new List<double>();
        var results = new List<(string Name, double Seconds, double Relative, double Spread, double? RelativeToGathers)>();
        foreach (var figure in figures)
        {
            var ratios = new double[figure.Repeats];
            var gatherRatios = new double[figure.Repeats];
            var seconds = new double[figure.Repeats];
            for (var r = 0; r < figure.Repeats; r++)
            {
                var unitSample = Time(Calibration, 1, 0.02, warm: false)[0];
                calibration.Add(unitSample);
                var gatherSample = figure.MemoryBound ? Time(gathers!.Run, 1, 0.02, warm: false)[0] : 0;
                seconds[r] = Time(figure.Call, 1, figure.MinimumSeconds, warm: false)[0];
                ratios[r] = seconds[r] / unitSample;
                gatherRatios[r] = figure.MemoryBound ? seconds[r] / gatherSample : 0;
            }

            var relative = Median(ratios);
            results.Add((figure.Name, Median(seconds), relative, (Quantile(ratios, 0.75) - Quantile(ratios, 0.25)) / relative, figure.MemoryBound ? Median(gatherRatios) : null));
        }

        var unit = Median([.. calibration]);
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
        Console.WriteLine($"{"figure",-28} {"seconds",10} {"relative",9} {"baseline",9} {"change",8} {"spread",7}  status   (spread: interquartile range of the ratios over their median)");
        var failed = 0;
        foreach (var (name, seconds, gemmRelative, spread, toGathers) in results)
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

    private sealed record Figure(string Name, Action Call, int Repeats, double MinimumSeconds, bool MemoryBound = false);

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

    private static Figure Slowed(Figure figure)
    {
        var setting = Environment.GetEnvironmentVariable(SlowdownVariable);
        if (setting?.Split(':') is not [var name, var fraction] || name != figure.Name)
        {
            return figure;
        }

        var factor = double.Parse(fraction, CultureInfo.InvariantCulture);
        Console.Error.WriteLine($"perf-check: {figure.Name} slowed by {factor:P0} on purpose ({SlowdownVariable})");
        return figure with
        {
            Call = () =>
            {
                var start = Stopwatch.GetTimestamp();
                figure.Call();
                var until = Stopwatch.GetTimestamp() + (long)((Stopwatch.GetTimestamp() - start) * factor);
                while (Stopwatch.GetTimestamp() < until)
                {
                    Thread.SpinWait(20);
                }
            },
        };
    }

    // Only the wanted figures are built: the wide workloads take seconds and a gigabyte, which a filtered run skips.
    private static IEnumerable<Figure> Figures(Func<string, bool> wanted)
    {
        if (wanted("kernel.forward") || wanted("kernel.input_gradient") || wanted("kernel.weight_gradient"))
        {
            var kernel = KernelWorkload.Get("1000->1000");
            yield return new("kernel.forward", () => SparseOps.Multiply(kernel.Weights, kernel.X.Span, kernel.Bias, kernel.Y.Span, kernel.Batch), Repeats, 0.05);
            yield return new("kernel.input_gradient", () => SparseOps.MultiplyTransposed(kernel.Weights, kernel.Dy.Span, kernel.Dx.Span, kernel.Batch), Repeats, 0.05);
            yield return new("kernel.weight_gradient", () => SparseOps.WeightGradient(kernel.Weights, kernel.Dy.Span, kernel.X.Span, kernel.Dw, kernel.Batch), Repeats, 0.05);
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
            }, 5, 0);
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
            }, 5, 0, MemoryBound: true);
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
            }, 3, 0, MemoryBound: true);
        }

        var gradient = new float[10 * W1.BatchSize];
        var loss = new SoftmaxCrossEntropy();
        if (wanted("w1.train_step") || wanted("w1.epoch") || wanted("w1.set_step"))
        {
            var network = W1.Network();
            var loader = new BatchLoader(W1.Data, W1.BatchSize, null, shuffle: true, seed: 1);
            var optimizer = new Sgd(0.01f, momentum: 0.9f);
            yield return new("w1.train_step", () => W1.Step(network, loader, optimizer, gradient, loss), 2 * Repeats, 0.1);
            yield return new("w1.epoch", () =>
            {
                loader.StartEpoch(0);
                for (var b = 0; b < loader.BatchesPerEpoch; b++)
                {
                    W1.Step(network, loader, optimizer, gradient, loss);
                }
            }, Repeats, 0);

            var set = TopologyEvolver.Set(seed: 5);
            yield return new("w1.set_step", () => set.Evolve(network, optimizer, 0.3), Repeats, 0.05);
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
            }, 5, 0);
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
            yield return new("layer.rigl_step", () => rigl.EvolveLayer(layer, null, 0.3, signals), 5, 0.05);
            yield return new("layer.ctre_step", () => ctre.EvolveLayer(layer, null, 0.3, signals), 5, 0.05);
        }
    }

    /// <summary>Seconds per call: <paramref name="repeats"/> samples, each at least <paramref name="minimumSeconds"/> long.</summary>
    internal static double[] Time(Action call, int repeats, double minimumSeconds, bool warm = true)
    {
        if (warm)
        {
            call();
        }

        var samples = new double[repeats];
        for (var r = 0; r < repeats; r++)
        {
            var calls = 0;
            var watch = Stopwatch.StartNew();
            do
            {
                call();
                calls++;
            }
            while (watch.Elapsed.TotalSeconds < minimumSeconds);
            samples[r] = watch.Elapsed.TotalSeconds / calls;
        }

        return samples;
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
