namespace Sparse.Bench;

/// <summary>
/// <c>epoch</c>: workload W1 (784-1000-1000-1000-10, ReLU, Erdos-Renyi epsilon 20, SGD momentum 0.9,
/// batch 128, 10,000 seeded uniform samples), seconds per epoch, and the share of the epoch each
/// kernel takes (each kernel timed alone on the same layers and batch count).
/// </summary>
internal static class QuickEpoch
{
    private const int Samples = W1.Samples;
    private const int BatchSize = W1.BatchSize;

    public static void Run(int epochs, bool evolve)
    {
        var data = W1.Data;
        var network = W1.Network();
        var trainer = new Trainer(network, new SoftmaxCrossEntropy(), new Sgd(0.01f, momentum: 0.9f), new TrainerOptions { Epochs = epochs, BatchSize = BatchSize });
        if (evolve)
        {
            trainer.Hooks.Add(new EvolutionHook(TopologyEvolver.Set(seed: 3), EvolutionSchedule.EveryEpoch(0.3)));
        }

        var history = trainer.Fit(data);
        if (evolve)
        {
            var steps = history.Epochs.Take(epochs - 1).Select(e => e.EvolutionSeconds).Order().ToArray();
            Console.WriteLine($"SET step (zeta 0.3, all hidden layers): median {steps[steps.Length / 2] * 1000:F1} ms");
        }

        var seconds = history.Epochs.Skip(1).Select(e => e.Seconds).Order().ToArray();
        var epoch = seconds[seconds.Length / 2];
        Console.WriteLine($"W1: {network.ConnectionCount:N0} connections, {network.Compute.Threads} threads, {network.Compute.Simd}");
        Console.WriteLine($"seconds per epoch (median of epochs 2..{epochs}): {epoch:F3}  (all: {string.Join(", ", history.Epochs.Select(e => e.Seconds.ToString("F3", System.Globalization.CultureInfo.InvariantCulture)))})");

        // The same kernel calls an epoch makes, one kernel at a time: full batches plus the short last one.
        var layers = network.SparseLayers.ToArray();
        var batches = new[] { (Size: BatchSize, Count: Samples / BatchSize), (Size: Samples % BatchSize, Count: 1) };
        double Time(Action<SparseLinear, int, float[], float[]> kernel, bool skipFirst)
        {
            var x = AlignedMemory.Allocate(1000 * BatchSize).ToArray();
            var y = AlignedMemory.Allocate(1000 * BatchSize).ToArray();
            var best = double.MaxValue;
            for (var repeat = 0; repeat < 5; repeat++)
            {
                var watch = Stopwatch.StartNew();
                foreach (var (size, count) in batches)
                {
                    for (var b = 0; b < count; b++)
                    {
                        foreach (var layer in skipFirst ? layers.Skip(1) : layers)
                        {
                            kernel(layer, size, x, y);
                        }
                    }
                }

                best = Math.Min(best, watch.Elapsed.TotalSeconds);
            }

            return best;
        }

        // As the network runs them: the hidden layers fused with their ReLU forward, and the input gradient
        // through the ReLU below (the gate is another buffer of the same shape).
        var gate = AlignedMemory.Allocate(1000 * BatchSize).ToArray();
        var random = new SparseRandom(5);
        for (var k = 0; k < gate.Length; k++)
        {
            gate[k] = (float)random.NextDouble() - 0.5f;
        }

        var last = layers[^1];
        var forward = Time((l, n, x, y) =>
        {
            if (l == last)
            {
                SparseOps.Multiply(l.Weights, x.AsSpan(0, l.InputSize * n), l.Bias, y.AsSpan(0, l.OutputSize * n), n);
            }
            else
            {
                SparseOps.MultiplyRelu(l.Weights, x.AsSpan(0, l.InputSize * n), l.Bias, y.AsSpan(0, l.OutputSize * n), n);
            }
        }, false);
        var inputGradient = Time((l, n, x, y) => SparseOps.MultiplyTransposedGated(l.Weights, y.AsSpan(0, l.OutputSize * n), gate.AsSpan(0, l.InputSize * n), x.AsSpan(0, l.InputSize * n), n), true);
        var weightGradient = Time((l, n, x, y) => SparseOps.WeightGradient(l.Weights, y.AsSpan(0, l.OutputSize * n), x.AsSpan(0, l.InputSize * n), l.WeightParameter.Gradient, l.BiasParameter.Gradient, n), false);
        Report("forward", forward, epoch);
        Report("input gradient", inputGradient, epoch);
        Report("weight gradient", weightGradient, epoch);
        Report("everything else", epoch - forward - inputGradient - weightGradient, epoch);
        Pieces(network, data, epoch);
        var flops = 2.0 * network.ConnectionCount * Samples * 3;
        Console.WriteLine($"kernels reach {flops / (forward + inputGradient + weightGradient) / 1e9:F1} GFLOP/s; whole epoch {flops / epoch / 1e9:F1} GFLOP/s (6 x nnz x samples)");
    }

    // The non-kernel work of an epoch, piece by piece, each timed over one epoch's batches.
    private static void Pieces(SparseNetwork network, Dataset data, double epoch)
    {
        var loader = new BatchLoader(data, BatchSize, null, shuffle: true, seed: 1);
        var loss = new SoftmaxCrossEntropy();
        var optimizer = new Sgd(0.01f, momentum: 0.9f);
        var gradient = new float[10 * BatchSize];
        var output = new float[10 * BatchSize];
        double Time(Action step)
        {
            var watch = Stopwatch.StartNew();
            loader.StartEpoch(0);
            while (loader.Next())
            {
                step();
            }

            return watch.Elapsed.TotalSeconds;
        }

        var batching = Time(() => { });
        Report("  batching", batching, epoch);
        Report("  loss", Time(() => loss.Compute(output.AsSpan(0, 10 * loader.Batch.Size), loader.Batch, gradient)) - batching, epoch);
        Report("  optimizer", Time(() => optimizer.Step(network.Parameters)) - batching, epoch);
    }

    /// <summary>W2: 784-100,000-100,000-10 at epsilon 20, batch 128 (or as given), 2,000 samples; seconds per epoch and peak memory.</summary>
    public static void RunWide(int epochs, int batchSize)
    {
        var data = W1.UniformData(2_000, 784, 10, seed: 11);
        var watch = Stopwatch.StartNew();
        var network = SparseNetwork.CreateMlp([784, 100_000, 100_000, 10], ActivationKind.Relu, epsilon: 20, seed: 1);
        Console.WriteLine($"W2: {network.ConnectionCount:N0} connections, built in {watch.Elapsed.TotalSeconds:F1} s");
        var trainer = new Trainer(network, new SoftmaxCrossEntropy(), new Sgd(0.01f, momentum: 0.9f), new TrainerOptions { Epochs = epochs, BatchSize = batchSize });
        trainer.Hooks.Add(new EvolutionHook(TopologyEvolver.Set(seed: 3), EvolutionSchedule.EveryEpoch(0.3)));
        var history = trainer.Fit(data);
        foreach (var e in history.Epochs)
        {
            Console.WriteLine($"epoch {e.Epoch} (batch {batchSize}): {e.Seconds:F2} s, of which SET {e.EvolutionSeconds:F2} s");
        }

        using var process = Process.GetCurrentProcess();
        Console.WriteLine($"peak working set {process.PeakWorkingSet64 / (1024.0 * 1024 * 1024):F2} GiB");
    }

    /// <summary>
    /// <c>scale IN H H H OUT SAMPLES</c>: an MLP of three hidden layers at epsilon 20 (the laptop record is
    /// 3,312-600,000-600,000-600,000-5 on 200 samples), epochs (default 2) of the given batch size
    /// (default 128), each followed by a SET step, with time and peak memory; with a path, the model is saved
    /// there and loaded back, both timed. With a <paramref name="band"/>, the layers between hidden layers are banded
    /// (<see cref="SparseNetwork.CreateMlp"/>) and SET regrows in the band.
    /// </summary>
    public static void RunScale(int[] sizes, int samples, int batchSize, int epochs, string? savePath, ComputeOptions? compute = null, Precision precision = Precision.Fp32, int? band = null)
    {
        var (connections, saved) = TrainAtScale(sizes, samples, batchSize, epochs, savePath, compute ?? ComputeOptions.Default, precision, band);
        if (savePath is null)
        {
            return;
        }

        // The trained network is gone by now, so the loaded one does not share memory with it.
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var watch = Stopwatch.StartNew();
        var loaded = Checkpoint.Load(savePath);
        var seconds = watch.Elapsed.TotalSeconds;
        var bytes = new FileInfo(savePath).Length;
        Console.WriteLine($"load: {seconds:F1} s ({bytes / seconds / (1 << 30):F2} GiB/s), {loaded.Network.ConnectionCount:N0} connections (saved {connections:N0}); save took {saved:F1} s ({bytes / saved / (1 << 30):F2} GiB/s) for {bytes / (double)(1 << 30):F2} GiB");
        File.Delete(savePath);
        using var process = Process.GetCurrentProcess();
        Console.WriteLine($"peak working set {process.PeakWorkingSet64 / (1024.0 * 1024 * 1024):F2} GiB");
    }

    private static (long Connections, double SaveSeconds) TrainAtScale(int[] sizes, int samples, int batchSize, int epochs, string? savePath, ComputeOptions compute, Precision precision, int? band)
    {
        var data = W1.UniformData(samples, sizes[0], sizes[^1], seed: 13);
        var watch = Stopwatch.StartNew();
        var network = SparseNetwork.CreateMlp(sizes, ActivationKind.Relu, epsilon: 20, seed: 1, band: band);
        network.Compute = compute;
        network.Precision = precision;
        Console.WriteLine($"{string.Join("-", sizes)}: {network.ConnectionCount:N0} connections, {sizes.Skip(1).SkipLast(1).Sum():N0} hidden neurons, built in {watch.Elapsed.TotalSeconds:F1} s; " +
            $"prefetch above {(compute.PrefetchAboveBytes == long.MaxValue ? "never" : $"{compute.PrefetchAboveBytes:N0} B")}, huge pages {(compute.HugePages ? "on" : "off")}, {precision}" +
            (band is { } width ? $", hidden layers banded to {width:N0}" : ""));
        Console.WriteLine($"memory estimate: {MemoryEstimate.For(network, batchSize, optimizerSlots: 1, TopologyEvolver.Set().ScratchBytesPerConnection(1))}");
        var trainer = new Trainer(network, new SoftmaxCrossEntropy(), new Sgd(0.01f, momentum: 0.9f), new TrainerOptions { Epochs = epochs, BatchSize = batchSize });

        // A SET step after every epoch, the last included, so one epoch reports one step.
        trainer.Hooks.Add(new EvolutionHook(TopologyEvolver.Set(seed: 3, band: band), EvolutionSchedule.Custom(afterEpoch: _ => 0.3)));
        var history = trainer.Fit(data);
        foreach (var epoch in history.Epochs)
        {
            Console.WriteLine($"epoch {epoch.Epoch}: {epoch.Seconds - epoch.EvolutionSeconds:F1} s training + {epoch.EvolutionSeconds:F1} s SET step ({samples:N0} samples, batch {batchSize})");
        }

        using (var process = Process.GetCurrentProcess())
        {
            // AnonHugePages: memory backed by transparent huge pages (the advised activation and gradient buffers).
            var huge = OperatingSystem.IsLinux() && File.Exists("/proc/self/smaps_rollup")
                ? File.ReadLines("/proc/self/smaps_rollup").FirstOrDefault(l => l.StartsWith("AnonHugePages:", StringComparison.Ordinal))?.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]
                : null;
            Console.WriteLine($"peak working set {process.PeakWorkingSet64 / (1024.0 * 1024 * 1024):F2} GiB; in huge pages now: {(huge is null ? "-" : $"{long.Parse(huge, System.Globalization.CultureInfo.InvariantCulture) / 1024.0:F0} MiB")}");
        }

        if (savePath is null)
        {
            return (network.ConnectionCount, 0);
        }

        watch.Restart();
        Checkpoint.Save(savePath, network);
        return (network.ConnectionCount, watch.Elapsed.TotalSeconds);
    }

    private static void Report(string name, double seconds, double epoch) =>
        Console.WriteLine($"  {name,-16} {seconds:F3} s  {seconds / epoch,6:P1}");
}
