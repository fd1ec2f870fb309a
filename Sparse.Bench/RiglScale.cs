namespace Sparse.Bench;

/// <summary>
/// <c>rigl-scale [WIDTH ...]</c>: RigL's regrowth on one WIDTH x WIDTH layer at epsilon 20, batch 32, growing 30 % of
/// its connections, with the bounded search (<see cref="NormBoundGradientRegrower"/>) and, up to 10,000 wide, the
/// exact one: time of each, the share of the exact choice the bounded one makes (overlap), and the share of the
/// exact choice's summed |gradient| it reaches. The signals are ReLU activations and gradients whose neuron norms
/// spread over two orders of magnitude (log-normal), as in a trained network.
/// </summary>
internal static class RiglScale
{
    public static void Run(string[] widths)
    {
        const int batch = 32;
        Console.WriteLine("| width | connections | grown | exact | bounded | overlap | |gradient| reached |");
        Console.WriteLine("|---|---|---|---|---|---|---|");
        foreach (var width in widths.Select(w => int.Parse(w, CultureInfo.InvariantCulture)))
        {
            var weights = RandomSparse.ErdosRenyi(width, width, 20, ValueDistribution.Normal(0.1f), 1);
            var layer = new SparseLinear(weights);
            var random = new SparseRandom(2);
            var x = Signal(width, batch, ref random, relu: true);
            var dy = Signal(width, batch, ref random, relu: false);
            var signals = new LayerSignals(x, x, dy, batch);
            var k = (int)(0.3 * weights.NonZeroCount);
            var request = new GrowthRequest(layer, weights, k, new HashSet<long>(), signals);

            var bounded = new CooMatrix(width, width, k);
            var watch = Stopwatch.StartNew();
            new NormBoundGradientRegrower().Grow(request, bounded);
            var boundedSeconds = watch.Elapsed.TotalSeconds;

            string exactText = "-", overlapText = "-", reachedText = "-";
            if ((double)width * width * batch <= 4e9)
            {
                var exact = new CooMatrix(width, width, k);
                watch.Restart();
                new GradientRegrower(exactScores: long.MaxValue).Grow(request, exact);
                exactText = $"{watch.Elapsed.TotalSeconds:F2} s";
                var chosen = Positions(exact).ToHashSet();
                var overlap = Positions(bounded).Count(chosen.Contains) / (double)k;
                overlapText = $"{overlap:P1}";
                reachedText = $"{Reached(bounded, x, dy, batch) / Reached(exact, x, dy, batch):P1}";
            }

            Console.WriteLine($"| {width:N0} | {weights.NonZeroCount:N0} | {k:N0} | {exactText} | {boundedSeconds:F2} s | {overlapText} | {reachedText} |");
        }
    }

    // Neuron rows of batch samples: normal values scaled per neuron by a log-normal factor (sigma 1), ReLU'd for activations.
    private static float[] Signal(int neurons, int batch, ref SparseRandom random, bool relu)
    {
        var values = new float[(long)neurons * batch];
        for (var n = 0; n < neurons; n++)
        {
            var scale = (float)Math.Exp(random.NextGaussian());
            for (var b = 0; b < batch; b++)
            {
                var v = (float)random.NextGaussian() * scale;
                values[((long)n * batch) + b] = relu ? Math.Max(v, 0) : v;
            }
        }

        return values;
    }

    private static IEnumerable<(int, int)> Positions(CooMatrix m) => m.RowIndices.ToArray().Zip(m.ColumnIndices.ToArray());

    private static double Reached(CooMatrix grown, float[] x, float[] dy, int batch)
    {
        double sum = 0;
        for (var t = 0; t < grown.Count; t++)
        {
            sum += Math.Abs(System.Numerics.Tensors.TensorPrimitives.Dot(
                dy.AsSpan(grown.RowIndices[t] * batch, batch), x.AsSpan(grown.ColumnIndices[t] * batch, batch)));
        }

        return sum;
    }
}
