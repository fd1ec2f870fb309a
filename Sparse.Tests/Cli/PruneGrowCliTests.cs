using System.Text.Json;
using Sparse.Topology;
using Sparse.Training;

namespace Sparse.Tests.Cli;

/// <summary><c>--prune</c> and <c>--grow</c>: the halves of an evolution method, chosen apart.</summary>
[TestFixture]
public class PruneGrowCliTests : CliFixture
{
    [Test]
    public void A_run_with_chosen_halves_trains_saves_them_and_names_them_in_its_log_metrics_and_info()
    {
        var train = Sparse("train", "--epochs", "3", "--hidden", "64,64", "--evolve", "rigl", "--prune", "cosine", "--grow", "random",
            "--output", "halves.sparse", "--metrics", "metrics.json");
        Assert.That(train.Exit, Is.Zero, train.Error);
        Assert.That(train.Out, Does.Contain("topology: rigl: prune by cosine, grow by random; rewiring 0.3 of each layer after every epoch but the last")
            .And.Contain("rigl compares neurons over"));

        using (var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(Dir, "metrics.json"))))
        {
            MetricsFileTests.CheckAgainstSchema(Path.Combine(Dir, "metrics.json"));
            var evolution = metrics.RootElement.GetProperty("evolution");
            Assert.That((evolution.GetProperty("method").GetString(), evolution.GetProperty("prune").GetString(), evolution.GetProperty("grow").GetString()),
                Is.EqualTo(("rigl", "cosine", "random")));
            Assert.That(metrics.RootElement.GetProperty("epochs")[0].GetProperty("rewired").GetInt64(), Is.GreaterThan(0));
        }

        var recipe = TrainingRecipe.FromCheckpoint(Checkpoint.Load(Path.Combine(Dir, "halves.sparse")))!;
        Assert.That((recipe.Evolution, recipe.Prune, recipe.Grow), Is.EqualTo((EvolutionMethod.RigL, (PruneMethod?)PruneMethod.Cosine, (GrowthMethod?)GrowthMethod.Random)));
        var info = Sparse("info", "--model", "halves.sparse");
        Assert.That(info.Exit, Is.Zero, info.Error);
        Assert.That(info.Out, Does.Contain("--evolve rigl --prune cosine --grow random").And.Contain("topology evolution: rigl: prune by cosine, grow by random"));
    }

    [Test]
    public void A_method_without_chosen_halves_is_its_bundle_and_says_so()
    {
        var train = Sparse("train", "--epochs", "1", "--hidden", "32", "--evolve", "set", "--output", "set.sparse");
        Assert.That(train.Exit, Is.Zero, train.Error);
        Assert.That(train.Out, Does.Contain("topology: set: prune by magnitude (each sign), grow by random;"));
        var info = Sparse("info", "--model", "set.sparse");
        Assert.That(info.Out, Does.Not.Contain("--prune").And.Not.Contain("--grow"), "nothing chosen, nothing saved");
    }

    [TestCase("train", "--grow", "random", "--grow chooses a half of an evolution method, and --evolve none has none")]
    [TestCase("sweep", "--prune", "cosine", "--prune chooses a half of an evolution method, and --evolve none has none")]
    public void A_half_without_a_method_is_refused_before_any_file_is_read(string command, string option, string value, string message)
    {
        var run = Sparse(command, "--evolve", "none", option, value, "--train", "missing.csv", "--epochs", "1");
        Assert.That(run.Exit, Is.EqualTo(1));
        Assert.That(run.Error, Does.Contain(message).And.Not.Contain("missing.csv"));
        Assert.That(run.Error, Does.Not.Contain("   at "), "no stack trace");
    }

    [Test]
    public void An_unknown_rule_lists_the_known_ones()
    {
        var run = Sparse("train", "--prune", "gradient", "--epochs", "1");
        Assert.That(run.Exit, Is.Not.Zero);
        Assert.That(run.Error, Does.Contain("gradient").And.Contain("magnitude").And.Contain("cosine"));
    }

    [Test]
    public void A_sweep_evolves_every_configuration_with_the_chosen_halves()
    {
        var sweep = Sparse("sweep", "--hidden", "32", "--zeta", "0.2,0.3", "--epochs", "2", "--evolve", "set", "--prune", "cosine", "--grow", "gradient", "--output-dir", "grid");
        Assert.That(sweep.Exit, Is.Zero, sweep.Error);
        Assert.That(sweep.Out, Does.Contain("topology: set: prune by cosine, grow by gradient"));
    }

    [Test]
    public void Gradual_pruning_starts_denser_and_ends_at_the_sparsity_asked()
    {
        var train = Sparse("train", "--epochs", "4", "--hidden", "64", "--epsilon", "4", "--evolve", "gradual", "--initial-density", "0.5", "--output", "gradual.sparse", "--metrics", "gradual.json");
        Assert.That(train.Exit, Is.Zero, train.Error);
        Assert.That(train.Out, Does.Contain("topology: gradual: prune by magnitude from density 0.5 to the target on a cubic schedule until 75 % of training, grow nothing, pruning after every epoch"));
        MetricsFileTests.CheckAgainstSchema(Path.Combine(Dir, "gradual.json"));
        using var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(Dir, "gradual.json")));
        var epochs = metrics.RootElement.GetProperty("epochs").EnumerateArray().Select(e => e.GetProperty("connections").GetInt64()).ToArray();
        Assert.That(epochs, Is.Ordered.Descending);
        Assert.That(metrics.RootElement.GetProperty("evolution").GetProperty("grow").GetString(), Is.EqualTo("none"));
        var cost = metrics.RootElement.GetProperty("connections");
        Assert.That(cost.GetProperty("start").GetInt64(), Is.EqualTo(cost.GetProperty("peak").GetInt64()).And.GreaterThan(epochs[0]), "the denser start is the peak");
        Assert.That(cost.GetProperty("mean").GetDouble(), Is.LessThan(cost.GetProperty("start").GetInt64()).And.GreaterThan(epochs[^1]));
        var info = Sparse("info", "--model", "gradual.sparse");
        Assert.That(info.Out, Does.Contain("--evolve gradual --initial-density 0.5"));

        var refused = Sparse("train", "--evolve", "rigl", "--initial-density", "0.5", "--epochs", "1");
        Assert.That(refused.Exit, Is.EqualTo(1));
        Assert.That(refused.Error, Does.Contain("--initial-density is the denser start of --evolve gradual or earlycrop."));
        var sweep = Sparse("sweep", "--evolve", "gradual", "--epochs", "1");
        Assert.That(sweep.Exit, Is.EqualTo(1));
        Assert.That(sweep.Error, Does.Contain("sparse train --evolve gradual").And.Not.Contain("   at "));
    }
}
