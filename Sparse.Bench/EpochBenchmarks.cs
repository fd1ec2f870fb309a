using BenchmarkDotNet.Attributes;

namespace Sparse.Bench;

/// <summary>
/// A whole W1 epoch (10,000 samples, batch 128) truly sparse against dense-times-mask (the baseline), and
/// one training step of each; the ratio is the sparse speed-up measured side by side.
/// </summary>
[MemoryDiagnoser]
public class EpochBenchmarks
{
    private SparseNetwork _network = null!;
    private BatchLoader _loader = null!;
    private Sgd _optimizer = null!;
    private float[] _gradient = null!;
    private MaskedDenseW1 _masked = null!;
    private readonly SoftmaxCrossEntropy _loss = new();

    [GlobalSetup]
    public void Setup()
    {
        _network = W1.Network();
        _loader = new BatchLoader(W1.Data, W1.BatchSize, null, shuffle: true, seed: 1);
        _optimizer = new Sgd(0.01f, momentum: 0.9f);
        _gradient = new float[10 * W1.BatchSize];
        _masked = new MaskedDenseW1(_network);
    }

    [Benchmark(Baseline = true)]
    public int MaskedDenseEpoch()
    {
        _loader.StartEpoch(0);
        while (_loader.Next())
        {
            _masked.Step(_loader.Batch, _loss, 0.01f, 0.9f);
        }

        return _loader.BatchesPerEpoch;
    }

    [Benchmark]
    public int SparseEpoch()
    {
        _loader.StartEpoch(0);
        for (var b = 0; b < _loader.BatchesPerEpoch; b++)
        {
            W1.Step(_network, _loader, _optimizer, _gradient, _loss);
        }

        return _loader.BatchesPerEpoch;
    }
}

/// <summary>One topology evolution step on W1's hidden layers (SET) and on one 1000 -> 1000 layer (RigL, CTRE).</summary>
[MemoryDiagnoser]
public class EvolutionBenchmarks
{
    private SparseNetwork _network = null!;
    private SparseLinear _layer = null!;
    private LayerSignals _signals;
    private readonly TopologyEvolver _set = TopologyEvolver.Set(seed: 5);
    private readonly TopologyEvolver _rigl = TopologyEvolver.RigL();
    private readonly TopologyEvolver _ctre = TopologyEvolver.Ctre(seed: 5);

    [GlobalSetup]
    public void Setup()
    {
        _network = W1.Network();
        var recorder = new SignalRecorder(SignalKinds.OutputGradients);
        W1.Step(_network, new BatchLoader(W1.Data, W1.BatchSize, null, shuffle: false, seed: 1), new Sgd(0.01f), new float[10 * W1.BatchSize], new SoftmaxCrossEntropy(), recorder);
        _layer = _network.SparseLayers.ElementAt(1);
        _signals = recorder.Of(_layer);
    }

    [Benchmark(Baseline = true)]
    public int SetHiddenLayers() => _set.Evolve(_network, null, 0.3).Count;

    [Benchmark]
    public int RigLLayer() => _rigl.EvolveLayer(_layer, null, 0.3, _signals).Grown;

    [Benchmark]
    public int CtreLayer() => _ctre.EvolveLayer(_layer, null, 0.3, _signals).Grown;
}
