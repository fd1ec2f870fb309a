using System.IO.Hashing;
using System.Runtime.InteropServices;
using Sparse.Core;

namespace Sparse.Training;

/// <summary>
/// A saved model, optionally with what resuming needs (optimizer state, next epoch, history).
/// </summary>
/// <remarks>
/// Format (little-endian): the 8-byte magic <c>SPARSENN</c>, an int32 version, the payload, and the
/// CRC-32 of the payload. The payload holds the input normalization, each layer (sparse layers as
/// their CSR arrays and bias), then an optional training section. Files are written to a temporary
/// file beside the target and renamed over it, so a crash never leaves a half-written model; loading
/// checks the magic, version, checksum and every matrix invariant, and never returns a partial model.
/// </remarks>
public sealed class Checkpoint
{
    /// <summary>The format version this build writes; it reads this one and every earlier one.</summary>
    /// <remarks>Version 2 adds each epoch's evaluation seconds and connections pruned and grown per layer.</remarks>
    public const int FormatVersion = 2;

    private static readonly byte[] Magic = "SPARSENN"u8.ToArray();

    /// <summary>The metadata entry that holds <see cref="Schema"/> as JSON.</summary>
    public const string SchemaKey = "schema";

    /// <summary>The largest epoch a file may record: far beyond any run, small enough to catch a damaged number.</summary>
    public const int MaxEpoch = 100_000_000;

    private Checkpoint(SparseNetwork network, Optimizer? optimizer, int epoch, float baseLearningRate, TrainingHistory history, IReadOnlyDictionary<string, string> metadata)
    {
        Schema = ReadSchema(metadata);
        Schema?.Check(network);
        Network = network;
        Optimizer = optimizer;
        Epoch = epoch;
        BaseLearningRate = baseLearningRate;
        History = history;
        Metadata = metadata;
    }

    /// <summary>The model.</summary>
    public SparseNetwork Network { get; }

    /// <summary>The optimizer with its state, when the file was saved for resuming.</summary>
    public Optimizer? Optimizer { get; }

    /// <summary>The epoch to resume at (epochs finished).</summary>
    public int Epoch { get; }

    /// <summary>The learning rate the schedule starts from.</summary>
    public float BaseLearningRate { get; }

    /// <summary>The training history saved with the model (empty when none was given).</summary>
    public TrainingHistory History { get; }

    /// <summary>Free-form facts saved with the model.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>The table the model reads (feature names, label, task, classes, target scale), when it was saved with one.</summary>
    public TabularSchema? Schema { get; }

    /// <summary>Batches of <see cref="Epoch"/> already trained when an interrupted run saved this file (0 otherwise).</summary>
    public int ResumeBatch => Metadata.TryGetValue(Trainer.ResumeBatchKey, out var batch) ? int.Parse(batch, System.Globalization.CultureInfo.InvariantCulture) : 0;

    /// <summary>
    /// Writes <paramref name="network"/> (and, when given, the optimizer state, epoch and history) to
    /// <paramref name="path"/> atomically.
    /// </summary>
    /// <param name="path">The file; written through a temporary file beside it and renamed.</param>
    /// <param name="network">The model.</param>
    /// <param name="optimizer">The optimizer, when the file is for resuming.</param>
    /// <param name="epoch">Epochs finished.</param>
    /// <param name="baseLearningRate">The rate the schedule starts from (default: the optimizer's).</param>
    /// <param name="history">Per-epoch records.</param>
    /// <param name="metadata">Free-form entries.</param>
    /// <param name="schema">The table the model reads, checked against the network.</param>
    /// <exception cref="InvalidDataException"><paramref name="schema"/> does not fit the network.</exception>
    public static void Save(string path, SparseNetwork network, Optimizer? optimizer = null, int epoch = 0, float? baseLearningRate = null, TrainingHistory? history = null,
        IReadOnlyDictionary<string, string>? metadata = null, TabularSchema? schema = null)
    {
        ArgumentNullException.ThrowIfNull(network);
        schema?.Check(network);
        if (schema is not null)
        {
            metadata = new Dictionary<string, string>(metadata ?? new Dictionary<string, string>()) { [SchemaKey] = schema.ToJson() };
        }

        AtomicFile.Write(path, file =>
        {
            file.Write(Magic);
            var header = new BinaryWriter(file);
            header.Write(FormatVersion);
            var crc = new Crc32();
            using (var hashing = new HashingStream(file, crc))
            using (var writer = new BinaryWriter(hashing, System.Text.Encoding.UTF8, leaveOpen: true))
            {
                WritePayload(writer, network, optimizer, epoch, baseLearningRate ?? optimizer?.LearningRate ?? 0, history, metadata);
            }

            header.Write(crc.GetCurrentHashAsUInt32());
            header.Flush();
        });
    }

    /// <summary>Reads a file written by <see cref="Save"/>.</summary>
    /// <exception cref="InvalidDataException">The file is not a model, has another version, is truncated or corrupted; the message says which.</exception>
    public static Checkpoint Load(string path)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        try
        {
            Span<byte> magic = stackalloc byte[8];
            file.ReadExactly(magic);
            if (!magic.SequenceEqual(Magic))
            {
                throw new InvalidDataException($"{path}: not a Sparse model file (bad magic number).");
            }

            var header = new BinaryReader(file);
            var version = header.ReadInt32();
            if (version is < 1 or > FormatVersion)
            {
                throw new InvalidDataException($"{path}: model format version {version}; this build reads versions 1 to {FormatVersion}" +
                    (version > FormatVersion ? "; the file was written by a newer build." : "."));
            }

            var crc = new Crc32();
            Checkpoint checkpoint;
            using (var hashing = new HashingStream(file, crc))
            using (var reader = new BinaryReader(hashing, System.Text.Encoding.UTF8, leaveOpen: true))
            {
                checkpoint = ReadPayload(reader, version);
            }

            var expected = header.ReadUInt32();
            if (expected != crc.GetCurrentHashAsUInt32())
            {
                throw new InvalidDataException($"{path}: corrupted (checksum mismatch).");
            }

            if (file.Position != file.Length)
            {
                throw new InvalidDataException($"{path}: corrupted ({file.Length - file.Position} unexpected bytes after the end).");
            }

            return checkpoint;
        }
        catch (EndOfStreamException)
        {
            throw new InvalidDataException($"{path}: truncated (the file ends before the model does).");
        }
        catch (InvalidDataException e) when (!e.Message.StartsWith(path, StringComparison.Ordinal))
        {
            throw new InvalidDataException($"{path}: corrupted ({e.Message})", e);
        }
        catch (Exception e) when (e is ArgumentException or OverflowException or OutOfMemoryException or FormatException or InvalidOperationException)
        {
            throw new InvalidDataException($"{path}: corrupted ({e.Message})", e);
        }
    }

    private enum LayerTag : byte
    {
        Linear = 1,
        Activation = 2,
        Dropout = 3,
    }

    private enum OptimizerTag : byte
    {
        None = 0,
        Sgd = 1,
        Adam = 2,
    }

    private static void WritePayload(BinaryWriter w, SparseNetwork network, Optimizer? optimizer, int epoch, float baseLearningRate, TrainingHistory? history,
        IReadOnlyDictionary<string, string>? metadata)
    {
        w.Write(metadata?.Count ?? 0);
        foreach (var (key, value) in metadata ?? new Dictionary<string, string>())
        {
            w.Write(key);
            w.Write(value);
        }

        var normalization = network.Normalization;
        w.Write(normalization is not null);
        if (normalization is not null)
        {
            w.Write((int)normalization.Kind);
            WriteArray(w, normalization.Offset);
            WriteArray(w, normalization.Scale);
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
                    WriteArray(w, linear.Weights.RowPointers);
                    WriteArray(w, linear.Weights.ColumnIndices);
                    WriteArray(w, linear.Weights.Values);
                    WriteArray(w, linear.Bias);
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

        w.Write(epoch);
        w.Write(baseLearningRate);
        var records = history?.Epochs ?? [];
        w.Write(records.Count);
        w.Write(history?.StoppedEarly ?? false);
        foreach (var r in records)
        {
            w.Write(r.Epoch);
            w.Write(r.TrainLoss);
            WriteNullable(w, r.TrainAccuracy);
            WriteNullable(w, r.TestLoss);
            WriteNullable(w, r.TestAccuracy);
            w.Write(r.Seconds);
            w.Write(r.EvolutionSeconds);
            w.Write(r.Connections);
            w.Write(r.LearningRate);
            WriteArray(w, r.LayerConnections.ToArray());
            w.Write(r.EvaluationSeconds);
            WriteArray(w, r.LayerPruned.ToArray());
            WriteArray(w, r.LayerGrown.ToArray());
        }

        switch (optimizer)
        {
            case null:
                w.Write((byte)OptimizerTag.None);
                return;
            case Sgd sgd:
                w.Write((byte)OptimizerTag.Sgd);
                w.Write(sgd.Momentum);
                w.Write(sgd.Nesterov);
                w.Write(sgd.WeightDecay);
                break;
            case Adam adam:
                w.Write((byte)OptimizerTag.Adam);
                w.Write(adam.Beta1);
                w.Write(adam.Beta2);
                w.Write(adam.Epsilon);
                w.Write(adam.WeightDecay);
                w.Write(adam.Decoupled);
                break;
            default:
                throw new NotSupportedException($"Optimizer type {optimizer.GetType().Name} cannot be saved.");
        }

        w.Write(optimizer.LearningRate);
        w.Write(optimizer.StepCount);
        foreach (var parameter in network.Parameters)
        {
            foreach (var slot in optimizer.StateOf(parameter))
            {
                WriteArray(w, slot);
            }
        }
    }

    private static Checkpoint ReadPayload(BinaryReader r, int version)
    {
        var entries = r.ReadInt32();
        if (entries is < 0 or > 1_000_000)
        {
            throw new InvalidDataException($"metadata count {entries} is not plausible");
        }

        var metadata = new Dictionary<string, string>(entries);
        for (var n = 0; n < entries; n++)
        {
            metadata[r.ReadString()] = r.ReadString();
        }

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
        var epoch = r.ReadInt32();
        if (epoch is < 0 or > MaxEpoch)
        {
            throw new InvalidDataException($"epoch {epoch} is out of range (0 to {MaxEpoch})");
        }

        if (metadata.TryGetValue(Trainer.ResumeBatchKey, out var resumeBatch)
            && (!int.TryParse(resumeBatch, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var batch) || batch < 0))
        {
            throw new InvalidDataException($"resume batch '{resumeBatch}' is not a whole number of 0 or more");
        }

        var baseLearningRate = r.ReadSingle();
        if (!float.IsFinite(baseLearningRate) || baseLearningRate < 0)
        {
            throw new InvalidDataException($"base learning rate {baseLearningRate} is not a finite number of 0 or more");
        }

        var history = new TrainingHistory();
        var records = r.ReadInt32();
        history.StoppedEarly = r.ReadBoolean();
        for (var n = 0; n < records; n++)
        {
            var record = new EpochRecord(
                r.ReadInt32(), r.ReadSingle(), ReadNullable(r), ReadNullable(r), ReadNullable(r), r.ReadDouble(), r.ReadDouble(), r.ReadInt64(), r.ReadSingle())
            {
                LayerConnections = ReadArray<long>(r),
            };
            if (version >= 2)
            {
                record = record with { EvaluationSeconds = r.ReadDouble(), LayerPruned = ReadArray<long>(r), LayerGrown = ReadArray<long>(r) };
            }

            history.Epochs.Add(record);
        }

        var optimizerTag = (OptimizerTag)r.ReadByte();
        Optimizer optimizer;
        switch (optimizerTag)
        {
            case OptimizerTag.None:
                return new Checkpoint(network, null, epoch, baseLearningRate, history, metadata);
            case OptimizerTag.Sgd:
                {
                    var momentum = r.ReadSingle();
                    var nesterov = r.ReadBoolean();
                    optimizer = new Sgd(0, momentum, nesterov, r.ReadSingle());
                    break;
                }

            case OptimizerTag.Adam:
                optimizer = new Adam(0, r.ReadSingle(), r.ReadSingle(), r.ReadSingle(), r.ReadSingle(), r.ReadBoolean());
                break;
            default:
                throw new InvalidDataException($"unknown optimizer type {(byte)optimizerTag}");
        }

        optimizer.LearningRate = r.ReadSingle();
        optimizer.StepCount = r.ReadInt64();
        foreach (var parameter in network.Parameters)
        {
            var state = new float[optimizer.StateSlots][];
            for (var s = 0; s < state.Length; s++)
            {
                state[s] = ReadArray<float>(r);
                if (Divergence.FirstNonFinite(state[s]) is var bad and >= 0)
                {
                    throw new InvalidDataException($"optimizer state {s} of a {parameter.Name} parameter holds {state[s][bad]} at entry {bad}");
                }
            }

            optimizer.SetState(parameter, state);
        }

        return new Checkpoint(network, optimizer, epoch, baseLearningRate, history, metadata);
    }

    private static TabularSchema? ReadSchema(IReadOnlyDictionary<string, string> metadata)
    {
        if (metadata.TryGetValue(SchemaKey, out var json))
        {
            return TabularSchema.FromJson(json);
        }

        // A schema stored as separate entries (task, features, classes, label), as version-1 files from the CLI may hold it.
        if (metadata.TryGetValue("task", out var task) && metadata.TryGetValue("features", out var features) && metadata.TryGetValue("classes", out var classes)
            && metadata.TryGetValue("label", out var label))
        {
            try
            {
                return new TabularSchema(System.Text.Json.JsonSerializer.Deserialize<string[]>(features) ?? [], label, -1,
                    task == "classification" ? System.Text.Json.JsonSerializer.Deserialize<string[]>(classes) ?? [] : []);
            }
            catch (Exception e) when (e is System.Text.Json.JsonException or ArgumentException)
            {
                throw new InvalidDataException($"bad model metadata ({e.Message})", e);
            }
        }

        return null;
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

    private static void WriteArray<T>(BinaryWriter w, T[] array)
        where T : unmanaged
    {
        w.Write((long)array.Length);
        w.Write(MemoryMarshal.AsBytes(array.AsSpan()));
    }

    private static T[] ReadArray<T>(BinaryReader r)
        where T : unmanaged
    {
        var length = r.ReadInt64();
        if (length < 0 || length > Array.MaxLength)
        {
            throw new InvalidDataException($"array length {length} is not plausible");
        }

        // Never trust a length beyond what the stream still holds: a corrupted length must not allocate gigabytes.
        var stream = r.BaseStream;
        if (stream.CanSeek && length * System.Runtime.CompilerServices.Unsafe.SizeOf<T>() > stream.Length - stream.Position)
        {
            throw new EndOfStreamException();
        }

        var array = new T[length];
        r.BaseStream.ReadExactly(MemoryMarshal.AsBytes(array.AsSpan()));
        return array;
    }

    private static void WriteNullable(BinaryWriter w, float? value)
    {
        w.Write(value.HasValue);
        w.Write(value ?? 0);
    }

    private static float? ReadNullable(BinaryReader r)
    {
        var has = r.ReadBoolean();
        var value = r.ReadSingle();
        return has ? value : null;
    }
}
