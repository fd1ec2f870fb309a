using System.Text.Json;
using System.Text.Json.Nodes;

namespace Sparse.Bench;

// The figures the gate times: kernels, W1 steps and epochs, evolution steps, wide layers, and the memory probe.
internal static partial class PerfCheck
{
    /// <summary>
    /// A timed figure: its calls are timed for at least <paramref name="BudgetSeconds"/> and <paramref name="Calls"/> calls.
    /// <paramref name="Seconds"/>, when given, makes a call and returns the seconds that count (a child process's
    /// first epoch), in place of the stopwatch around <paramref name="Call"/>; <paramref name="Resources"/> is
    /// disposed after the run. <paramref name="Parts"/>, when given, are what <paramref name="Call"/> runs in turn (a
    /// wide layer's three kernels), which perf-pair times part by part next to the other builds' (<see cref="TimeInTurns"/>).
    /// </summary>
    private sealed record Figure(string Name, Action Call, double BudgetSeconds, int Calls = 10, bool MemoryBound = false,
        Func<double>? Seconds = null, IDisposable? Resources = null, Action[]? Parts = null)
    {
        /// <summary>One call, returning the seconds that count.</summary>
        public Func<double> Timed => Seconds ?? (() => TimeCall(Call));

        /// <summary>Each part, returning its seconds; none for a figure of whole calls.</summary>
        public Func<double>[] TimedParts => Parts?.Select(part => (Func<double>)(() => TimeCall(part))).ToArray() ?? [];
    }

    // The parts a W1 epoch is timed in (perf-pair, TimeInTurns): quarters of its batches, 40-60 ms each.
    private const int EpochParts = 4;

    // A wide layer's step, of long calls that run its parts (forward, input gradient, weight gradient) in turn.
    private static Figure Step(string name, bool memoryBound, params Action[] parts) => new(name, () =>
    {
        foreach (var part in parts)
        {
            part();
        }
    }, 0, Calls: LongCalls, MemoryBound: memoryBound, Parts: parts);

    // A W1 epoch of long calls, in parts of consecutive batches; the first part starts the epoch (its shuffle).
    private static Figure Epoch(string name, SparseNetwork network, BatchLoader loader, Optimizer optimizer, float[] gradient, ILoss loss)
    {
        var parts = new Action[EpochParts];
        for (var p = 0; p < EpochParts; p++)
        {
            var (part, first, end) = (p, p * loader.BatchesPerEpoch / EpochParts, (p + 1) * loader.BatchesPerEpoch / EpochParts);
            parts[p] = () =>
            {
                if (part == 0)
                {
                    loader.StartEpoch(0);
                }

                for (var b = first; b < end; b++)
                {
                    W1.Step(network, loader, optimizer, gradient, loss);
                }
            };
        }

        return Step(name, false, parts);
    }

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

    // Seconds of calls a short figure takes per build and round: about 1,000 kernel calls or 90 W1 steps, paired call
    // by call with the other builds' (PairedRatio; docs/performance.md, "The regression gate").
    private const double ShortBudget = 0.2;

    // The budget of a figure whose calls change the state the next call starts from (an evolution step): none, so its
    // number of calls alone decides how many it gets, the same in every build.
    private const double StatefulCalls = 0;

    // The budget of a figure whose call is a child process: no warm-up in this process can help it (Warm skips it),
    // and its least number of calls alone decides how many it gets.
    private const double ChildProcessBudget = -1;

    // The calls of a long figure (an epoch, a wide layer's step): as many as PairedRatio pairs, so each build's k-th
    // call is timed next to the others' and the round's ratio is the median of those pairs. A shared machine's speed
    // moves within a round (calls of one build 236-338 ms in a row on a 2-core AMD EPYC), which the pairs cancel and
    // each build's own 10th percentile of a few calls does not (docs/performance.md, "The regression gate").
    private const int LongCalls = PairedCalls;

    // A layer too wide and sparse for column tiles: its operands (25.6 MB of activations at batch 32, 8 million
    // connections, 64 MB of them) are beyond a 16 MiB last-level cache and, gathered in random order, beyond any L2.
    private const string UntiledShape = "200000->200000@32";

    // Only the wanted figures are built: the wide workloads take seconds and a gigabyte, which a filtered run skips.
    private static IEnumerable<Figure> Figures(Func<string, bool> wanted)
    {
        if (wanted("kernel.forward") || wanted("kernel.input_gradient") || wanted("kernel.weight_gradient"))
        {
            var kernel = KernelWorkload.Get("1000->1000");
            yield return new("kernel.forward", () => SparseOps.Multiply(kernel.Weights, kernel.X.Span, kernel.Bias, kernel.Y.Span, kernel.Batch), ShortBudget);
            yield return new("kernel.input_gradient", () => SparseOps.MultiplyTransposed(kernel.Weights, kernel.Dy.Span, kernel.Dx.Span, kernel.Batch), ShortBudget);
            yield return new("kernel.weight_gradient", () => SparseOps.WeightGradient(kernel.Weights, kernel.Dy.Span, kernel.X.Span, kernel.Dw, kernel.Batch), ShortBudget);
        }

        // A wide layer whose activations outgrow the cache: the three kernels with column tiling (7 tiles).
        if (wanted("kernel.wide_layer_step"))
        {
            var wide = KernelWorkload.Get("100000->100000");
            yield return Step(
                "kernel.wide_layer_step",
                false,
                () => SparseOps.Multiply(wide.Weights, wide.X.Span, wide.Bias, wide.Y.Span, wide.Batch),
                () => SparseOps.MultiplyTransposed(wide.Weights, wide.Dy.Span, wide.Dx.Span, wide.Batch),
                () => SparseOps.WeightGradient(wide.Weights, wide.Dy.Span, wide.X.Span, wide.Dw, wide.Batch));
        }

        // A layer too wide and sparse for column tiles (as at a million neurons): every gather comes from memory, and
        // the kernels prefetch the rows they will gather. Tiling is switched off to keep it at a size CI can build.
        if (wanted("kernel.wide_untiled_step"))
        {
            var far = KernelWorkload.Get(UntiledShape);
            var untiled = ComputeOptions.Default with { ColumnTileBytes = 0 };
            yield return Step(
                "kernel.wide_untiled_step",
                true,
                () => SparseOps.Multiply(far.Weights, far.X.Span, far.Bias, far.Y.Span, far.Batch, untiled),
                () => SparseOps.MultiplyTransposed(far.Weights, far.Dy.Span, far.Dx.Span, far.Batch, untiled),
                () => SparseOps.WeightGradient(far.Weights, far.Dy.Span, far.X.Span, far.Dw, far.Batch, untiled));
        }

        // The same step gathering bfloat16 rows (Precision.Bf16): half the bytes per gathered row.
        if (wanted("kernel.wide_untiled_step_bf16"))
        {
            var far = KernelWorkload.Get(UntiledShape);
            yield return Step(
                "kernel.wide_untiled_step_bf16",
                true,
                () => SparseOps.Multiply(far.Weights, far.XHalf.Span, far.Bias, far.Y.Span, far.Batch),
                () => SparseOps.MultiplyTransposed(far.Weights, far.DyHalf.Span, far.Dx.Span, far.Batch),
                () => SparseOps.WeightGradient(far.Weights, far.Dy.Span, far.XHalf.Span, far.Dw, [], far.Batch));
        }

        var gradient = new float[10 * W1.BatchSize];
        var loss = new SoftmaxCrossEntropy();
        if (wanted("w1.train_step") || wanted("w1.epoch") || wanted("w1.set_step"))
        {
            var network = W1.Network();
            var loader = new BatchLoader(W1.Data, W1.BatchSize, null, shuffle: true, seed: 1);
            var optimizer = new Sgd(0.01f, momentum: 0.9f);
            yield return new("w1.train_step", () => W1.Step(network, loader, optimizer, gradient, loss), ShortBudget);

            yield return Epoch("w1.epoch", network, loader, optimizer, gradient, loss);

            // An evolution step changes what the next one starts from, so every build takes the same number of them
            // (StatefulCalls): with a budget of seconds a slower build would take fewer and time other topologies.
            var set = TopologyEvolver.Set(seed: 5);
            yield return new("w1.set_step", () => set.Evolve(network, optimizer, 0.3), StatefulCalls, Calls: 40);
        }

        if (wanted("w1.epoch_bf16"))
        {
            var network = W1.Network();
            network.Precision = Precision.Bf16;
            var loader = new BatchLoader(W1.Data, W1.BatchSize, null, shuffle: true, seed: 1);
            var optimizer = new Sgd(0.01f, momentum: 0.9f);
            yield return Epoch("w1.epoch_bf16", network, loader, optimizer, gradient, loss);
        }

        // The first epoch of a fresh `sparse train` process; a build without the CLI beside it (before this figure) has none.
        // One process a build and round: each is 1.6 s of startup for 40-60 ms of epoch, whose spread between rounds
        // (13 % with three processes a build) more processes hardly narrow; the figure guards against the warm-up tax
        // coming back, a several-fold change.
        if (wanted("cli.first_epoch") && FirstEpoch.Create() is { } firstEpoch)
        {
            yield return new("cli.first_epoch", () => firstEpoch.Run(), ChildProcessBudget, Calls: 1, Seconds: firstEpoch.Run, Resources: firstEpoch);
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
            yield return new("layer.rigl_step", () => rigl.EvolveLayer(layer, null, 0.3, signals), StatefulCalls, Calls: 16);
            yield return new("layer.ctre_step", () => ctre.EvolveLayer(layer, null, 0.3, signals), StatefulCalls, Calls: 12);
        }
    }
}
