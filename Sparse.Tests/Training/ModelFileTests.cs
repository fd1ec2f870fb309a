using System.Buffers.Binary;
using System.IO.Hashing;
using Sparse.Training;

namespace Sparse.Tests.Training;

/// <summary>Model files that are damaged, or crafted with a valid checksum, load correctly or raise InvalidDataException.</summary>
[TestFixture]
public class ModelFileTests
{
    private string _directory = null!;

    [SetUp]
    public void MakeDirectory() => _directory = Directory.CreateTempSubdirectory("sparse-model-").FullName;

    [TearDown]
    public void RemoveDirectory() => Directory.Delete(_directory, recursive: true);

    private static (SparseNetwork Network, Optimizer Optimizer, TabularSchema Schema) Small()
    {
        var network = SparseNetwork.CreateMlp([6, 12, 3], ActivationKind.Relu, epsilon: 2, seed: 4, dropout: 0.1f,
            normalization: new InputNormalization(NormalizationKind.Standardize, new float[6], [1, 1, 1, 1, 1, 1]));
        var optimizer = new Adam(1e-3f);
        var x = Enumerable.Range(0, 6 * 4).Select(i => (float)Math.Sin(i)).ToArray();
        network.Forward(x, 4, training: true);
        network.Backward(new float[3 * 4]);
        optimizer.Step(network.Parameters);
        var schema = new TabularSchema(["a", "b", "c", "d", "e", "f"], "kind", 6, ["x", "y", "z"]);
        return (network, optimizer, schema);
    }

    private string SaveSmall(string name)
    {
        var (network, optimizer, schema) = Small();
        var path = Path.Combine(_directory, name);
        Checkpoint.Save(path, network, optimizer, epoch: 1, history: new TrainingHistory(), schema: schema);
        return path;
    }

    // The payload between the 12-byte header and the 4-byte CRC, with the CRC recomputed after a change.
    private static void FixChecksum(byte[] file)
    {
        var crc = Crc32.HashToUInt32(file.AsSpan(12, file.Length - 16));
        BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(file.Length - 4), crc);
    }

    private static void LoadsOrRefuses(string path, ref int loaded, ref int refused)
    {
        try
        {
            var checkpoint = Checkpoint.Load(path);

            // A model that loads must run: a forward pass and its evaluation never fail.
            var network = checkpoint.Network;
            var x = new float[network.InputSize * 2];
            var y = network.Forward(x, 2, training: false);
            Assert.That(y.Length, Is.EqualTo(network.OutputSize * 2));
            if (checkpoint.Schema is { IsClassification: true } schema)
            {
                Assert.That(schema.ClassNames, Has.Count.EqualTo(network.OutputSize));
                Assert.That(Metrics.ArgMax(y, 0, 2, schema.ClassNames.Count), Is.InRange(0, network.OutputSize - 1));
            }

            loaded++;
        }
        catch (InvalidDataException e)
        {
            Assert.That(e.Message, Does.StartWith(path));
            refused++;
        }
    }

    [Test]
    public void Byte_mutated_files_load_or_raise_InvalidDataException_with_and_without_a_valid_checksum()
    {
        var original = File.ReadAllBytes(SaveSmall("model.sparse"));
        var path = Path.Combine(_directory, "mutant.sparse");
        var random = new Random(12);
        int loaded = 0, refused = 0, tried = 0;
        foreach (var fixChecksum in new[] { false, true })
        {
            for (var n = 0; n < 3000; n++)
            {
                var bytes = (byte[])original.Clone();
                switch (n % 4)
                {
                    case 0:
                        bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
                        break;
                    case 1:
                        for (var k = random.Next(1, 5); k > 0; k--)
                        {
                            bytes[random.Next(bytes.Length)] ^= (byte)(1 << random.Next(8));
                        }

                        break;
                    case 2:
                        // A 4-byte field overwritten with an awkward value: zero, minus one, huge, or a NaN pattern.
                        var at = random.Next(12, bytes.Length - 8);
                        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(at), new[] { 0, -1, int.MaxValue, int.MinValue, 0x7FC00000, 1 }[random.Next(6)]);
                        break;
                    default:
                        bytes = random.Next(2) == 0 ? bytes[..random.Next(bytes.Length)] : [.. bytes, .. new byte[random.Next(1, 9)]];
                        break;
                }

                if (fixChecksum && bytes.Length > 16)
                {
                    FixChecksum(bytes);
                }

                File.WriteAllBytes(path, bytes);
                LoadsOrRefuses(path, ref loaded, ref refused);
                tried++;
            }
        }

        TestContext.Out.WriteLine($"mutated model files: {tried} tried, {loaded} loaded and ran, {refused} refused with InvalidDataException, 0 other exceptions");
        Assert.That(refused, Is.GreaterThan(tried / 2));
    }

    private static CheckpointSection SchemaSection(string json) => CheckpointSection.Write("schema", 1, w => w.Write(json));

    public static IEnumerable<TestCaseData> CraftedFiles()
    {
        yield return new TestCaseData(SchemaSection(new TabularSchema(["a", "b", "c", "d", "e", "f"], "kind", 6, ["x", "y"]).ToJson()), null, null,
            "the schema names 2 classes but the network has 3 outputs").SetName("class count differs from the output layer");
        yield return new TestCaseData(SchemaSection("""{"task":"classification","features":["a","b","c","d","e","f"],"label":"kind","label_index":6,"classes":["x","x","y"],"target_mean":0,"target_scale":1}"""), null, null,
            "Class names must be unique").SetName("duplicate class names");
        yield return new TestCaseData(SchemaSection("""{"task":"classification","features":["a","b"],"label":"kind","label_index":6,"classes":["x","y","z"],"target_mean":0,"target_scale":1}"""), null, null,
            "the schema names 2 features but the network takes 6 inputs").SetName("feature count differs from the input layer");
        yield return new TestCaseData(null, new TrainerState { Epoch = 1, Batch = -4 }, null, "resume batch -4").SetName("negative resume batch");
        yield return new TestCaseData(null, new TrainerState { Epoch = -3 }, null, "epoch -3 is out of range").SetName("negative epoch");
        yield return new TestCaseData(null, new TrainerState { Epoch = 1, EpochCorrect = 9, EpochSeen = 4 }, null, "9 correct of 4").SetName("more correct than seen");
        yield return new TestCaseData(new TrainerState { Epoch = 1 }.ToSection() with { Name = "trainer", Version = 2 }, null, null,
            "the trainer section has layout version 2; this build reads versions 1 to 1, so the file was written by a newer build").SetName("a section from a newer build");
        yield return new TestCaseData(new CheckpointSection("trainer", 1, [1, 0, 0]), null, null, "the trainer section is truncated").SetName("truncated section");
        yield return new TestCaseData(null, null, "weights", "holds weight NaN").SetName("NaN weight");
        yield return new TestCaseData(null, null, "bias", "holds bias Infinity").SetName("infinite bias");
    }

    [TestCaseSource(nameof(CraftedFiles))]
    public void Crafted_files_with_a_valid_checksum_are_refused_for_what_they_hold(CheckpointSection? section, TrainerState? progress, string? spoil, string message)
    {
        var (network, optimizer, schema) = Small();
        if (spoil == "weights")
        {
            network.SparseLayers.First().Weights.Values[1] = float.NaN;
        }
        else if (spoil == "bias")
        {
            network.SparseLayers.Last().Bias[0] = float.PositiveInfinity;
        }

        var path = Path.Combine(_directory, "crafted.sparse");
        Checkpoint.Save(path, network, section?.Name == "trainer" ? null : optimizer, history: new TrainingHistory(), schema: section is null ? schema : null,
            progress: progress, sections: section is null ? null : [section]);
        var error = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path));
        Assert.That(error!.Message, Does.StartWith(path).And.Contain(message));
    }

    [Test]
    public void A_section_this_build_does_not_know_is_kept_and_the_rest_loads()
    {
        var (network, optimizer, schema) = Small();
        var path = Path.Combine(_directory, "newer.sparse");
        var extra = CheckpointSection.Write("from-a-newer-build", 7, w => w.Write("anything"));
        Checkpoint.Save(path, network, optimizer, epoch: 2, schema: schema, metadata: new Dictionary<string, string> { ["note"] = "kept" }, sections: [extra]);
        var loaded = Checkpoint.Load(path);
        Assert.Multiple(() =>
        {
            Assert.That(loaded.Sections["from-a-newer-build"].Data, Is.EqualTo(extra.Data));
            Assert.That(loaded.Sections["from-a-newer-build"].Version, Is.EqualTo(7));
            Assert.That(loaded.Epoch, Is.EqualTo(2));
            Assert.That(loaded.Metadata["note"], Is.EqualTo("kept"));
            Assert.That(loaded.Schema!.ToJson(), Is.EqualTo(schema.ToJson()));
            Assert.That(loaded.Optimizer!.StateOf(loaded.Network.Parameters[0])[0], Is.EqualTo(optimizer.StateOf(network.Parameters[0])[0]));
        });
    }

    [Test]
    public void The_schema_round_trips_and_must_fit_the_network_when_saved()
    {
        var (network, _, schema) = Small();
        var path = Path.Combine(_directory, "s.sparse");
        Checkpoint.Save(path, network, schema: schema);
        var loaded = Checkpoint.Load(path).Schema!;
        Assert.That(loaded.ToJson(), Is.EqualTo(schema.ToJson()));
        Assert.Throws<InvalidDataException>(() => Checkpoint.Save(path, network, schema: new TabularSchema(["a"], "kind", 1, ["x", "y", "z"])));
    }

    [Test]
    public void Temporary_files_of_killed_writers_are_removed_by_the_next_save_and_a_live_writers_are_kept()
    {
        var path = Path.Combine(_directory, "m.sparse");
        var dead = Path.Combine(_directory, $".m.sparse.{int.MaxValue - 7}.{Guid.NewGuid():N}.tmp");
        var live = Path.Combine(_directory, $".m.sparse.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        var other = Path.Combine(_directory, $".other.sparse.{int.MaxValue - 7}.{Guid.NewGuid():N}.tmp");
        foreach (var file in new[] { dead, live, other })
        {
            File.WriteAllText(file, "partial");
        }

        AtomicFile.Write(path, s => s.WriteByte(1));
        Assert.Multiple(() =>
        {
            Assert.That(File.Exists(dead), Is.False, "a dead writer's file is removed");
            Assert.That(File.Exists(live), Is.True, "a running writer's file is kept");
            Assert.That(File.Exists(other), Is.True, "another output's file is not touched");
        });
    }
}
