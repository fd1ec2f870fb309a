using Sparse.Topology;
using Sparse.Training;

namespace Sparse.Tests.Training;

/// <summary>The README's custom training loop is this test's code, verbatim; the test runs it and checks the README still matches.</summary>
[TestFixture]
public class ReadMeTests
{
    [Test]
    public void The_custom_training_loop_in_the_readme_runs_and_learns()
    {
        Directory.SetCurrentDirectory(TestContext.CurrentContext.TestDirectory);

        // README: begin
        var (train, test) = CsvDataset.LoadClassification("data/digits.csv.gz").Data.Split(0.2, seed: 42);
        var network = SparseNetwork.CreateMlp([64, 512, 512, 10], ActivationKind.Relu, epsilon: 8, seed: 1,
            normalization: InputNormalization.Fit(train, NormalizationKind.Standardize));
        var loss = new SoftmaxCrossEntropy();
        var optimizer = new Sgd(learningRate: 0.05f, momentum: 0.9f, weightDecay: 1e-4f);
        var batches = new BatchLoader(train, batchSize: 32, network.Normalization, shuffle: true, seed: 1);
        var evolver = TopologyEvolver.Set(seed: 1); // SET: prune by magnitude, regrow at random
        var gradient = new float[network.OutputSize * batches.Batch.Capacity];
        for (var epoch = 0; epoch < 20; epoch++)
        {
            batches.StartEpoch(epoch);
            while (batches.Next())
            {
                var output = network.Forward(batches.Batch.Features, batches.Batch.Size, training: true);
                loss.Compute(output, batches.Batch, gradient);
                network.Backward(gradient);
                optimizer.Step(network.Parameters);
            }

            if (epoch < 19)
            {
                evolver.Evolve(network, optimizer, fraction: 0.3);
            }
        }

        Console.WriteLine($"test accuracy {Metrics.Evaluate(network, test, loss).Accuracy:P1}");
        // README: end

        Assert.That(Metrics.Evaluate(network, test, loss).Accuracy, Is.GreaterThan(0.95f));
        Assert.That(ReadMeBlock(), Is.EqualTo(SourceBlock()), "README.md's custom loop differs from this test's code");
    }

    private static string ReadMeBlock()
    {
        var lines = File.ReadAllLines(Path.Combine(TestContext.CurrentContext.TestDirectory, "README.md"));
        var start = Array.IndexOf(lines, "<!-- custom-loop: the code below is run by ReadMeTests -->");
        Assert.That(start, Is.GreaterThanOrEqualTo(0), "README.md lost its custom-loop marker");
        return Normalize(lines.Skip(start + 2).TakeWhile(line => line != "```"));
    }

    private static string SourceBlock()
    {
        var lines = File.ReadAllLines(Path.Combine(TestContext.CurrentContext.TestDirectory, "ReadMeTests.cs.txt"));
        var begin = Array.FindIndex(lines, l => l.Trim() == "// README: begin");
        var end = Array.FindIndex(lines, l => l.Trim() == "// README: end");
        return Normalize(lines.Skip(begin + 1).Take(end - begin - 1));
    }

    // Compare without the test's indentation.
    private static string Normalize(IEnumerable<string> lines)
    {
        var list = lines.ToList();
        var indent = list.Where(l => l.Trim().Length > 0).Min(l => l.Length - l.TrimStart().Length);
        return string.Join("\n", list.Select(l => l.Length >= indent ? l[indent..] : l.Trim())).Trim();
    }
}
