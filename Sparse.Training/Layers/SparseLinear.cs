using Sparse.Core;

namespace Sparse.Training;

/// <summary>
/// A truly sparse fully connected layer <c>y = W x + b</c>: W is a <see cref="CsrMatrix"/> of shape
/// (out, in) holding only its connections, b a dense bias of <c>out</c> entries.
/// </summary>
public sealed class SparseLinear : Layer
{
    private readonly Parameter[] _parameters;

    /// <summary>Wraps existing weights (shape (out, in)) and a bias of <c>out</c> entries (zeros when null).</summary>
    public SparseLinear(CsrMatrix weights, float[]? bias = null)
    {
        ArgumentNullException.ThrowIfNull(weights);
        bias ??= new float[weights.Rows];
        if (bias.Length != weights.Rows)
        {
            throw new ArgumentException($"Bias must have {weights.Rows} entries, has {bias.Length}.", nameof(bias));
        }

        _weights = weights;
        Bias = bias;
        WeightParameter = new Parameter("weights", weights);
        BiasParameter = new Parameter("bias", bias, decays: false);
        _parameters = [WeightParameter, BiasParameter];
    }

    /// <summary>
    /// A layer <paramref name="inputs"/> -> <paramref name="outputs"/> with Erdos-Renyi connections
    /// (SET's <paramref name="epsilon"/>) and He-normal values scaled by each neuron's expected fan-in.
    /// </summary>
    public static SparseLinear ErdosRenyi(int inputs, int outputs, double epsilon, ulong seed, WeightScaling scaling = WeightScaling.He) =>
        WithDensity(inputs, outputs, RandomSparse.ErdosRenyiDensity(outputs, inputs, epsilon), seed, scaling);

    /// <summary>
    /// A layer whose connections are each present with probability <paramref name="density"/>, values scaled
    /// by the expected fan-in (He) or fan-in and fan-out (Xavier).
    /// </summary>
    public static SparseLinear WithDensity(int inputs, int outputs, double density, ulong seed, WeightScaling scaling = WeightScaling.He) =>
        Banded(inputs, outputs, density, int.MaxValue, seed, scaling);

    /// <summary>
    /// A layer whose output neurons each connect only to a band of <paramref name="band"/> inputs
    /// (<see cref="RandomSparse.Banded"/>), with the expected count and value scale of
    /// <see cref="WithDensity"/>; a band as wide as the inputs is <see cref="WithDensity"/>'s layer.
    /// </summary>
    public static SparseLinear Banded(int inputs, int outputs, double density, int band, ulong seed, WeightScaling scaling = WeightScaling.He)
    {
        var fanIn = Math.Max(1.0, density * inputs);
        var fanOut = Math.Max(1.0, density * outputs);
        var std = scaling == WeightScaling.He ? Math.Sqrt(2.0 / fanIn) : Math.Sqrt(2.0 / (fanIn + fanOut));
        return new SparseLinear(RandomSparse.Banded(outputs, inputs, density, band, ValueDistribution.Normal((float)std), seed));
    }

    private readonly CsrMatrix _weights;

    /// <summary>
    /// W, shape (out, in). A layer stored input-major (<see cref="IsInputMajor"/>) is first put back in this order,
    /// in O(nnz), with its gradient and optimizer state.
    /// </summary>
    public CsrMatrix Weights
    {
        get
        {
            StoreOutputMajor();
            return _weights;
        }
    }

    /// <summary>
    /// Whether the connections are stored input-major: the matrix holds W<sup>T</sup>, shape (in, out), so that the
    /// connections of one input lie side by side. A first layer trained on sparse rows with
    /// <see cref="SparseNetwork.StepsActiveInputsOnly"/> on is stored so: a batch then touches a run of memory per
    /// feature it holds, where output-major order scatters a feature's connections over every row. Reading
    /// <see cref="Weights"/> puts the layer back output-major, so, like the rest of a network, a layer stored
    /// input-major is not to be read from two threads at once.
    /// </summary>
    public bool IsInputMajor { get; private set; }

    /// <summary>Stored connections, in either order.</summary>
    public long ConnectionCount => _weights.NonZeroCount;

    /// <summary>The matrix as stored: W, or W<sup>T</sup> when <see cref="IsInputMajor"/>.</summary>
    internal CsrMatrix Stored => _weights;

    /// <summary>
    /// Stores the connections input-major (W<sup>T</sup>) in O(nnz); the gradient and every optimizer's state follow,
    /// and <see cref="Parameter.ActiveEntries"/> is cleared. <see cref="SparseNetwork"/> does this for a first layer
    /// trained on sparse rows.
    /// </summary>
    public void StoreInputMajor()
    {
        if (!IsInputMajor)
        {
            Transpose();
        }
    }

    /// <summary>Stores the connections output-major (W), the order <see cref="Weights"/> gives, in O(nnz); the gradient and every optimizer's state follow.</summary>
    public void StoreOutputMajor()
    {
        if (IsInputMajor)
        {
            Transpose();
        }
    }

    private void Transpose()
    {
        // One fresh array: each array that follows the order is gathered into the one the previous left free.
        var spare = GC.AllocateUninitializedArray<float>((int)_weights.NonZeroCount);
        var source = _weights.TransposeInPlace(ref spare);
        IsInputMajor = !IsInputMajor;
        WeightParameter.Reorder(source, IsInputMajor, ref spare);
    }

    /// <summary>b, <c>out</c> entries.</summary>
    public float[] Bias { get; }

    /// <summary>The weights as a parameter: values and gradient aligned with the stored connections.</summary>
    public Parameter WeightParameter { get; }

    /// <summary>The bias as a parameter.</summary>
    public Parameter BiasParameter { get; }

    /// <inheritdoc/>
    public override int InputSize => IsInputMajor ? _weights.Rows : _weights.Columns;

    /// <inheritdoc/>
    public override int OutputSize => IsInputMajor ? _weights.Columns : _weights.Rows;

    /// <inheritdoc/>
    public override IReadOnlyList<Parameter> Parameters => _parameters;

    /// <inheritdoc/>
    // x: (in, batch) -> y: (out, batch)
    public override void Forward(ReadOnlySpan<float> input, Span<float> output, int batch, bool training, ComputeOptions? options = null) =>
        SparseOps.Multiply(Weights, input, Bias, output, batch, options);

    /// <summary>
    /// Applies a rewiring: the weights take <paramref name="map"/>'s structure and values, the weight gradient
    /// is resized, and every per-connection state of <paramref name="optimizer"/> moves with its connection (new
    /// connections start at zero state). The only way a layer's connections change.
    /// </summary>
    /// <exception cref="ArgumentException">The map breaks a CSR invariant, its arrays differ in length, or a source
    /// is not -1 or an entry of the current structure; nothing is changed.</exception>
    public void Rewire(ConnectionMap map, Optimizer? optimizer)
    {
        if (map.Values.Length != map.Count)
        {
            throw new ArgumentException($"A map of {map.Count} connections needs as many values, got {map.Values.Length}.", nameof(map));
        }

        CheckSources(map.Source.Span, map.Count, nameof(map));
        Apply(map, optimizer);
    }

    /// <summary>
    /// Applies a rewiring given as the kept part of the structure and the connections added to it, merged row by row
    /// (<see cref="ConnectionMap.Merge(ConnectionMap, CooMatrix, long[], int[], float[])"/>). At a constant budget the
    /// merge is written over the layer's own arrays, which saves the step's largest allocation on layers of hundreds of
    /// millions of connections; it checks the additions against the kept entries before it writes anything.
    /// </summary>
    /// <param name="kept">The connections kept, each with its entry in the current structure as its source.</param>
    /// <param name="added">The new connections (state starts at zero), none at a kept position and none twice.</param>
    /// <param name="optimizer">Its per-connection state moves with the connections; null for none.</param>
    /// <exception cref="ArgumentException">An added connection is already kept or added twice, the shapes differ, or a
    /// source is not an entry of the current structure; nothing is changed.</exception>
    public void Rewire(ConnectionMap kept, CooMatrix added, Optimizer? optimizer)
    {
        ArgumentNullException.ThrowIfNull(added);
        if (added.Columns != Weights.Columns || kept.Rows != Weights.Rows)
        {
            throw new ArgumentException($"A rewiring of {kept.Rows} rows and {added.Columns} columns for a layer of {Weights.Rows} x {Weights.Columns}.", nameof(added));
        }

        CheckSources(kept.Source.Span, kept.Count, nameof(kept));
        var total = kept.Count + added.Count;
        using var source = new ScratchArray<int>(total);
        var same = total == Weights.NonZeroCount;
        var map = ConnectionMap.Merge(kept, added, same ? Weights.RowPointers : null, same ? Weights.ColumnIndices : null, same ? Weights.Values : null, source.Array);
        Apply(map, optimizer);
    }

    private void CheckSources(ReadOnlySpan<int> source, int count, string paramName)
    {
        if (source.Length != count)
        {
            throw new ArgumentException($"A map of {count} connections needs as many sources, got {source.Length}.", paramName);
        }

        var old = (uint)Weights.NonZeroCount;
        for (var k = 0; k < source.Length; k++)
        {
            // -1 passes as the largest uint plus one; anything else must index an old entry.
            if ((uint)(source[k] + 1) > old)
            {
                throw new ArgumentException($"Entry {k} of the map keeps old entry {source[k]}, but the layer has {old} entries.", paramName);
            }
        }
    }

    private void Apply(ConnectionMap map, Optimizer? optimizer)
    {
        Weights.ReplaceStructure(map.RowPointers, map.ColumnIndices, map.Values);
        WeightParameter.SyncGradient();
        optimizer?.RemapState(WeightParameter, map.Source.Span);
    }

    /// <summary>This layer and a ReLU after it in one pass: <c>output = max(W x + b, 0)</c>, the pre-activation never stored.</summary>
    internal void ForwardRelu(ReadOnlySpan<float> input, Span<float> output, int batch, ComputeOptions options) =>
        SparseOps.MultiplyRelu(Weights, input, Bias, output, batch, options);

    /// <summary>
    /// The forward product gathering its input in bfloat16 (<see cref="Precision.Bf16"/>), optionally with the ReLU
    /// after it fused: <c>output = W x + b</c> or <c>max(W x + b, 0)</c>, summed in float.
    /// </summary>
    internal void Forward(ReadOnlySpan<BFloat16> input, Span<float> output, int batch, bool relu, ComputeOptions options)
    {
        if (relu)
        {
            SparseOps.MultiplyRelu(Weights, input, Bias, output, batch, options);
        }
        else
        {
            SparseOps.Multiply(Weights, input, Bias, output, batch, options);
        }
    }

    /// <summary>
    /// The backward pass gathering in bfloat16 (<see cref="Precision.Bf16"/>): the weight gradient gathers
    /// <paramref name="input"/> against the float <paramref name="outputGradient"/> (and sums it for the bias); the
    /// input gradient gathers <paramref name="outputGradientHalf"/>, through the ReLU whose output is
    /// <paramref name="gate"/> when <paramref name="throughRelu"/>. Gradients are float.
    /// </summary>
    internal void Backward(ReadOnlySpan<BFloat16> input, ReadOnlySpan<float> gate, ReadOnlySpan<float> outputGradient, ReadOnlySpan<BFloat16> outputGradientHalf, Span<float> inputGradient, int batch, bool throughRelu, ComputeOptions options)
    {
        SparseOps.WeightGradient(Weights, outputGradient, input, WeightParameter.Gradient, BiasParameter.Gradient, batch, options);
        if (inputGradient.IsEmpty)
        {
            return;
        }

        if (throughRelu)
        {
            SparseOps.MultiplyTransposedGated(Weights, outputGradientHalf, gate, inputGradient, batch, options);
        }
        else
        {
            SparseOps.MultiplyTransposed(Weights, outputGradientHalf, inputGradient, batch, options);
        }
    }

    /// <inheritdoc/>
    // dW[k] = dy[j,:] . x[i,:]; db[j] = sum_b dy[j,b]; dx = W^T dy
    public override void Backward(ReadOnlySpan<float> input, ReadOnlySpan<float> output, ReadOnlySpan<float> outputGradient, Span<float> inputGradient, int batch, ComputeOptions? options = null) =>
        Backward(input, outputGradient, inputGradient, batch, throughRelu: false, options ?? ComputeOptions.Default);

    /// <summary>
    /// <see cref="Backward(ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, int, ComputeOptions)"/> for a layer
    /// whose input is a ReLU's output, carrying the input gradient on through that ReLU in the same pass: the
    /// result is the gradient at the ReLU's input, masked where this layer's input is not above zero.
    /// </summary>
    internal void Backward(ReadOnlySpan<float> input, ReadOnlySpan<float> outputGradient, Span<float> inputGradient, int batch, bool throughRelu, ComputeOptions options)
    {
        SparseOps.WeightGradient(Weights, outputGradient, input, WeightParameter.Gradient, BiasParameter.Gradient, batch, options);

        if (inputGradient.IsEmpty)
        {
            return;
        }

        if (throughRelu)
        {
            SparseOps.MultiplyTransposedGated(Weights, outputGradient, input, inputGradient, batch, options);
        }
        else
        {
            SparseOps.MultiplyTransposed(Weights, outputGradient, inputGradient, batch, options);
        }
    }
}

/// <summary>How initial weights are scaled by the fan-in of each neuron.</summary>
public enum WeightScaling
{
    /// <summary>Normal with variance 2 / fan-in (for ReLU-like activations).</summary>
    He,

    /// <summary>Normal with variance 2 / (fan-in + fan-out) (for tanh and sigmoid).</summary>
    Xavier,
}
