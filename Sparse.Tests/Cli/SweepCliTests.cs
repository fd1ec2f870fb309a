using System.Globalization;

namespace Sparse.Tests.Cli;

[TestFixture]
public class SweepCliTests : CliFixture
{
    private static string[] Rows(string path) => File.ReadAllLines(path);

    // The bundled digits, which `sweep` and `train` read by default.
    private static string Digits => Path.Combine(AppContext.BaseDirectory, "data", "digits.csv.gz");

    private static Dictionary<string, string> Row(string header, string line) =>
        header.Split(',').Zip(line.Split(',')).ToDictionary(p => p.First, p => p.Second);

    [Test]
    public void A_sweep_gives_each_configuration_the_result_of_its_own_train_run()
    {
        var sweep = Sparse("sweep", "--hidden", "32,32:48,24", "--activation", "all-relu,tanh", "--learning-rate", "0.003,0.01", "--dropout", "0,0.1",
            "--evolve", "set", "--epochs", "4", "--output-dir", "grid", "--save-all");
        Assert.That(sweep.Exit, Is.Zero, sweep.Error);
        Assert.That(sweep.Out, Does.Contain("sweep: 16 configurations as one network"));
        Assert.That(sweep.Out, Does.Contain("Epoch 4/4: best so far configuration"));
        var rows = Rows(Path.Combine(Dir, "grid", "results.csv"));
        Assert.That(rows, Has.Length.EqualTo(17));
        Assert.That(rows[0], Does.StartWith("config,hidden,activation,epsilon,density,learning_rate,weight_decay,dropout,zeta,seed,connections,epochs,"));
        var results = rows.Skip(1).Select(r => Row(rows[0], r)).ToArray();
        Assert.That(results.Select(r => r["status"]), Is.All.EqualTo("finished"));
        Assert.That(File.Exists(Path.Combine(Dir, "grid", "config-16.sparse")), "--save-all");

        // Two configurations trained alone by `sparse train` reach exactly the sweep's figures.
        foreach (var index in new[] { 1, 14 })
        {
            var r = results[index];
            var train = Sparse("train", "--hidden", r["hidden"].Replace('-', ','), "--activation", r["activation"], "--learning-rate", r["learning_rate"],
                "--dropout", r["dropout"], "--evolve", "set", "--epochs", "4", "--output", $"alone{index}.sparse");
            Assert.That(train.Exit, Is.Zero, train.Error);
            var accuracy = float.Parse(r["test_accuracy"], CultureInfo.InvariantCulture);
            var loss = float.Parse(r["test_loss"], CultureInfo.InvariantCulture);
            Assert.That(train.Out, Does.Contain(string.Create(CultureInfo.InvariantCulture, $"test accuracy {accuracy:P2}, test loss {loss:F4}; {long.Parse(r["connections"], CultureInfo.InvariantCulture):N0} connections")),
                $"configuration {index + 1}");
            var evaluateAlone = Sparse("evaluate", "--model", $"alone{index}.sparse", "--data", Digits);
            var evaluateSplit = Sparse("evaluate", "--model", Path.Combine("grid", $"config-{index + 1}.sparse"), "--data", Digits);
            Assert.That(evaluateAlone.Exit, Is.Zero, evaluateAlone.Error);
            Assert.That(evaluateSplit.Out, Does.Contain("accuracy"));
            Assert.That(evaluateSplit.Out, Is.EqualTo(evaluateAlone.Out), "the split model predicts as the one trained alone");
        }

        // best.sparse is the configuration with the highest final accuracy, a model like any other.
        var best = results.OrderByDescending(r => float.Parse(r["test_accuracy"], CultureInfo.InvariantCulture)).First();
        var info = Sparse("info", "--model", Path.Combine("grid", "best.sparse"));
        Assert.That(info.Exit, Is.Zero, info.Error);
        Assert.That(sweep.Out, Does.Contain($"best: configuration {best["config"]} "));
        var evaluateBest = Sparse("evaluate", "--model", Path.Combine("grid", "best.sparse"), "--data", Digits);
        var evaluateItsConfiguration = Sparse("evaluate", "--model", Path.Combine("grid", $"config-{best["config"]}.sparse"), "--data", Digits);
        Assert.That(evaluateBest.Exit, Is.Zero, evaluateBest.Error);
        Assert.That(evaluateBest.Out, Does.Contain("accuracy"));
        Assert.That(evaluateBest.Out, Is.EqualTo(evaluateItsConfiguration.Out), "best.sparse is that configuration's model");
    }

    [Test]
    public void A_diverging_configuration_is_reported_and_the_sweep_goes_on()
    {
        var sweep = Sparse("sweep", "--hidden", "32", "--optimizer", "sgd", "--learning-rate", "0.05,1e30", "--evolve", "none", "--epochs", "2", "--output-dir", "d", "--save-all");
        Assert.That(sweep.Exit, Is.Zero, sweep.Error);
        Assert.That(sweep.Out, Does.Contain("configuration 2 (32 relu eps 8 lr 1E+30"));
        var rows = Rows(Path.Combine(Dir, "d", "results.csv"));
        Assert.That(Row(rows[0], rows[1])["status"], Is.EqualTo("finished"));
        Assert.That(Row(rows[0], rows[2])["status"], Does.StartWith("diverged in epoch"));
        Assert.That(Row(rows[0], rows[2])["test_accuracy"], Is.Empty);
        Assert.That(sweep.Out, Does.Contain("best: configuration 1 "));
        Assert.That(File.Exists(Path.Combine(Dir, "d", "config-1.sparse")));
        Assert.That(File.Exists(Path.Combine(Dir, "d", "config-2.sparse")), Is.False, "no model of a diverged configuration");
    }

    [Test]
    public void Interrupting_a_sweep_writes_the_completed_epochs()
    {
        var (exit, error, delivered) = CliRunner.RunUntilSignal(Dir, ["sweep", "--hidden", "256,256", "--learning-rate", "0.001,0.003", "--epochs", "200", "--output-dir", "i"],
            "Epoch 1/200", CliRunner.SigInt);
        Assert.That(delivered);
        Assert.That(exit, Is.EqualTo(130), error);
        Assert.That(error, Does.Contain("interrupted in epoch"));
        var rows = Rows(Path.Combine(Dir, "i", "results.csv"));
        Assert.That(rows.Skip(1).Select(r => Row(rows[0], r)["status"]), Is.All.EqualTo("interrupted"));
        Assert.That(File.Exists(Path.Combine(Dir, "i", "best.sparse")));
    }

    [TestCase("--hidden", "32,32:64", "same number of hidden layers")]
    [TestCase("--hidden", "32,x", "--hidden must be positive whole numbers")]
    [TestCase("--activation", "relu,swish", "--activation values must be relu, leaky-relu, all-relu, tanh or sigmoid, got 'swish'")]
    [TestCase("--learning-rate", "0.01,-1", "--learning-rate values must be a positive number, got '-1'")]
    [TestCase("--dropout", "0,,0.2", "--dropout has an empty value")]
    [TestCase("--zeta", "0.3,0.3", "--zeta lists a value twice")]
    [TestCase("--seed", "1,two", "--seed values must be whole numbers")]
    public void Bad_grid_values_are_named(string option, string value, string message)
    {
        var run = Sparse("sweep", option, value, "--epochs", "1");
        Assert.That(run.Exit, Is.EqualTo(1));
        Assert.That(run.Error, Does.Contain(message));
        Assert.That(run.Error, Does.Not.Contain("   at "), "no stack trace");
    }

    [Test]
    public void A_grid_that_cannot_fit_is_refused_before_it_is_built()
    {
        var run = Sparse("sweep", "--hidden", "3000000,3000000", "--epsilon", "200,300", "--epochs", "1");
        Assert.That(run.Exit, Is.EqualTo(1));
        Assert.That(run.Error, Does.Contain("Training needs about").And.Contain("Fewer configurations per sweep"));
        Assert.That(run.Out, Does.Not.Contain("sweep: 2 configurations"), "refused before the network was built");
    }

    [Test]
    public void An_output_dir_that_is_a_file_is_refused()
    {
        Write("taken", "x");
        var run = Sparse("sweep", "--output-dir", "taken", "--epochs", "1");
        Assert.That(run.Exit, Is.EqualTo(1));
        Assert.That(run.Error, Does.Contain("--output-dir taken: is a file"));
    }
}
