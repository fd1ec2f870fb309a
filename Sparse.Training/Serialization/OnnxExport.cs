using System.Globalization;
using System.Runtime.InteropServices;
using Google.Protobuf;
using Onnx;

namespace Sparse.Training;

/// <summary>How <see cref="OnnxExport"/> stores each sparse layer's weights.</summary>
public enum OnnxWeightFormat
{
    /// <summary>
    /// A dense <c>[outputs, inputs]</c> initializer with zeros where no connection exists: 4 bytes per
    /// input-output pair. Every ONNX runtime and converter reads it.
    /// </summary>
    Dense,

    /// <summary>
    /// A <c>sparse_initializer</c> (ONNX <c>SparseTensorProto</c>, COO with linear int64 indices in
    /// row-major order): 12 bytes per connection. ONNX Runtime densifies it when it loads the model, so the
    /// file shrinks but the runtime's memory and arithmetic are those of the dense layer.
    /// </summary>
    Sparse,
}

/// <summary>Settings of <see cref="OnnxExport"/>.</summary>
public sealed record OnnxExportOptions
{
    /// <summary>How sparse layers' weights are stored (default <see cref="OnnxWeightFormat.Dense"/>).</summary>
    public OnnxWeightFormat Weights { get; init; } = OnnxWeightFormat.Dense;

    /// <summary>The model's name in the file's graph (default <c>sparse</c>).</summary>
    public string GraphName { get; init; } = "sparse";
}

/// <summary>
/// Writes a trained network as an ONNX model (opset <see cref="Opset"/>) that any ONNX runtime can run.
/// </summary>
/// <remarks>
/// <para>
/// The graph reads raw feature rows <c>features: float[N, inputs]</c>, applies the saved input normalization
/// (<c>Sub</c>, <c>Mul</c>), each sparse layer as <c>Gemm</c> with its bias, each activation as its ONNX
/// operator (All-ReLU and leaky ReLU as <c>LeakyRelu</c> with the layer's signed slope), and drops dropout,
/// which is the identity at inference. With a classification schema it outputs
/// <c>probabilities: float[N, classes]</c> (<c>Softmax</c>) and <c>label: string[N]</c> (the class name of the
/// largest output); with a regression schema <c>value: float[N, 1]</c> in the target's units; without a
/// schema <c>outputs: float[N, outputs]</c>, the network's raw outputs.
/// </para>
/// <para>
/// The file is one protobuf message, which protobuf limits to 2 GiB; a network whose weights do not fit
/// gets an <see cref="InvalidOperationException"/> that says how large it would be.
/// </para>
/// </remarks>
public static class OnnxExport
{
    /// <summary>The ONNX operator set the graph uses.</summary>
    public const int Opset = 17;

    // ONNX IR version 8 is the one that introduced opset 17.
    private const long IrVersion = 8;

    // Protobuf's limit for one message, less room for the graph's other fields.
    private const long MaxPayloadBytes = int.MaxValue - (1L << 20);

    /// <summary>Writes <paramref name="checkpoint"/>'s network with the schema saved with it to <paramref name="path"/>, atomically.</summary>
    /// <exception cref="NotSupportedException">The network holds a layer type ONNX export does not know.</exception>
    /// <exception cref="InvalidOperationException">The weights would not fit in one ONNX file (2 GiB).</exception>
    public static void Save(string path, Checkpoint checkpoint, OnnxExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        Save(path, checkpoint.Network, checkpoint.Schema, options);
    }

    /// <summary>Writes <paramref name="network"/> to <paramref name="path"/> as an ONNX model, atomically.</summary>
    /// <param name="path">The file; written through a temporary file and renamed.</param>
    /// <param name="network">The network, with its input normalization.</param>
    /// <param name="schema">The table the model reads: names the inputs and decides the outputs (see the remarks on <see cref="OnnxExport"/>); null for raw outputs.</param>
    /// <param name="options">Weight format and graph name.</param>
    /// <exception cref="NotSupportedException">The network holds a layer type ONNX export does not know.</exception>
    /// <exception cref="InvalidOperationException">The weights would not fit in one ONNX file (2 GiB).</exception>
    public static void Save(string path, SparseNetwork network, TabularSchema? schema, OnnxExportOptions? options = null)
    {
        var model = Build(network, schema, options);
        AtomicFile.Write(path, stream => model.WriteTo(stream));
    }

    /// <summary>Bytes the weights of <paramref name="network"/> take in an ONNX file in <paramref name="format"/>.</summary>
    public static long WeightBytes(SparseNetwork network, OnnxWeightFormat format)
    {
        ArgumentNullException.ThrowIfNull(network);
        return network.SparseLayers.Sum(l => LayerBytes(l, format));
    }

    /// <summary>Writes the ONNX model of <paramref name="network"/> to <paramref name="stream"/>; see <see cref="Save(string, SparseNetwork, TabularSchema?, OnnxExportOptions?)"/>.</summary>
    /// <exception cref="NotSupportedException">The network holds a layer type ONNX export does not know.</exception>
    /// <exception cref="InvalidOperationException">The weights would not fit in one ONNX file (2 GiB).</exception>
    public static void Write(Stream stream, SparseNetwork network, TabularSchema? schema, OnnxExportOptions? options = null) =>
        Build(network, schema, options).WriteTo(stream);

    private static ModelProto Build(SparseNetwork network, TabularSchema? schema, OnnxExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(network);
        options ??= new OnnxExportOptions();
        schema?.Check(network);
        CheckSize(network, options.Weights);

        var graph = new GraphProto { Name = options.GraphName };
        graph.Input.Add(FloatRows("features", network.InputSize));
        var current = "features";
        if (network.Normalization is { } normalization)
        {
            graph.Initializer.Add(FloatTensor("normalization_offset", normalization.Offset, normalization.Offset.Length));
            graph.Initializer.Add(FloatTensor("normalization_scale", normalization.Scale, normalization.Scale.Length));
            current = Node(graph, "Sub", [current, "normalization_offset"], "centred");
            current = Node(graph, "Mul", [current, "normalization_scale"], "normalized");
        }

        for (var index = 0; index < network.Layers.Count; index++)
        {
            var name = $"layer{index}";
            switch (network.Layers[index])
            {
                case SparseLinear linear:
                    AddWeights(graph, $"{name}_weights", linear, options.Weights);
                    graph.Initializer.Add(FloatTensor($"{name}_bias", linear.Bias, linear.Bias.Length));
                    current = Node(graph, "Gemm", [current, $"{name}_weights", $"{name}_bias"], name, Int("transB", 1));
                    break;
                case Activation activation:
                    current = activation.Kind switch
                    {
                        ActivationKind.Relu => Node(graph, "Relu", [current], name),
                        ActivationKind.LeakyRelu or ActivationKind.AllRelu => Node(graph, "LeakyRelu", [current], name, Float("alpha", activation.Slope)),
                        ActivationKind.Tanh => Node(graph, "Tanh", [current], name),
                        ActivationKind.Sigmoid => Node(graph, "Sigmoid", [current], name),
                        _ => throw new NotSupportedException($"Layer {index}: ONNX export does not know activation {activation.Kind}."),
                    };
                    break;
                case Dropout:
                    break;
                default:
                    throw new NotSupportedException($"Layer {index}: ONNX export does not know layer type {network.Layers[index].GetType().Name}.");
            }
        }

        AddOutputs(graph, current, network.OutputSize, schema);
        var model = new ModelProto
        {
            IrVersion = IrVersion,
            ProducerName = "Sparse",
            ProducerVersion = typeof(OnnxExport).Assembly.GetName().Version?.ToString(3) ?? "0",
            Graph = graph,
            DocString = $"{network.InputSize} inputs -> {network.OutputSize} outputs, {network.ConnectionCount} connections.",
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = string.Empty, Version = Opset });
        if (schema is not null)
        {
            model.MetadataProps.Add(new StringStringEntryProto { Key = "schema", Value = schema.ToJson() });
        }

        return model;
    }

    private static void AddOutputs(GraphProto graph, string current, int outputs, TabularSchema? schema)
    {
        if (schema is null)
        {
            Node(graph, "Identity", [current], "outputs");
            graph.Output.Add(FloatRows("outputs", outputs));
        }
        else if (schema.IsClassification)
        {
            Node(graph, "Softmax", [current], "probabilities", Int("axis", 1));
            graph.Output.Add(FloatRows("probabilities", outputs));
            var classes = new TensorProto { Name = "class_names", DataType = (int)TensorProto.Types.DataType.String };
            classes.Dims.Add(schema.ClassNames.Count);
            classes.StringData.AddRange(schema.ClassNames.Select(ByteString.CopyFromUtf8));
            graph.Initializer.Add(classes);
            var best = Node(graph, "ArgMax", [current], "best_class", Int("axis", 1), Int("keepdims", 0));
            Node(graph, "Gather", ["class_names", best], "label", Int("axis", 0));
            graph.Output.Add(Value("label", TensorProto.Types.DataType.String, null));
        }
        else
        {
            graph.Initializer.Add(FloatTensor("target_scale", [(float)schema.TargetScale], 1));
            graph.Initializer.Add(FloatTensor("target_mean", [(float)schema.TargetMean], 1));
            var scaled = Node(graph, "Mul", [current, "target_scale"], "scaled");
            Node(graph, "Add", [scaled, "target_mean"], "value");
            graph.Output.Add(FloatRows("value", 1));
        }
    }

    private static void AddWeights(GraphProto graph, string name, SparseLinear layer, OnnxWeightFormat format)
    {
        var w = layer.Weights;
        var count = checked((int)w.NonZeroCount);
        if (format == OnnxWeightFormat.Dense)
        {
            // The dense matrix is written straight into the bytes the file holds: one copy, no float[,] beside it.
            var bytes = new byte[(long)w.Rows * w.Columns * sizeof(float)];
            var dense = MemoryMarshal.Cast<byte, float>(bytes.AsSpan());
            for (var r = 0; r < w.Rows; r++)
            {
                var row = dense.Slice(r * w.Columns, w.Columns);
                for (var k = w.RowPointers[r]; k < w.RowPointers[r + 1]; k++)
                {
                    row[w.ColumnIndices[k]] = w.Values[k];
                }
            }

            var tensor = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float, RawData = UnsafeByteOperations.UnsafeWrap(bytes) };
            tensor.Dims.Add(w.Rows);
            tensor.Dims.Add(w.Columns);
            graph.Initializer.Add(tensor);
            return;
        }

        // CSR order is row-major with sorted columns: exactly the canonical order ONNX asks of COO indices.
        var indices = new long[count];
        for (var r = 0; r < w.Rows; r++)
        {
            for (var k = w.RowPointers[r]; k < w.RowPointers[r + 1]; k++)
            {
                indices[k] = ((long)r * w.Columns) + w.ColumnIndices[k];
            }
        }

        var values = FloatTensor(name, w.Values, count);
        var indexTensor = new TensorProto { Name = name + "_indices", DataType = (int)TensorProto.Types.DataType.Int64, RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(indices.AsSpan())) };
        indexTensor.Dims.Add(count);
        var sparse = new SparseTensorProto { Values = values, Indices = indexTensor };
        sparse.Dims.Add(w.Rows);
        sparse.Dims.Add(w.Columns);
        graph.SparseInitializer.Add(sparse);
    }

    private static void CheckSize(SparseNetwork network, OnnxWeightFormat format)
    {
        var total = WeightBytes(network, format);
        if (total <= MaxPayloadBytes)
        {
            return;
        }

        var sparse = WeightBytes(network, OnnxWeightFormat.Sparse);
        throw new InvalidOperationException(
            $"The network's weights would take {Gib(total)} in an ONNX file with {format.ToString().ToLowerInvariant()} weights, and an ONNX file holds at most 2 GiB. " +
            (format == OnnxWeightFormat.Dense && sparse <= MaxPayloadBytes
                ? $"Sparse weights would take {Gib(sparse)}."
                : "The network is too large for one ONNX file."));
    }

    private static long LayerBytes(SparseLinear layer, OnnxWeightFormat format) =>
        (format == OnnxWeightFormat.Dense ? (long)layer.Weights.Rows * layer.Weights.Columns * sizeof(float) : layer.Weights.NonZeroCount * (sizeof(float) + sizeof(long)))
        + (layer.Bias.Length * sizeof(float));

    private static string Gib(long bytes) => (bytes / (double)(1L << 30)).ToString("F2", CultureInfo.InvariantCulture) + " GiB";

    private static string Node(GraphProto graph, string op, string[] inputs, string output, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = op, Name = output };
        node.Input.AddRange(inputs);
        node.Output.Add(output);
        node.Attribute.AddRange(attributes);
        graph.Node.Add(node);
        return output;
    }

    private static AttributeProto Int(string name, long value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    private static AttributeProto Float(string name, float value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

    private static TensorProto FloatTensor(string name, float[] values, int count)
    {
        var tensor = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float, RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(values.AsSpan(0, count))) };
        tensor.Dims.Add(count);
        return tensor;
    }

    private static ValueInfoProto FloatRows(string name, int width) => Value(name, TensorProto.Types.DataType.Float, width);

    // A tensor of rows: the batch dimension is symbolic (N); width null for a rank-1 output.
    private static ValueInfoProto Value(string name, TensorProto.Types.DataType type, int? width)
    {
        var shape = new TensorShapeProto();
        shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimParam = "N" });
        if (width is { } w)
        {
            shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = w });
        }

        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape } } };
    }
}
