using System.IO.Hashing;

namespace Sparse.Training;

/// <summary>
/// A saved model, optionally with what resuming needs (optimizer state, the trainer's position, history, each
/// resumable component's state).
/// </summary>
/// <remarks>
/// Format (little-endian): the 8-byte magic <c>SPARSENN</c>, an int32 format version, the payload, and the CRC-32 of the
/// payload. The payload is an envelope of sections, each a name, an int32 layout version, an int64 length and its
/// bytes, written and read by the component it belongs to: <c>network</c>, <c>schema</c>, <c>history</c>,
/// <c>optimizer</c>, <c>trainer</c> (<see cref="TrainerState"/>), <c>metadata</c>, one <c>hook.N</c> per resumable
/// training hook, and whatever <see cref="ICheckpointPart"/>s a trainer was given (a training recipe, the command
/// line's options). A section this build does not know is kept in <see cref="Sections"/>, so a file from a newer build
/// with an extra section still loads. Files are written to a temporary file beside the target and renamed over it, so
/// a crash never leaves a half-written model; loading checks the magic, version, checksum, every section's length and
/// every matrix invariant, and never returns a partial model. Format versions 1 and 2 (one fixed layout with
/// string-keyed resume state) are read into the same typed properties.
/// </remarks>
public sealed partial class Checkpoint
{
    /// <summary>The format version this build writes; it reads this one and every earlier one.</summary>
    public const int FormatVersion = 3;

    private static readonly byte[] Magic = "SPARSENN"u8.ToArray();

    /// <summary>The largest epoch a file may record: far beyond any run, small enough to catch a damaged number.</summary>
    public const int MaxEpoch = 100_000_000;

    private const string SchemaSection = "schema";
    private const string MetadataSection = "metadata";

    private Checkpoint(SparseNetwork network, Optimizer? optimizer, TrainingHistory history, TabularSchema? schema, TrainerState? progress,
        IReadOnlyDictionary<string, string> metadata, IReadOnlyDictionary<string, CheckpointSection> sections)
    {
        schema?.Check(network);
        (Network, Optimizer, History, Schema) = (network, optimizer, history, schema);
        (Progress, Metadata, Sections) = (progress, metadata, sections);
    }

    /// <summary>The model.</summary>
    public SparseNetwork Network { get; }

    /// <summary>The optimizer with its state, when the file was saved for resuming.</summary>
    public Optimizer? Optimizer { get; }

    /// <summary>Where the trainer stood and the settings it trained with, when the file was saved for resuming.</summary>
    public TrainerState? Progress { get; }

    /// <summary>The epoch to resume at (epochs finished).</summary>
    public int Epoch => Progress?.Epoch ?? 0;

    /// <summary>Batches of <see cref="Epoch"/> already trained when an interrupted run saved this file (0 otherwise).</summary>
    public int ResumeBatch => Progress?.Batch ?? 0;

    /// <summary>The learning rate the schedule starts from.</summary>
    public float BaseLearningRate => Progress?.BaseLearningRate ?? Optimizer?.LearningRate ?? 0;

    /// <summary>The training history saved with the model (empty when none was given).</summary>
    public TrainingHistory History { get; }

    /// <summary>Free-form facts saved with the model.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>The table the model reads (feature names, label, task, classes, target scale), when it was saved with one.</summary>
    public TabularSchema? Schema { get; }

    /// <summary>
    /// The sections not read into the properties above, by name: each resumable hook's (<c>hook.N</c>), each
    /// <see cref="ICheckpointPart"/>'s, and any this build does not know. Their owners read them.
    /// </summary>
    public IReadOnlyDictionary<string, CheckpointSection> Sections { get; }

    /// <summary>
    /// Writes <paramref name="network"/> (and, when given, the optimizer state, the trainer's position, history and other
    /// sections) to <paramref name="path"/> atomically.
    /// </summary>
    /// <param name="path">The file; written through a temporary file beside it and renamed.</param>
    /// <param name="network">The model.</param>
    /// <param name="optimizer">The optimizer, when the file is for resuming.</param>
    /// <param name="epoch">Epochs finished, when <paramref name="progress"/> is not given.</param>
    /// <param name="baseLearningRate">The rate the schedule starts from, when <paramref name="progress"/> is not given (default: the optimizer's).</param>
    /// <param name="history">Per-epoch records.</param>
    /// <param name="metadata">Free-form entries.</param>
    /// <param name="schema">The table the model reads, checked against the network.</param>
    /// <param name="progress">The trainer's position and settings (<see cref="Trainer.State"/>).</param>
    /// <param name="sections">Further sections (hooks' and components' states), each name once and none of the sections above.</param>
    /// <exception cref="InvalidDataException"><paramref name="schema"/> does not fit the network.</exception>
    /// <exception cref="ArgumentException">Two sections share a name.</exception>
    public static void Save(string path, SparseNetwork network, Optimizer? optimizer = null, int epoch = 0, float? baseLearningRate = null, TrainingHistory? history = null,
        IReadOnlyDictionary<string, string>? metadata = null, TabularSchema? schema = null, TrainerState? progress = null, IEnumerable<CheckpointSection>? sections = null)
    {
        ArgumentNullException.ThrowIfNull(network);
        schema?.Check(network);
        if (progress is null && (optimizer is not null || epoch != 0 || baseLearningRate is not null))
        {
            progress = new TrainerState { Epoch = epoch, BaseLearningRate = baseLearningRate ?? optimizer?.LearningRate ?? 0 };
        }

        var small = new List<CheckpointSection>();
        if (schema is not null)
        {
            var json = schema.ToJson();
            small.Add(CheckpointSection.Write(SchemaSection, 1, w => w.Write(json)));
        }

        if (progress is not null)
        {
            small.Add(progress.ToSection());
        }

        if (metadata is { Count: > 0 })
        {
            small.Add(CheckpointSection.Write(MetadataSection, 1, w =>
            {
                w.Write(metadata.Count);
                foreach (var (key, value) in metadata)
                {
                    w.Write(key);
                    w.Write(value);
                }
            }));
        }

        small.AddRange(sections ?? []);
        var names = new HashSet<string> { NetworkSection.Name, HistorySection.Name, OptimizerSection.Name };
        foreach (var section in small)
        {
            if (!names.Add(section.Name))
            {
                throw new ArgumentException($"Two checkpoint sections are named '{section.Name}'.", nameof(sections));
            }
        }

        // The file holds W output-major, and the optimizer's state in the same order.
        network.StoreOutputMajor();
        AtomicFile.Write(path, file =>
        {
            file.Write(Magic);
            var header = new BinaryWriter(file);
            header.Write(FormatVersion);
            var crc = new Crc32();
            using (var hashing = new HashingStream(file, crc))
            using (var writer = new BinaryWriter(hashing, System.Text.Encoding.UTF8, leaveOpen: true))
            {
                writer.Write(small.Count + (optimizer is null ? 2 : 3));
                WriteSection(writer, NetworkSection.Name, NetworkSection.Version, w => NetworkSection.Write(w, network));
                WriteSection(writer, HistorySection.Name, HistorySection.Version, w => HistorySection.Write(w, history));
                if (optimizer is not null)
                {
                    WriteSection(writer, OptimizerSection.Name, OptimizerSection.Version, w => OptimizerSection.Write(w, optimizer, network));
                }

                foreach (var section in small)
                {
                    WriteSection(writer, section.Name, section.Version, w => w.Write(section.Data));
                }
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
                checkpoint = version >= 3 ? ReadSections(reader) : ReadLegacy(reader, version);
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

    // A section's header (name, version, length) and body. The body is written twice: once to count its bytes, so the
    // length precedes it without buffering a model's gigabytes, and once to the file.
    private static void WriteSection(BinaryWriter w, string name, int version, Action<BinaryWriter> body)
    {
        using var counter = new CountingStream();
        using (var counting = new BinaryWriter(counter, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            body(counting);
        }

        w.Write(name);
        w.Write(version);
        w.Write(counter.Length);
        body(w);
    }

    // The model's large sections (network, history, optimizer) are read straight from the file; the others are kept as bytes.
    private static Checkpoint ReadSections(BinaryReader r)
    {
        var count = r.ReadInt32();
        if (count is <= 0 or > 100_000)
        {
            throw new InvalidDataException($"section count {count} is not plausible");
        }

        var stream = r.BaseStream;
        SparseNetwork? network = null;
        Optimizer? optimizer = null;
        var history = new TrainingHistory();
        var sections = new Dictionary<string, CheckpointSection>();
        var seen = new HashSet<string>();
        for (var n = 0; n < count; n++)
        {
            var name = r.ReadString();
            var version = r.ReadInt32();
            var length = r.ReadInt64();
            if (length < 0 || length > stream.Length - stream.Position)
            {
                throw new InvalidDataException($"the {name} section's length {length} runs past the end of the file");
            }

            if (!seen.Add(name))
            {
                throw new InvalidDataException($"the {name} section appears twice");
            }

            var start = stream.Position;
            switch (name)
            {
                case NetworkSection.Name:
                    CheckpointSection.CheckVersion(name, version, NetworkSection.Version);
                    network = NetworkSection.Read(r);
                    break;
                case HistorySection.Name:
                    CheckpointSection.CheckVersion(name, version, HistorySection.Version);
                    history = HistorySection.Read(r, version);
                    break;
                case OptimizerSection.Name:
                    CheckpointSection.CheckVersion(name, version, OptimizerSection.Version);
                    optimizer = OptimizerSection.Read(r, network ?? throw new InvalidDataException("the optimizer section precedes the network it belongs to"));
                    break;
                default:
                    sections[name] = new CheckpointSection(name, version, length <= Array.MaxLength ? r.ReadBytes((int)length) : throw new InvalidDataException($"the {name} section is too long"));
                    break;
            }

            if (stream.Position - start != length)
            {
                throw new InvalidDataException($"the {name} section's length says {length} bytes, its layout {stream.Position - start}");
            }
        }

        if (network is null)
        {
            throw new InvalidDataException("the file holds no network section");
        }

        var schema = Take(sections, SchemaSection)?.Read(1, (s, _) => TabularSchema.FromJson(s.ReadString()));
        var progress = Take(sections, TrainerState.SectionName) is { } trainer ? TrainerState.Read(trainer) : null;
        var metadata = Take(sections, MetadataSection)?.Read(1, (s, _) =>
        {
            var entries = s.ReadInt32();
            var pairs = new Dictionary<string, string>();
            for (var e = 0; e < entries; e++)
            {
                pairs[s.ReadString()] = s.ReadString();
            }

            return pairs;
        });
        return new Checkpoint(network, optimizer, history, schema, progress, metadata ?? [], sections);
    }

    private static CheckpointSection? Take(Dictionary<string, CheckpointSection> sections, string name) =>
        sections.Remove(name, out var section) ? section : null;
}
