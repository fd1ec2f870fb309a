namespace Sparse.Bench;

/// <summary>
/// <c>sweep-step [CONFIGS]</c>: one training step of the block network of a digits-sized grid (256-256 hidden, Adam,
/// learning rates x epsilons x activations as in scripts/sweep-bench, without dropout) against the same configurations stepped one
/// network after another in this process, phase by phase (forward, loss, backward, optimizer), so the kernels' share
/// of a sweep's gain is measured without process start-up.
/// </summary>
internal static class SweepStep
{
    public static void Run(int configs, bool reluOnly = false)
    {
        const int Inputs = 64, Classes = 10, Batch = 32, Samples = 1024, Steps = 400;
        var random = new SparseRandom(5);
        var features = new float[Samples * Inputs];
        for (var k = 0; k < features.Length; k++)
        {
            features[k] = (float)random.NextDouble();
        }

        var data = Dataset.ForClassification(features, Inputs, [.. Enumerable.Range(0, Samples).Select(s => s % Classes)], Classes);
        // The grids of scripts/sweep-bench: 3 x 3 x 2 up to 18 configurations, else 5 x 5 x 2.
        float[] rates = configs <= 18 ? [0.001f, 0.003f, 0.01f] : [0.0005f, 0.001f, 0.002f, 0.003f, 0.01f];
        double[] epsilons = configs <= 18 ? [4, 8, 16] : [2, 4, 8, 16, 32];
        ActivationKind[] activations = reluOnly ? [ActivationKind.Relu] : [ActivationKind.Relu, ActivationKind.Tanh];
        var grid = (from rate in rates from epsilon in epsilons from activation in activations
                    select new NetworkConfig { Hidden = [256, 256], Activation = activation, Epsilon = epsilon, LearningRate = rate }).Take(configs).ToArray();

        var together = ParallelNetworks.Create(Inputs, Classes, grid);
        var togetherLoss = together.CreateLoss(new SoftmaxCrossEntropy(), classification: true);
        var togetherOptimizer = new Adam(decoupled: true);
        together.ConfigureOptimizer(togetherOptimizer, rate => LearningRateSchedule.Cosine(rate / 50));
        var alone = grid.Select(c => SparseNetwork.CreateMlp([Inputs, .. c.Hidden, Classes], c.Activation, c.Epsilon, c.Seed)).ToArray();
        var aloneOptimizers = grid.Select(c => (Optimizer)new Adam(c.LearningRate, weightDecay: c.WeightDecay, decoupled: true)).ToArray();
        var loss = new SoftmaxCrossEntropy();

        var loader = new BatchLoader(data, Batch, null, shuffle: true, seed: 1);
        var phases = new double[2, 4];
        var gradient = new float[together.Network.OutputSize * Batch];
        for (var round = 0; round < 2; round++)
        {
            Array.Clear(phases);
            loader.StartEpoch(round);
            for (var step = 0; step < Steps; step++)
            {
                if (!loader.Next())
                {
                    loader.StartEpoch(round + step);
                    loader.Next();
                }

                var batch = loader.Batch;
                var start = Stopwatch.GetTimestamp();
                var output = together.Network.Forward(batch.Features, batch.Size, training: true);
                phases[0, 0] += Stopwatch.GetElapsedTime(start).TotalSeconds;
                start = Stopwatch.GetTimestamp();
                togetherLoss.Compute(output, batch, gradient);
                phases[0, 1] += Stopwatch.GetElapsedTime(start).TotalSeconds;
                start = Stopwatch.GetTimestamp();
                together.Network.Backward(gradient);
                phases[0, 2] += Stopwatch.GetElapsedTime(start).TotalSeconds;
                start = Stopwatch.GetTimestamp();
                togetherOptimizer.Step(together.Network.Parameters, together.Network.Compute);
                phases[0, 3] += Stopwatch.GetElapsedTime(start).TotalSeconds;

                for (var k = 0; k < alone.Length; k++)
                {
                    var network = alone[k];
                    start = Stopwatch.GetTimestamp();
                    var o = network.Forward(batch.Features, batch.Size, training: true);
                    phases[1, 0] += Stopwatch.GetElapsedTime(start).TotalSeconds;
                    start = Stopwatch.GetTimestamp();
                    loss.Compute(o, batch, gradient.AsSpan(0, o.Length));
                    phases[1, 1] += Stopwatch.GetElapsedTime(start).TotalSeconds;
                    start = Stopwatch.GetTimestamp();
                    network.Backward(gradient.AsSpan(0, o.Length));
                    phases[1, 2] += Stopwatch.GetElapsedTime(start).TotalSeconds;
                    start = Stopwatch.GetTimestamp();
                    aloneOptimizers[k].Step(network.Parameters, network.Compute);
                    phases[1, 3] += Stopwatch.GetElapsedTime(start).TotalSeconds;
                }
            }
        }

        string Row(int which) => string.Join(" | ", Enumerable.Range(0, 4).Select(p => (phases[which, p] / Steps * 1e6).ToString("F0", CultureInfo.InvariantCulture)));
        var totals = Enumerable.Range(0, 2).Select(w => Enumerable.Range(0, 4).Sum(p => phases[w, p]) / Steps * 1e6).ToArray();
        Console.WriteLine($"{configs} configurations of 64-256-256-10, batch {Batch}, {together.Network.ConnectionCount:N0} connections; microseconds per step (the second of two rounds)");
        Console.WriteLine("| | forward | loss | backward | optimizer | step |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|");
        Console.WriteLine($"| one block network | {Row(0)} | {totals[0]:F0} |");
        Console.WriteLine($"| {configs} networks one after another | {Row(1)} | {totals[1]:F0} |");
        Console.WriteLine($"block network / separate: {totals[0] / totals[1]:F2}");
    }
}
