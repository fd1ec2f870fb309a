namespace Sparse.Bench;

/// <summary>
/// <c>sparse-input [FEATURES,...] [ROWS] [NONZEROS]</c>: an epoch of a FEATURES-1000-1000-10 network (epsilon 20, batch
/// 128, SGD, no evolution) on seeded sparse rows of NONZEROS features each (default 100), for each width (default
/// 10,000, 100,000 and 1,000,000); at widths whose dense twin fits in 2 GiB, the same epoch on the rows written out
/// densely. Prints seconds per epoch (the median of 3 after one warm-up epoch), the first layer's connections and the
/// process's peak working set after each width.
/// </summary>
internal static class SparseInputEpoch
{
    private const int Classes = 10;

    public static void Run(int[] widths, int rows, int nonZeros)
    {
        foreach (var features in widths)
        {
            var sparse = Rows(features, rows, nonZeros, seed: 11);
            var seconds = Epochs(sparse, out var connections);
            var line = $"{features,9:N0} features, {rows:N0} rows of {nonZeros} non-zeros: {seconds * 1e3,8:F1} ms an epoch (first layer {connections:N0} connections)";
            if ((long)features * rows * 4 <= 2L << 30)
            {
                var dense = Dataset.ForClassification(KernelWorkload.Dense(sparse.SparseFeatures!), features, sparse.Labels!, Classes);
                var denseSeconds = Epochs(dense, out _);
                line += $"; rows written out densely {denseSeconds * 1e3,8:F1} ms, {denseSeconds / seconds:F1}x";
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{line}; peak working set {Process.GetCurrentProcess().PeakWorkingSet64 / 1048576.0:F0} MiB"));
        }
    }

    // Median seconds of three epochs after a warm-up epoch.
    private static double Epochs(Dataset data, out long firstLayer)
    {
        var normalization = InputNormalization.Fit(data, NormalizationKind.MaxAbs);
        var network = SparseNetwork.CreateMlp([data.FeatureCount, 1000, 1000, Classes], epsilon: 20, seed: 3, normalization: normalization);
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
