namespace Sparse.Bench;

/// <summary>
/// Deliberately broken evolution methods, for <c>quality --inject</c>: they show that the accuracy gate fails a method
/// that does nothing useful. <c>no-rewiring</c> keeps every connection; <c>random-growth</c> keeps the method's pruning
/// and grows at random (SET's rule in place of RigL's gradient or CTRE's similarity); <c>shuffled-scores</c> scores with
/// the layer's inputs paired with the wrong samples (each input row's samples permuted), so RigL's gradients and CTRE's
/// similarities are noise of the right size.
/// </summary>
internal static class BrokenEvolver
{
    public static readonly string[] Kinds = ["none", "no-rewiring", "random-growth", "shuffled-scores"];

    public static TopologyEvolver Break(TopologyEvolver evolver, string kind, ulong seed) => kind switch
    {
        "none" => evolver,
        "no-rewiring" => new TopologyEvolver(new DropsNothing(), evolver.Regrower) { IncludeOutputLayer = evolver.IncludeOutputLayer },
        "random-growth" => new TopologyEvolver(evolver.Pruner, new RandomRegrower(seed + 77)) { IncludeOutputLayer = evolver.IncludeOutputLayer },
        "shuffled-scores" => new TopologyEvolver(evolver.Pruner, new Shuffled(evolver.Regrower, seed + 77)) { IncludeOutputLayer = evolver.IncludeOutputLayer },
        _ => throw new ArgumentException($"--inject {kind}: one of {string.Join(", ", Kinds)}"),
    };

    private sealed class DropsNothing : IPruner
    {
        public int SelectDrops(SparseLinear layer, double fraction, LayerSignals? signals, Span<bool> drop) => 0;
    }

    private sealed class Shuffled(IRegrower inner, ulong seed) : IRegrower
    {
        private readonly ulong _seed = seed;

        public SignalKinds Signals => inner.Signals;

        public long ScratchBytesPerGrown => inner.ScratchBytesPerGrown;

        public bool NeedsPrunedPositions => inner.NeedsPrunedPositions;

        public void ObserveValidationAccuracy(float accuracy) => inner.ObserveValidationAccuracy(accuracy);

        public void Grow(GrowthRequest request, CooMatrix grown) =>
            inner.Grow(request with { Signals = Permute(request.Signals), Sample = Permute(request.Sample) }, grown);

        // The same signals with each input row's samples in a random order: the pairing of inputs with outputs is lost.
        private LayerSignals? Permute(LayerSignals? signals)
        {
            if (signals is not { } s)
            {
                return null;
            }

            var order = Dataset.Permutation(s.Batch, _seed);
            var input = s.Input.Span;
            var shuffled = new float[input.Length];
            for (var row = 0; row < input.Length / s.Batch; row++)
            {
                for (var b = 0; b < s.Batch; b++)
                {
                    shuffled[(row * s.Batch) + b] = input[(row * s.Batch) + order[b]];
                }
            }

            return s with { Input = shuffled };
        }
    }
}
