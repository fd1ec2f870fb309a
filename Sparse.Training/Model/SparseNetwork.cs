using Sparse.Core;

namespace Sparse.Training;

/// <summary>
/// Layers applied in order, with the activation buffers they share. A user's loop calls
/// <see cref="Forward(ReadOnlySpan{float}, int, bool)"/>, a loss, <see cref="Backward"/> and an optimizer step; <see cref="Trainer"/> does
/// the same. Buffers grow to the largest batch seen, so warm steps allocate nothing.
/// </summary>
public sealed class SparseNetwork
{
    private readonly Layer[] _layers;
    private readonly Parameter[] _parameters;
    // 64-byte aligned (AlignedMemory) so the kernels' vector loads never straddle cache lines.
    private Memory<float>[] _activations = [];
    private Memory<float> _gradientA;
    private Memory<float> _gradientB;

    // Precision.Bf16: each sparse layer's input (by layer index; empty for other layers) and the upstream gradient in
    // bfloat16, the operands its kernels gather.
    private Memory<BFloat16>[] _halfInputs = [];
    private Memory<BFloat16> _halfGradient;
    private int _capacity;
    private int _lastBatch;

    // A batch of sparse rows given to Forward(Batch): the first layer reads it through SparseInputOps, and the input
    // buffer (_activations[0], allocated on first use) is written from it only when something asks for the input
    // (ActivationsAround: the signals of RigL and CTRE), so a wide sparse input costs its non-zeros.
    private Batch? _sparseInput;
    private bool _inputWritten;
    private readonly ActiveFeatures _active = new();

    // The first layer's weight entries that hold a gradient (ActiveEntries), and the structure version for which every
    // other entry of its gradient is zero (-1: not known to be).
    private int[] _activeEntries = [];
    private int[] _sortScratch = [];
    private int[] _runStarts = [];
    private int[] _runLengths = [];
    private long _zeroGradientVersion = -1;

    // Below one in this many of the first layer's connections, an optimizer steps only those of the batch's features.
    private const int LazyFraction = 8;

    /// <summary>Stacks <paramref name="layers"/>; each layer's input size must equal the previous one's output size.</summary>
    public SparseNetwork(IEnumerable<Layer> layers, InputNormalization? normalization = null)
    {
        _layers = [.. layers];
        if (_layers.Length == 0)
        {
            throw new ArgumentException("A network needs at least one layer.", nameof(layers));
        }

        for (var n = 1; n < _layers.Length; n++)
        {
            if (_layers[n].InputSize != _layers[n - 1].OutputSize)
            {
                throw new ArgumentException($"Layer {n} takes {_layers[n].InputSize} inputs but layer {n - 1} gives {_layers[n - 1].OutputSize}.", nameof(layers));
            }
        }

        if (normalization is not null && normalization.FeatureCount != InputSize)
        {
            throw new ArgumentException($"The normalization covers {normalization.FeatureCount} features, the network takes {InputSize}.", nameof(normalization));
        }

        Normalization = normalization;
        var parameters = new List<Parameter>();
        foreach (var layer in _layers)
        {
            parameters.AddRange(layer.Parameters);
        }

        _parameters = [.. parameters];
    }

    /// <summary>
    /// A multi-layer perceptron <c>sizes[0] -> sizes[1] -> ... -> sizes[^1]</c> of Erdos-Renyi sparse layers with
    /// <paramref name="activation"/> after each hidden layer (All-ReLU alternates its slope by layer) and
    /// optional dropout after each activation; the last layer is linear (the loss applies softmax).
    /// <paramref name="densities"/>, one per layer (from Sparse.Topology's ERK or uniform rules), replaces
    /// the Erdos-Renyi <paramref name="epsilon"/>. With a <paramref name="band"/>, each layer between two hidden layers
    /// connects a neuron only to a band of that many neurons of the layer below (<see cref="SparseLinear.Banded"/>), at
    /// the same expected count: the rows a kernel processes together then gather from a cache-sized part of a wide
    /// layer. The first layer (the data's features) and the last stay unbanded.
    /// </summary>
    public static SparseNetwork CreateMlp(
        IReadOnlyList<int> sizes,
        ActivationKind activation = ActivationKind.Relu,
        double epsilon = 20,
        ulong seed = 1,
        float dropout = 0,
        float slope = 0.6f,
        InputNormalization? normalization = null,
        IReadOnlyList<double>? densities = null,
        int? band = null)
    {
        if (band is <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(band), band, "A band holds at least one input.");
        }

        if (densities is not null && densities.Count != sizes.Count - 1)
        {
            throw new ArgumentException($"Give one density per layer ({sizes.Count - 1}), not {densities.Count}.", nameof(densities));
        }

        if (sizes.Count < 2)
        {
            throw new ArgumentException("An MLP needs an input size and an output size.", nameof(sizes));
        }

        var layers = new List<Layer>();
        var scaling = activation is ActivationKind.Tanh or ActivationKind.Sigmoid ? WeightScaling.Xavier : WeightScaling.He;
        for (var n = 0; n + 1 < sizes.Count; n++)
        {
            var density = densities?[n] ?? RandomSparse.ErdosRenyiDensity(sizes[n + 1], sizes[n], epsilon);
            var banded = band is { } width && n > 0 && n + 2 < sizes.Count ? width : int.MaxValue;
            layers.Add(SparseLinear.Banded(sizes[n], sizes[n + 1], density, banded, RandomStreams.Derive(seed, RandomPurpose.Initialization, (ulong)n), scaling));
            if (n + 2 < sizes.Count)
            {
                layers.Add(activation == ActivationKind.AllRelu
                    ? Activation.AllRelu(sizes[n + 1], n, slope)
                    : new Activation(activation, sizes[n + 1], activation == ActivationKind.LeakyRelu ? slope : 0.01f));
                if (dropout > 0)
                {
                    layers.Add(new Dropout(sizes[n + 1], dropout, RandomStreams.Derive(seed, RandomPurpose.Dropout, (ulong)n)));
                }
            }
        }

        return new SparseNetwork(layers, normalization);
    }

    /// <summary>The layers, first to last.</summary>
    public IReadOnlyList<Layer> Layers => _layers;

    /// <summary>Every trainable parameter, layer by layer.</summary>
    public IReadOnlyList<Parameter> Parameters => _parameters;

    /// <summary>The sparse layers, whose weights topology evolution rewires.</summary>
    public IEnumerable<SparseLinear> SparseLayers => _layers.OfType<SparseLinear>();

    /// <summary>How inputs are scaled before the first layer (applied by <see cref="BatchLoader"/>), or null.</summary>
    public InputNormalization? Normalization { get; set; }

    /// <summary>
    /// Threads, SIMD level and tiling of every kernel and vector loop of <see cref="Forward(ReadOnlySpan{float}, int, bool)"/> and
    /// <see cref="Backward"/>; <see cref="Trainer"/> passes the same to the loss, the optimizer step and the batch
    /// loader. Defaults to <see cref="ComputeOptions.Default"/>. Results are bitwise the same for any thread count.
    /// </summary>
    public ComputeOptions Compute
    {
        get => _compute;
        set => _compute = value ?? throw new ArgumentNullException(nameof(value));
    }

    private ComputeOptions _compute = ComputeOptions.Default;

    /// <summary>
    /// How the sparse layers' kernels store what they gather: <see cref="Precision.Fp32"/> (the default), or
    /// <see cref="Precision.Bf16"/>, where each sparse layer's input and upstream gradient are rounded to bfloat16
    /// copies that the kernels widen in registers. Weights, sums, gradients, optimizer state and every element-wise
    /// step stay in float. Bf16 halves the bytes of each gathered row, which pays where the rows come from memory
    /// (layers of 100,000 neurons and more); on layers whose rows stay cached the widening costs more than it saves
    /// (docs/performance.md). Applies to every Forward, training or not.
    /// </summary>
    public Precision Precision
    {
        get => _precision;
        set
        {
            if (!Enum.IsDefined(value))
            {
                throw new ArgumentOutOfRangeException(nameof(value), value, "Not a precision.");
            }

            if (value != _precision)
            {
                _precision = value;
                _capacity = 0;
            }
        }
    }

    private Precision _precision = Precision.Fp32;

    /// <summary>Samples in the last <see cref="Forward(ReadOnlySpan{float}, int, bool)"/>.</summary>
    public int LastBatchSize => _lastBatch;

    /// <summary>Forward passes run so far; a <see cref="SignalRecorder"/> is current while this has not moved on.</summary>
    internal long PassCount { get; private set; }

    /// <summary>Training forward passes run so far: a recording kept across passes (<see cref="SignalRecorder.KeepAcrossPasses"/>) is current until this moves on.</summary>
    internal long TrainingPassCount { get; private set; }

    private bool _lastForwardTrained;
    private Precision _lastForwardPrecision;

    /// <summary>Features in.</summary>
    public int InputSize => _layers[0].InputSize;

    /// <summary>Outputs (classes or regression targets).</summary>
    public int OutputSize => _layers[^1].OutputSize;

    /// <summary>Stored connections over all sparse layers.</summary>
    public long ConnectionCount => SparseLayers.Sum(l => l.ConnectionCount);

    /// <summary>
    /// Bytes held by the parameters: per connection a 4-byte value and a 4-byte column index, plus
    /// 8 bytes per row pointer and 4 per bias entry. Excludes gradients, optimizer state and the transposed view.
    /// </summary>
    public long ParameterBytes => SparseLayers.Sum(l => (l.ConnectionCount * 8) + ((l.Stored.Rows + 1L) * 8) + (l.Bias.Length * 4L));

    /// <summary>
    /// Runs the layers on <paramref name="input"/> (shape (InputSize, batch), already normalised) and
    /// returns the output, shape (OutputSize, batch), which stays valid until the next call.
    /// </summary>
    public ReadOnlySpan<float> Forward(ReadOnlySpan<float> input, int batch, bool training)
    {
        if (input.Length != InputSize * batch)
        {
            throw new ArgumentException($"Expected {InputSize} x {batch} inputs, got {input.Length}.", nameof(input));
        }

        EnsureCapacity(batch);
        input.CopyTo(InputBuffer().Span);
        _sparseInput = null;
        return Run(batch, training);
    }

    /// <summary>
    /// Runs the layers on a batch from a <see cref="BatchLoader"/>: its dense features, or its sparse rows
    /// (<see cref="Batch.IsSparse"/>), which a first <see cref="SparseLinear"/> layer reads as they are: the forward
    /// product and the weight gradient walk only the connections of the features the batch holds
    /// (<see cref="SparseInputOps"/>). The output, shape (OutputSize, batch), stays valid until the next call.
    /// </summary>
    /// <exception cref="ArgumentException">The batch's feature count is not <see cref="InputSize"/>.</exception>
    public ReadOnlySpan<float> Forward(Batch batch, bool training)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (!batch.IsSparse)
        {
            return Forward(batch.Features, batch.Size, training);
        }

        if (batch.FeatureCount != InputSize)
        {
            throw new ArgumentException($"Expected {InputSize} features a sample, the batch has {batch.FeatureCount}.", nameof(batch));
        }

        var size = batch.Size;
        EnsureCapacity(size);
        if (_layers[0] is not SparseLinear)
        {
            // Another first layer (a block of parallel networks) reads the rows written out.
            batch.WriteDense(InputBuffer().Span[..(InputSize * size)]);
            _sparseInput = null;
        }
        else
        {
            _sparseInput = batch;
            _inputWritten = false;
            if (training && StepsActiveInputsOnly)
            {
                ((SparseLinear)_layers[0]).StoreInputMajor();
            }
        }

        return Run(size, training);
    }

    private ReadOnlySpan<float> Run(int batch, bool training)
    {
        var steps = Plan.ForwardSteps;
        var first = 0;
        if (_sparseInput is { } rows)
        {
            // The first layer straight from the sparse rows, in float at any precision; its ReLU applied in place.
            var step = steps[0];
            var linear = (SparseLinear)_layers[0];
            var output = _activations[step.Kind == PlanStepKind.SparseRelu ? step.Last + 1 : 1].Span[..(linear.OutputSize * batch)];
            if (linear.IsInputMajor)
            {
                SparseInputOps.MultiplyInputMajor(linear.Stored, rows.RowPointers, rows.FeatureIndices, rows.Values, linear.Bias, output, batch, _compute);
            }
            else
            {
                SparseInputOps.Multiply(linear.Stored, rows.RowPointers, rows.FeatureIndices, rows.Values, linear.Bias, output, batch, _compute);
            }

            if (step.Kind == PlanStepKind.SparseRelu)
            {
                System.Numerics.Tensors.TensorPrimitives.Max(output, 0f, output);
            }

            first = 1;
        }

        for (var s = first; s < steps.Length; s++)
        {
            var step = steps[s];
            var layer = _layers[step.First];
            if (_precision == Precision.Bf16 && layer is SparseLinear sparse)
            {
                // Rounded once here, gathered by this forward product and again by the weight gradient.
                var half = HalfInput(step.First, batch).Span[..(sparse.InputSize * batch)];
                BFloat16.Convert(_activations[step.First].Span[..(sparse.InputSize * batch)], half, _compute);
                sparse.Forward(half, _activations[step.Last + 1].Span[..(sparse.OutputSize * batch)], batch, relu: step.Kind == PlanStepKind.SparseRelu, _compute);
            }
            else if (step.Kind == PlanStepKind.SparseRelu)
            {
                // Straight into the ReLU's output; the pre-activation buffer is left alone (the ReLU's backward
                // reads its output).
                var linear = (SparseLinear)layer;
                linear.ForwardRelu(_activations[step.First].Span[..(linear.InputSize * batch)], _activations[step.Last + 1].Span[..(linear.OutputSize * batch)], batch, _compute);
            }
            else
            {
                layer.Forward(
                    _activations[step.First].Span[..(layer.InputSize * batch)],
                    _activations[step.First + 1].Span[..(layer.OutputSize * batch)],
                    batch,
                    training,
                    _compute);
            }
        }

        _lastBatch = batch;
        _lastForwardTrained = training;
        _lastForwardPrecision = _precision;
        PassCount++;
        TrainingPassCount += training ? 1 : 0;
        return _activations[^1].Span[..(OutputSize * batch)];
    }

    /// <summary>
    /// Back-propagates dLoss/dOutput (shape (OutputSize, batch), read from the start of
    /// <paramref name="outputGradient"/>, which may be a longer reused buffer) through the last
    /// <see cref="Forward(ReadOnlySpan{float}, int, bool)"/>, overwriting every parameter's <see cref="Parameter.Gradient"/>. With a
    /// <paramref name="recorder"/>, the step's signals are recorded into it for topology evolution.
    /// </summary>
    /// <exception cref="InvalidOperationException">A recorder was given but the last forward pass was an evaluation, or <see cref="Precision"/> changed since it.</exception>
    public void Backward(ReadOnlySpan<float> outputGradient, SignalRecorder? recorder = null)
    {
        var batch = _lastBatch;
        if (outputGradient.Length < OutputSize * batch)
        {
            throw new ArgumentException($"Expected {OutputSize} x {batch} output gradients, got {outputGradient.Length}.", nameof(outputGradient));
        }

        if (_lastForwardPrecision != _precision)
        {
            throw new InvalidOperationException($"The last Forward ran in {_lastForwardPrecision}, and Precision is now {_precision}: run Forward again first.");
        }

        if (recorder is not null)
        {
            if (!_lastForwardTrained)
            {
                throw new InvalidOperationException("Signals are recorded from a training step: the last Forward was an evaluation (training: false).");
            }

            recorder.Begin(this, PassCount, batch);
        }

        outputGradient = outputGradient[..(OutputSize * batch)];
        if (_sparseInput is null && _layers[0] is SparseLinear dense && !dense.WeightParameter.ActiveEntries.IsEmpty)
        {
            // A dense input gives every entry a gradient: the whole layer steps again.
            dense.WeightParameter.ActiveEntries = default;
            _zeroGradientVersion = -1;
        }

        ReadOnlySpan<float> upstream = outputGradient;

        // Each step writes its input gradient into whichever buffer does not hold its upstream gradient.
        var writeA = true;
        foreach (var step in Plan.BackwardSteps)
        {
            var n = step.Last;
            var layer = _layers[n];

            // Nobody needs the gradient at the network's input.
            var inputGradient = step.First == 0 ? Span<float>.Empty : (writeA ? _gradientA : _gradientB).Span[..(layer.InputSize * batch)];
            writeA = !writeA;
            if (n == 0 && _sparseInput is { } rows)
            {
                SparseInputBackward((SparseLinear)layer, rows, upstream, batch);
            }
            else if (_precision == Precision.Bf16 && layer is SparseLinear sparse)
            {
                var half = Span<BFloat16>.Empty;
                if (!inputGradient.IsEmpty)
                {
                    half = _halfGradient.Span[..upstream.Length];
                    BFloat16.Convert(upstream, half, _compute);
                }

                sparse.Backward(
                    HalfInput(n, batch).Span[..(layer.InputSize * batch)],
                    _activations[n].Span[..(layer.InputSize * batch)],
                    upstream,
                    half,
                    inputGradient,
                    batch,
                    throughRelu: step.Kind == PlanStepKind.GatedTransposed,
                    _compute);
            }
            else if (step.Kind == PlanStepKind.GatedTransposed)
            {
                // The gradient goes on through the ReLU below (layer step.First) in the same pass.
                ((SparseLinear)layer).Backward(_activations[n].Span[..(layer.InputSize * batch)], upstream, inputGradient, batch, throughRelu: true, _compute);
            }
            else
            {
                layer.Backward(
                    _activations[n].Span[..(layer.InputSize * batch)],
                    _activations[n + 1].Span[..(layer.OutputSize * batch)],
                    upstream,
                    inputGradient,
                    batch,
                    _compute);
            }

            if (recorder is not null && layer is SparseLinear)
            {
                recorder.Keep(n, upstream);
            }

            upstream = inputGradient;
        }
    }

    /// <summary>
    /// Whether an optimizer steps only the first layer's connections whose feature occurs in the batch, when the batch
    /// is sparse rows (<see cref="Forward(Batch, bool)"/>) and those connections are fewer than an eighth of the layer's:
    /// <see cref="Parameter.ActiveEntries"/>, the lazy semantics of <see cref="Optimizer.Step"/> and of PyTorch's
    /// SparseAdam (an absent feature's connections keep their values and optimizer state: its momentum and moments do
    /// not decay, so with momentum or Adam a rare feature moves less per occurrence than under a full step). While on, a
    /// first <see cref="SparseLinear"/> layer trained on sparse rows is stored input-major
    /// (<see cref="SparseLinear.IsInputMajor"/>): a feature's connections are one run of the layer's arrays, so the
    /// forward product, the weight gradient and the lazy step read and write runs of memory, and a step costs the
    /// batch's non-zeros rather than the input's width (<c>Sparse.Bench sparse-input</c>, docs/performance.md). The
    /// layer is put in that order by the first training pass on sparse rows, and back, in O(nnz) with its gradient and
    /// optimizer state, whenever its <see cref="SparseLinear.Weights"/> are read (each evolution step and checkpoint:
    /// <c>Sparse.Bench input-major</c>). Off by default. Data-parallel training turns it off: its ranks hold different
    /// features, and their weights must stay the same.
    /// </summary>
    public bool StepsActiveInputsOnly { get; set; }

    /// <summary>Puts a first layer stored input-major back in the order <see cref="SparseLinear.Weights"/> gives.</summary>
    internal void StoreOutputMajor()
    {
        foreach (var layer in SparseLayers)
        {
            layer.StoreOutputMajor();
        }
    }

    // The first layer's gradients from a batch of sparse rows: the weight gradient at the connections of the features
    // the batch holds, zero at the others (which the last step left zero, unless its entries or structure changed).
    private void SparseInputBackward(SparseLinear first, Batch rows, ReadOnlySpan<float> upstream, int batch)
    {
        var gradient = first.WeightParameter.Gradient;
        var stored = first.Stored;
        var version = stored.StructureVersion;
        _active.Build(rows.RowPointers, rows.FeatureIndices, rows.Values, batch);
        if (_zeroGradientVersion != version)
        {
            Array.Clear(gradient);
        }
        else
        {
            ClearActive(first.WeightParameter);
        }

        if (first.IsInputMajor)
        {
            SparseInputOps.WeightGradientInputMajor(stored, upstream, _active, gradient, first.BiasParameter.Gradient, batch, _compute);
        }
        else
        {
            SparseInputOps.WeightGradient(stored, upstream, _active, gradient, first.BiasParameter.Gradient, batch, _compute);
        }

        // A lazy step pays per entry; when the entries are a large part of the layer, streaming through all of it is
        // faster (at 10,000 features and 100 a row, a batch of 128 holds 72 % of them). A lazy step writes the
        // gradient at its entries only, so the others stay zero.
        if (StepsActiveInputsOnly && first.IsInputMajor)
        {
            if (_runStarts.Length < _active.Count)
            {
                _runStarts = new int[Math.Max(_active.Count, 2 * _runStarts.Length)];
                _runLengths = new int[_runStarts.Length];
            }

            var runs = _active.RunsInputMajor(stored, _runStarts, _runLengths, out var entries);
            if (entries * LazyFraction < gradient.Length)
            {
                first.WeightParameter.SetActiveRuns(_runStarts, _runLengths, runs, entries);
                _zeroGradientVersion = version;
                return;
            }
        }

        if (StepsActiveInputsOnly && !first.IsInputMajor)
        {
            var count = _active.ConnectionCount(stored);
            if (count * LazyFraction < gradient.Length)
            {
                if (_activeEntries.Length < count)
                {
                    _activeEntries = new int[Math.Max(count, 2 * _activeEntries.Length)];
                    _sortScratch = new int[_activeEntries.Length];
                }

                _active.SortedPositions(stored, _activeEntries, _sortScratch);
                first.WeightParameter.ActiveEntries = _activeEntries.AsMemory(0, (int)count);
                _zeroGradientVersion = version;
                return;
            }
        }

        // A full step may write every entry of the gradient (weight decay is added into it): clear all next time.
        first.WeightParameter.ActiveEntries = default;
        _zeroGradientVersion = -1;
    }

    // Zeroes the gradient at the entries the last lazy step left in it.
    private static void ClearActive(Parameter weights)
    {
        var gradient = weights.Gradient.AsSpan();
        if (weights.ActiveRunCount > 0)
        {
            var starts = weights.ActiveRunStarts;
            var lengths = weights.ActiveRunLengths;
            for (var r = 0; r < starts.Length; r++)
            {
                gradient.Slice(starts[r], lengths[r]).Clear();
            }

            return;
        }

        foreach (var k in weights.ActiveEntries.Span)
        {
            gradient[k] = 0;
        }
    }

    /// <summary>
    /// Whether a sparse layer and the ReLU after it run as one kernel pass, forward (the ReLU applied as the
    /// sums are stored) and backward (the ReLU's derivative applied by the next sparse layer's input-gradient
    /// kernel). Bitwise the same results either way; off, every layer runs on its own. Tests compare the two.
    /// </summary>
    internal bool FuseActivations
    {
        get => _fuse;
        set
        {
            _fuse = value;
            _plan = null;
        }
    }

    private bool _fuse = true;
    private ExecutionPlan? _plan;

    /// <summary>The kernels a training step runs, in order (<see cref="ExecutionPlan"/>), compiled on first use.</summary>
    public ExecutionPlan Plan => _plan ??= ExecutionPlan.Compile(_layers, _fuse);

    /// <summary>The position of <paramref name="layer"/> in <see cref="Layers"/>.</summary>
    /// <exception cref="ArgumentException">It is not part of this network.</exception>
    internal int IndexOf(Layer layer)
    {
        var n = Array.IndexOf(_layers, layer);
        return n >= 0 ? n : throw new ArgumentException("The layer is not part of this network.", nameof(layer));
    }

    /// <summary>
    /// The last forward pass's input of layer <paramref name="n"/> (in, batch) and its output after the activation
    /// layer that follows it, if any (out, batch).
    /// </summary>
    internal (ReadOnlyMemory<float> Input, ReadOnlyMemory<float> Activation) ActivationsAround(int n, int batch)
    {
        if (n == 0 && _sparseInput is { } rows && !_inputWritten)
        {
            rows.WriteDense(InputBuffer().Span[..(InputSize * batch)]);
            _inputWritten = true;
        }

        var layer = _layers[n];
        var activated = n + 1 < _layers.Length && _layers[n + 1] is Activation or BlockLayer { IsActivation: true } ? n + 2 : n + 1;
        return (_activations[n][..(layer.InputSize * batch)], _activations[activated][..(layer.OutputSize * batch)]);
    }

    private void EnsureCapacity(int batch)
    {
        if (batch <= _capacity)
        {
            return;
        }

        // The input buffer is allocated on first use (InputBuffer): a batch of sparse rows may never need it.
        _activations = new Memory<float>[_layers.Length + 1];
        var widest = 0;
        for (var n = 0; n < _layers.Length; n++)
        {
            _activations[n + 1] = AlignedMemory.Allocate(_layers[n].OutputSize * batch, Compute.HugePages);
            widest = Math.Max(widest, _layers[n].OutputSize);
        }

        _gradientA = AlignedMemory.Allocate(widest * batch, Compute.HugePages);
        _gradientB = AlignedMemory.Allocate(widest * batch, Compute.HugePages);
        _halfInputs = new Memory<BFloat16>[_layers.Length];
        _halfGradient = default;
        if (_precision == Precision.Bf16)
        {
            for (var n = 1; n < _layers.Length; n++)
            {
                if (_layers[n] is SparseLinear)
                {
                    _halfInputs[n] = AlignedMemory.Allocate<BFloat16>(_layers[n].InputSize * batch, Compute.HugePages);
                }
            }

            _halfGradient = AlignedMemory.Allocate<BFloat16>(widest * batch, Compute.HugePages);
        }

        _capacity = batch;
    }

    // The dense input, (InputSize, capacity), allocated on first use.
    private Memory<float> InputBuffer()
    {
        if (_activations[0].Length < InputSize * _capacity)
        {
            _activations[0] = AlignedMemory.Allocate(InputSize * _capacity, Compute.HugePages);
        }

        return _activations[0];
    }

    // Layer n's input in bfloat16 (Precision.Bf16); the first layer's allocated on first use.
    private Memory<BFloat16> HalfInput(int n, int batch)
    {
        if (_halfInputs[n].Length < _layers[n].InputSize * batch)
        {
            _halfInputs[n] = AlignedMemory.Allocate<BFloat16>(_layers[n].InputSize * _capacity, Compute.HugePages);
        }

        return _halfInputs[n];
    }
}
