using System.Text;
using System.Text.Json.Nodes;

namespace Sparse.Bench;

/// <summary>
/// The first epoch of <c>sparse train</c> as a user meets it: a fresh CLI process (compiled as shipped, with the
/// warm-up that compiles the training code while the data is read; docs/performance.md, "The first epoch") training
/// W1's network on 2,560 seeded rows, one epoch then a second, and SET after each. A call is one such process; its
/// figure is the first epoch's training seconds from <c>--metrics</c>, which the gate holds against the base build's.
/// </summary>
internal sealed class FirstEpoch : IDisposable
{
    private const int Rows = 2560;

    private readonly string _directory;
    private readonly string _cli;
    private readonly string _data;

    private FirstEpoch(string directory, string cli)
    {
        _directory = directory;
        _cli = cli;
        _data = Path.Combine(directory, "w1.csv");
        WriteData(_data);
    }

    /// <summary>A runner, or null when this build has no <c>sparse.dll</c> beside it.</summary>
    public static FirstEpoch? Create()
    {
        // Beside this assembly, not the process's: in perf-compare's paired mode the base build's bench runs in the
        // candidate's process.
        var cli = Path.Combine(Path.GetDirectoryName(typeof(FirstEpoch).Assembly.Location)!, "sparse.dll");
        return File.Exists(cli) ? new FirstEpoch(Directory.CreateTempSubdirectory("first-epoch-").FullName, cli) : null;
    }

    /// <summary>Runs one <c>sparse train</c> and returns its first epoch's training seconds.</summary>
    public double Run()
    {
        var metrics = Path.Combine(_directory, "metrics.json");
        // The child compiles as the CLI ships, whatever this process was started with.
        var (exitCode, output) = DotnetProcess.Run(
            [
                _cli, "train", "--train", _data, "--hidden", "1000,1000,1000", "--epsilon", "20", "--epochs", "2",
                "--batch-size", "128", "--optimizer", "sgd", "--learning-rate", "0.01", "--evolve", "set", "--seed", "1",
                "--metrics", metrics, "--output", Path.Combine(_directory, "model.sparse"), "--quiet",
            ],
            new Dictionary<string, string?> { ["DOTNET_TieredCompilation"] = null });
        if (exitCode != 0)
        {
            throw new InvalidOperationException($"sparse train failed (exit {exitCode}): {output}");
        }

        return JsonNode.Parse(File.ReadAllText(metrics))!["epochs"]![0]!["train_seconds"]!.GetValue<double>();
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    // W1's seeded uniform rows as CSV with a header, label last.
    private static void WriteData(string path)
    {
        var data = W1.UniformData(Rows, W1.Sizes[0], 10, seed: 7);
        var features = data.Features;
        var width = W1.Sizes[0];
        var text = new StringBuilder();
        for (var j = 0; j < width; j++)
        {
            text.Append(CultureInfo.InvariantCulture, $"x{j},");
        }

        text.Append("label\n");
        for (var n = 0; n < Rows; n++)
        {
            for (var j = 0; j < width; j++)
            {
                text.Append(features[(n * width) + j].ToString("0.####", CultureInfo.InvariantCulture)).Append(',');
            }

            text.Append(CultureInfo.InvariantCulture, $"{data.Labels![n]}\n");
        }

        File.WriteAllText(path, text.ToString());
    }
}
