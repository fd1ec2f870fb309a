using Sparse.Core;
using static Sparse.Training.BinaryCodec;

namespace Sparse.Training;

/// <summary>
/// The <c>network</c> section of a checkpoint: the input normalization, then each layer (sparse layers as their CSR
/// arrays and bias, activations by kind, dropout with its random stream's position). Reading checks every matrix
/// invariant and that no value is NaN or infinite.
/// </summary>
internal static class NetworkSection
{
    public const string Name = "network";
    public const int Version = 1;

    private enum LayerTag : byte
    {
        Linear = 1,
        Activation = 2,
        Dropout = 3,
    }

    public static void Write(BinaryWriter w, SparseNetwork network)
    {
        var normalization = network.Normalization;
        w.Write(normalization is not null);
        if (normalization is not null)
        {
            w.Write((int)normalization.Kind);
            WriteArray<float>(w, normalization.Offset);
            WriteArray<float>(w, normalization.Scale);
        }

        w.Write(network.Layers.Count);
        foreach (var layer in network.Layers)
        {
            switch (layer)
            {
                case SparseLinear linear:
                    w.Write((byte)LayerTag.Linear);
                    w.Write(linear.Weights.Rows);
                    w.Write(linear.Weights.Columns);
                    WriteArray<long>(w, linear.Weights.RowPointers);
                    WriteArray<int>(w, linear.Weights.ColumnIndices);
                    WriteArray<float>(w, linear.Weights.Values);
                    WriteArray<float>(w, linear.Bias);
                    break;
                case Activation activation:
                    w.Write((byte)LayerTag.Activation);
                    w.Write((int)activation.Kind);
                    w.Write(activation.Size);
                    w.Write(activation.Slope);
                    break;
                case Dropout dropout:
                    w.Write((byte)LayerTag.Dropout);
                    w.Write(dropout.Size);
                    w.Write(dropout.Rate);
                    w.Write(dropout.Seed);
                    w.Write(dropout.Calls);
                    break;
                default:
                    throw new NotSupportedException($"Layer type {layer.GetType().Name} cannot be saved.");
            }
        }
    }

    public static SparseNetwork Read(BinaryReader r)
    {
        InputNormalization? normalization = null;
        if (r.ReadBoolean())
        {
            var kind = (NormalizationKind)r.ReadInt32();
            normalization = new InputNormalization(kind, ReadArray<float>(r), ReadArray<float>(r));
        }

        var count = r.ReadInt32();
        if (count is <= 0 or > 100_000)
        {
            throw new InvalidDataException($"layer count {count} is not plausible");
        }

        var layers = new List<Layer>(count);
        for (var n = 0; n < count; n++)
        {
            var tag = (LayerTag)r.ReadByte();
            switch (tag)
            {
                case LayerTag.Linear:
                    var rows = r.ReadInt32();
                    var columns = r.ReadInt32();
                    var matrix = new CsrMatrix(rows, columns, ReadArray<long>(r), ReadArray<int>(r), ReadArray<float>(r));
                    layers.Add(new SparseLinear(matrix, ReadArray<float>(r)));
                    break;
                case LayerTag.Activation:
                    var kind = (ActivationKind)r.ReadInt32();
                    if (!Enum.IsDefined(kind))
                    {
                        throw new InvalidDataException($"unknown activation {(int)kind} in layer {n}");
                    }

                    layers.Add(new Activation(kind, r.ReadInt32(), r.ReadSingle()));
                    break;
                case LayerTag.Dropout:
                    layers.Add(new Dropout(r.ReadInt32(), r.ReadSingle(), r.ReadUInt64()) { Calls = r.ReadInt64() });
                    break;
                default:
                    throw new InvalidDataException($"unknown layer type {(byte)tag} in layer {n}");
            }
        }

        var network = new SparseNetwork(layers, normalization);
        CheckFinite(network);
        return network;
    }

    // The normalization's size is checked by the SparseNetwork constructor; its values and the parameters here.
    private static void CheckFinite(SparseNetwork network)
    {
        if (network.Normalization is { } n && (Divergence.FirstNonFinite(n.Offset) >= 0 || Divergence.FirstNonFinite(n.Scale) >= 0))
        {
            throw new InvalidDataException("the input normalization holds a NaN or infinite value");
        }

        if (Divergence.FirstNonFiniteParameter(network) is { } bad)
        {
            throw new InvalidDataException(bad.IsBias
                ? $"sparse layer {bad.Layer} holds bias {bad.Value} at neuron {bad.Index} (the model diverged or the file is damaged)"
                : $"sparse layer {bad.Layer} holds weight {bad.Value} at entry {bad.Index} (the model diverged or the file is damaged)");
        }
    }
}
