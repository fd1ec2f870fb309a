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
    private static Dataset Rows(int features, int rows, int nonZeros, ulong seed)
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
