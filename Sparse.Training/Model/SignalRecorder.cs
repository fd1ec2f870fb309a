namespace Sparse.Training;

/// <summary>What a training hook reads of a training step, beyond the weights.</summary>
[Flags]
public enum SignalKinds
{
    /// <summary>Nothing: magnitude pruning, random regrowth.</summary>
    None = 0,

    /// <summary>Each sparse layer's input and activation (CTRE's cosine similarity).</summary>
    Activations = 1,

    /// <summary>Each sparse layer's output gradient as well (RigL's gradient regrowth); costs one activation-sized copy per sparse layer and step.</summary>
    OutputGradients = 2,

    /// <summary>
    /// Each sparse layer's input and activation over many training rows (<see cref="ActivationSample"/>), recorded by an
    /// inference pass right before an evolution rather than during the training steps (CTRE's cosine importance).
    /// </summary>
    TrainingSample = 4,
}

/// <summary>
/// The signals of one training step, which topology evolution reads: each sparse layer's input, activation and
/// (when <see cref="Kinds"/> asks) output gradient. The caller owns it and passes it to
/// <see cref="SparseNetwork.Backward(ReadOnlySpan{float}, SignalRecorder)"/>, which fills it, and then to the
/// evolver; <see cref="Trainer"/> does both when a hook asks (<see cref="ITrainingHook.Signals"/>). Output gradients
/// are copied into buffers the recorder owns (one activation-sized buffer per sparse layer, never weight-shaped);
/// inputs and activations stay in the network's buffers, so any later <see cref="SparseNetwork.Forward(ReadOnlySpan{float}, int, bool)"/> (an
/// evaluation, the next step) makes the recording stale, and <see cref="Of"/> then refuses rather than mix two batches.
/// </summary>
public sealed class SignalRecorder
{
    private Memory<float>[] _gradients = [];

    // By layer index, the recorded step's signals that Of serves when they are not the network's own buffers (in
    // data parallelism, the global batch's, gathered from every rank); null where the layer's own buffers serve.
    private LayerSignals?[] _replaced = [];

    // By layer index, the buffers KeepAcrossPasses copies a step's input and activation into, reused from step to step.
    private (Memory<float> Input, Memory<float> Activation)[] _kept = [];
    private bool _keptAcrossPasses;
    private long _keptTrainingPass;
    private SparseNetwork? _network;
    private long _pass;
    private int _batch;

    /// <summary>A recorder of <paramref name="kinds"/>; <see cref="SignalKinds.OutputGradients"/> implies activations.</summary>
    public SignalRecorder(SignalKinds kinds = SignalKinds.Activations)
    {
        kinds &= StepKinds;
        Kinds = kinds == SignalKinds.None ? SignalKinds.Activations : kinds | SignalKinds.Activations;
    }

    /// <summary>The kinds a training step's backward pass records (a <see cref="SignalKinds.TrainingSample"/> is recorded apart).</summary>
    public const SignalKinds StepKinds = SignalKinds.Activations | SignalKinds.OutputGradients;

    /// <summary>What is recorded.</summary>
    public SignalKinds Kinds { get; }

    /// <summary>Whether output gradients are kept.</summary>
    public bool RecordsOutputGradients => (Kinds & SignalKinds.OutputGradients) != 0;

    /// <summary>
    /// Whether the recording belongs to the network's latest pass: a training step's backward pass filled it and no
    /// forward pass has run since.
    /// </summary>
    public bool IsCurrent => _network is not null && (_network.PassCount == _pass || (_keptAcrossPasses && _network.TrainingPassCount == _keptTrainingPass));

    /// <summary>
    /// Copies the recorded step's inputs and activations out of the network's buffers (its output gradients are copies
    /// already), so the recording stays current through later forward passes until the next recording: what an
    /// evolution that reads both the step's signals and an <see cref="ActivationSample"/> (whose inference pass
    /// overwrites those buffers) needs, for example cosine pruning with gradient regrowth; the next training pass ends
    /// it, whether or not that step records. The copies are
    /// activation-sized, one input and one activation per sparse layer, and reused from step to step.
    /// </summary>
    /// <exception cref="InvalidOperationException">The recording is not current.</exception>
    public void KeepAcrossPasses()
    {
        if (!IsCurrent)
        {
            throw new InvalidOperationException("Only a current recording can be kept: call KeepAcrossPasses right after the training step's backward pass.");
        }

        if (_keptAcrossPasses)
        {
            return;
        }

        var network = _network!;
        foreach (var layer in network.SparseLayers)
        {
            var n = network.IndexOf(layer);
            if (_replaced[n] is not null)
            {
                continue; // already the recorder's (or its caller's) own buffers
            }

            var signals = Of(layer);
            ref var kept = ref _kept[n];
            if (kept.Input.Length < signals.Input.Length || kept.Activation.Length < signals.Activation.Length)
            {
                kept = (new float[signals.Input.Length], new float[signals.Activation.Length]);
            }

            signals.Input.CopyTo(kept.Input);
            signals.Activation.CopyTo(kept.Activation);
            _replaced[n] = signals with { Input = kept.Input[..signals.Input.Length], Activation = kept.Activation[..signals.Activation.Length] };
        }

        _keptAcrossPasses = true;
        _keptTrainingPass = network.TrainingPassCount;
    }

    /// <summary>The recorded signals of <paramref name="layer"/>.</summary>
    /// <exception cref="InvalidOperationException">Nothing was recorded, or a forward pass (an evaluation, another step)
    /// has replaced the recorded step's activations since.</exception>
    /// <exception cref="ArgumentException">The layer is not part of the recorded network.</exception>
    public LayerSignals Of(SparseLinear layer)
    {
        ArgumentNullException.ThrowIfNull(layer);
        if (_network is null)
        {
            throw new InvalidOperationException("Nothing recorded yet: pass this recorder to SparseNetwork.Backward of a training step.");
        }

        if (!IsCurrent)
        {
            throw new InvalidOperationException("The recorded step is stale: a forward pass (an evaluation, or the next step) has replaced its activations; " +
                "read the signals (evolve) right after the training step's backward pass, before evaluating.");
        }

        var n = _network.IndexOf(layer);
        if (_replaced[n] is { } replaced)
        {
            return replaced;
        }

        var (input, activation) = _network.ActivationsAround(n, _batch);
        var gradient = RecordsOutputGradients ? _gradients[n][..(layer.OutputSize * _batch)] : Memory<float>.Empty;
        return new LayerSignals(input, activation, gradient, _batch);
    }

    /// <summary>Starts the recording of <paramref name="network"/>'s backward pass number <paramref name="pass"/>.</summary>
    internal void Begin(SparseNetwork network, long pass, int batch)
    {
        if (!ReferenceEquals(network, _network))
        {
            _gradients = new Memory<float>[network.Layers.Count];
            _replaced = new LayerSignals?[network.Layers.Count];
            _kept = new (Memory<float>, Memory<float>)[network.Layers.Count];
        }

        Array.Clear(_replaced);
        _keptAcrossPasses = false;

        _network = network;
        _pass = pass;
        _batch = batch;
    }

    /// <summary>
    /// Replaces the recorded signals of <paramref name="layer"/> for this step (until the next recording) with
    /// <paramref name="signals"/>, whose buffers the caller keeps unchanged until then.
    /// </summary>
    internal void Replace(SparseLinear layer, LayerSignals signals) => _replaced[_network!.IndexOf(layer)] = signals;

    /// <summary>Keeps a copy of layer <paramref name="n"/>'s output gradient, when gradients are recorded.</summary>
    internal void Keep(int n, ReadOnlySpan<float> outputGradient)
    {
        if (!RecordsOutputGradients)
        {
            return;
        }

        if (_gradients[n].Length < outputGradient.Length)
        {
            _gradients[n] = Sparse.Core.AlignedMemory.Allocate(outputGradient.Length);
        }

        outputGradient.CopyTo(_gradients[n].Span);
    }
}
