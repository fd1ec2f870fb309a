namespace Sparse.Bench;

/// <summary>
/// <c>sparse-input [FEATURES,...] [ROWS] [NONZEROS] [--lazy-only]</c>: an epoch of a FEATURES-1000-1000-10 network (epsilon 20, batch
/// 128, SGD, no evolution) on seeded sparse rows of NONZEROS features each (default 100), for each width (default
/// 10,000, 100,000 and 1,000,000), with every connection stepped and with the lazy step of the first layer stored
/// input-major (<see cref="SparseNetwork.StepsActiveInputsOnly"/>); at widths whose dense twin fits in 2 GiB, the same
/// epoch on the rows written out densely. Prints seconds per epoch (the median of 3 after one warm-up epoch), the first layer's connections and the
/// process's peak working set after each width. <c>--lazy-only</c> runs the lazy epochs alone, for a profile of them.
/// </summary>
internal static class SparseInputEpoch
{
    private const int Classes = 10;

    public static void Run(int[] widths, int rows, int nonZeros, bool lazyOnly)
    {
        foreach (var features in widths)
        {
            var sparse = Rows(features, rows, nonZeros, seed: 11);
            var lazySeconds = Epochs(sparse, lazy: true, out var connections);
            var line = $"{features,9:N0} features, {rows:N0} rows of {nonZeros} non-zeros (first layer {connections:N0} connections): ";
            if (lazyOnly)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{line}{lazySeconds * 1e3,7:F1} ms lazy"));
                continue;
            }

            var seconds = Epochs(sparse, lazy: false, out _);
            line += $"{seconds * 1e3,7:F1} ms an epoch, {lazySeconds * 1e3,7:F1} ms lazy";
            if ((long)features * rows * 4 <= 2L << 30)
            {
                var dense = Dataset.ForClassification(KernelWorkload.Dense(sparse.SparseFeatures!), features, sparse.Labels!, Classes);
                var denseSeconds = Epochs(dense, lazy: false, out _);
                line += $"; rows written out densely {denseSeconds * 1e3,7:F1} ms, {denseSeconds / seconds:F1}x and {denseSeconds / lazySeconds:F1}x";
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{line}; peak working set {Process.GetCurrentProcess().PeakWorkingSet64 / 1048576.0:F0} MiB"));
        }
    }

    // Median seconds of three epochs after a warm-up epoch; lazy: SparseNetwork.StepsActiveInputsOnly.
    private static double Epochs(Dataset data, bool lazy, out long firstLayer)
    {
        var normalization = InputNormalization.Fit(data, NormalizationKind.MaxAbs);
        var network = SparseNetwork.CreateMlp([data.FeatureCount, 1000, 1000, Classes], epsilon: 20, seed: 3, normalization: normalization);
        network.StepsActiveInputsOnly = lazy;
        firstLayer = network.SparseLayers.First().Weights.NonZeroCount;
        var trainer = new Trainer(network, new SoftmaxCrossEntropy(), new Sgd(0.01f, momentum: 0.9f), new TrainerOptions { Epochs = 4, BatchSize = 128, Seed = 1 });
        var history = trainer.Fit(data);
        return PerfCheck.Median([.. history.Epochs.Skip(1).Select(e => e.Seconds)]);
    }

    // Seeded rows: NONZEROS distinct features of each row drawn uniformly, values in (0, 1], labels from the row's first feature.
    internal static Dataset Rows(int features, int rows, int nonZeros, ulong seed)
    {
        var random = new SparseRandom(seed);
        var pointers = new long[rows + 1];
        var columns = new int[(long)rows * nonZeros];
        var values = new float[columns.Length];
        var labels = new int[rows];
        var row = new SortedSet<int>();
        for (var r = 0; r < rows; r++)
        {
            row.Clear();
            while (row.Count < nonZeros)
            {
                row.Add(random.NextInt(features));
            }

            row.CopyTo(columns, r * nonZeros);
            for (var k = r * nonZeros; k < (r + 1) * nonZeros; k++)
            {
                values[k] = 1 - (float)random.NextDouble();
            }

            labels[r] = columns[r * nonZeros] % Classes;
            pointers[r + 1] = (r + 1L) * nonZeros;
        }

        return Dataset.ForClassification(new CsrMatrix(rows, features, pointers, columns, values), labels, Classes);
    }
}

/// <summary>
/// <c>input-major [FEATURES]</c>: seconds to store a FEATURES-1000 layer at epsilon 20 (Adam's two state slots and a
/// gradient) input-major and back, the cost an evolution step adds to a first layer trained on sparse rows; the median
/// of 5 round trips.
/// </summary>
internal static class InputMajorOrder
{
    public static void Run(int features)
    {
        var layer = SparseLinear.ErdosRenyi(features, 1000, 20, 3);
        var optimizer = new Adam();
        optimizer.Step(layer.Parameters);
        var (there, back) = (new List<double>(), new List<double>());
        for (var trip = 0; trip < 6; trip++)
        {
            var watch = Stopwatch.StartNew();
            layer.StoreInputMajor();
            there.Add(watch.Elapsed.TotalSeconds);
            watch.Restart();
            layer.StoreOutputMajor();
            back.Add(watch.Elapsed.TotalSeconds);
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{features:N0} features, {layer.ConnectionCount:N0} connections, Adam: input-major {PerfCheck.Median([.. there.Skip(1)]) * 1e3:F0} ms, back {PerfCheck.Median([.. back.Skip(1)]) * 1e3:F0} ms"));
        GC.KeepAlive(optimizer);
    }
}

/// <summary>
/// <c>sparse-input-kernels [FEATURES,...]</c>: the lazy first layer's kernels alone, over the batches of an epoch of
/// <see cref="SparseInputEpoch"/>'s rows (10,000 rows of 100 non-zeros, batch 128) on a FEATURES-1000 layer at epsilon 20
/// stored input-major: grouping each batch by feature (<see cref="ActiveFeatures.Build"/>), the forward product
/// (<see cref="SparseInputOps.MultiplyInputMajor"/>) and the weight gradient
/// (<see cref="SparseInputOps.WeightGradientInputMajor"/>) and the lazy step of SGD with momentum over the batch's runs.
/// Milliseconds an epoch, the best and the median of 7, so
/// that the widths compare in one process.
/// </summary>
internal static class SparseInputKernels
{
    private const int Batch = 128;
    private const int Outputs = 1000;

    public static void Run(int[] widths)
    {
        foreach (var features in widths)
        {
            var rows = SparseInputEpoch.Rows(features, 10_000, 100, seed: 11).SparseFeatures!;
            var transposed = SparseLinear.ErdosRenyi(features, Outputs, 20, 3).Weights.Transpose();
            var batches = new List<(long[] Pointers, int[] Features, float[] Values, ActiveFeatures Active)>();
            for (var first = 0; first + Batch <= rows.Rows; first += Batch)
            {
                var from = rows.RowPointers[first];
                var pointers = rows.RowPointers.AsSpan(first, Batch + 1).ToArray().Select(p => p - from).ToArray();
                var count = (int)pointers[Batch];
                var batchFeatures = rows.ColumnIndices.AsSpan((int)from, count).ToArray();
                var values = rows.Values.AsSpan((int)from, count).ToArray();
                var active = new ActiveFeatures();
                active.Build(pointers, batchFeatures, values, Batch);
                batches.Add((pointers, batchFeatures, values, active));
            }

            var random = new SparseRandom(2);
            var dy = Enumerable.Range(0, Outputs * Batch).Select(_ => (float)random.NextDouble() - 0.5f).ToArray();
            var y = new float[Outputs * Batch];
            var dw = new float[transposed.NonZeroCount];
            var db = new float[Outputs];
            var scratch = new ActiveFeatures();
            var build = Time(() => batches.ForEach(b => scratch.Build(b.Pointers, b.Features, b.Values, Batch)));
            var forward = Time(() => batches.ForEach(b => SparseInputOps.MultiplyInputMajor(transposed, b.Pointers, b.Features, b.Values, [], y, Batch)));
            var gradient = Time(() => batches.ForEach(b => SparseInputOps.WeightGradientInputMajor(transposed, dy, b.Active, dw, db, Batch)));
            var touched = batches.Sum(b => b.Active.ConnectionCountInputMajor(transposed));

            // The lazy step of SGD with momentum over each batch's runs, as SparseNetwork hands them to the optimizer.
            var runs = batches.Select(b =>
            {
                var (starts, lengths) = (new int[b.Active.Count], new int[b.Active.Count]);
                var count = b.Active.RunsInputMajor(transposed, starts, lengths, out var entries);
                return (starts, lengths, count, entries);
            }).ToList();
            var parameter = new Parameter("weights", transposed);
            var sgd = new Sgd(0.01f, momentum: 0.9f);
            var step = Time(() => runs.ForEach(r =>
            {
                parameter.SetActiveRuns(r.starts, r.lengths, r.count, r.entries);
                sgd.Step([parameter]);
            }));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{features,9:N0} features ({transposed.NonZeroCount:N0} connections, {touched / batches.Count:N0} touched a batch), ms an epoch, best / median of 7: " +
                $"grouping {build.Best:F1} / {build.Median:F1}, forward {forward.Best:F1} / {forward.Median:F1}, weight gradient {gradient.Best:F1} / {gradient.Median:F1}, lazy step {step.Best:F1} / {step.Median:F1}"));
        }
    }

    private static (double Best, double Median) Time(Action epoch)
    {
        epoch();
        var times = new double[7];
        for (var r = 0; r < times.Length; r++)
        {
            var watch = Stopwatch.StartNew();
            epoch();
            times[r] = watch.Elapsed.TotalMilliseconds;
        }

        return (times.Min(), PerfCheck.Median(times));
    }
}
