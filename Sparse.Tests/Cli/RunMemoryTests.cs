using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Sparse.Tests.Cli;

/// <summary>The whole run's memory estimate against the peak resident set the operating system measures, on the runs issue 27 names.</summary>
[TestFixture]
public class RunMemoryTests : CliFixture
{
    private (long Peak, long Estimate) Measure(params string[] args)
    {
        var run = Sparse(["train", "--output", "m.sparse", "--metrics", "m.json", .. args]);
        Assert.That(run.Exit, Is.Zero, run.Error);
        Assert.That(run.Out, Does.Contain("memory: peak").And.Contain("estimated"));
        using var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(Dir, "m.json")));
        return (metrics.RootElement.GetProperty("peak_bytes").GetInt64(), metrics.RootElement.GetProperty("estimated_peak_bytes").GetInt64());
    }

    [Test]
    public void The_estimate_is_within_a_quarter_of_the_measured_peak()
    {
        // 60 rows of 100,000 columns (24 MB of features, 30 MB of text), read in order.
        var text = new StringBuilder();
        var random = new Random(5);
        for (var row = 0; row < 60; row++)
        {
            for (var column = 0; column < 100_000; column++)
            {
                text.Append(CultureInfo.InvariantCulture, $"{random.Next(100)},");
            }

            text.Append(row % 2).Append('\n');
        }

        Write("wide.csv", text.ToString());
        var runs = new Dictionary<string, (long Peak, long Estimate)>
        {
            ["digits"] = Measure("--epochs", "3"),
            ["deep"] = Measure("--epochs", "3", "--hidden", "512,512,512,512,512,512,512,512"),
            ["wide"] = Measure("--train", "wide.csv", "--no-header", "--epochs", "2", "--hidden", "256,256"),
        };
        foreach (var (name, (peak, estimate)) in runs)
        {
            TestContext.Out.WriteLine($"{name}: peak {peak / (1 << 20)} MiB, estimate {estimate / (1 << 20)} MiB");
        }

        Assert.Multiple(() =>
        {
            foreach (var (name, (peak, estimate)) in runs)
            {
                Assert.That(Math.Abs(estimate - peak), Is.LessThanOrEqualTo(peak / 4), $"{name}: peak {peak / (1 << 20)} MiB, estimate {estimate / (1 << 20)} MiB");
            }
        });
    }
}
