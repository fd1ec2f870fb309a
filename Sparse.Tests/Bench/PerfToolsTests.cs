using System.Text.Json.Nodes;
using Sparse.Bench;
using Sparse.Core;
using Sparse.Topology;

namespace Sparse.Tests.Bench;

/// <summary>
/// The gate's own logic: the early clearing rule, the figures of a user's model (reading, mistakes, timing them on a
/// build's libraries) and the history report.
/// </summary>
[TestFixture]
public class PerfToolsTests
{
    [Test]
    public void Early_rounds_clear_a_figure_only_when_every_round_is_below_half_the_threshold()
    {
        // Rounds of identical builds from the gate's table (docs/performance.md): cleared.
        Assert.That(PerfCompare.Clears([0.995, 1.021, 0.987], 0.05), Is.True);

        // A 10 % slowdown: kept for the full series.
        Assert.That(PerfCompare.Clears([1.10, 0.97, 1.12], 0.05), Is.False);
        Assert.That(PerfCompare.Clears([1.08, 1.11, 1.09], 0.05), Is.False);

        // The 10 % slowdowns the early rounds cleared in the proofs (docs/proof-logs): a median below half the threshold
        // with one round beyond the threshold (combined-3stage/run-6.txt), and with every round within it
        // (earlyclear-max/run-1.txt). Any round at or above half the threshold keeps the figure.
        Assert.That(PerfCompare.Clears([0.944, 0.985, 1.088], 0.05), Is.False);
        Assert.That(PerfCompare.Clears([0.943, 0.952, 1.036], 0.05), Is.False);
        Assert.That(PerfCompare.Clears([1.00, 0.99, 1.33], 0.05), Is.False);
        Assert.That(PerfCompare.Clears([0.98, 1.00, 1.024], 0.05), Is.True);

        // A figure's own threshold (cli.first_epoch's 50 %) sets the bound.
        Assert.That(PerfCompare.Clears([0.95, 1.10, 1.20], 0.50), Is.True);
        Assert.That(PerfCompare.Clears([0.95, 1.10, 1.30], 0.50), Is.False);
    }

    [Test]
    public void A_figure_beyond_the_threshold_with_an_outlying_round_is_undecided_and_takes_more_rounds()
    {
        // A 10 % slowdown whose rounds spread as kernel.wide_untiled_step_bf16's did in run 18 of the combined proof
        // (median +7.8 %, bound -0.2 %, rounds -6.3 % to +11.1 %).
        Assert.That(PerfCompare.Undecided([1.078, 0.937, 1.111, 0.98, 1.09, 1.081], 0.05), Is.True);

        // Decided either way: every round slower (flagged), or the median within the threshold (passed).
        Assert.That(PerfCompare.Undecided([1.09, 1.10, 1.11, 1.08, 1.12, 1.10], 0.05), Is.False);
        Assert.That(PerfCompare.Undecided([1.01, 0.93, 1.04, 0.99, 1.03, 1.00], 0.05), Is.False);
    }

    [Test]
    public void The_first_epoch_of_a_fresh_process_is_held_to_its_own_threshold()
    {
        Assert.That(PerfCompare.ThresholdOf("cli.first_epoch", 0.05), Is.EqualTo(0.5));
        Assert.That(PerfCompare.ThresholdOf("w1.epoch", 0.05), Is.EqualTo(0.05));

        // A looser gate loosens it too, never the other way.
        Assert.That(PerfCompare.ThresholdOf("cli.first_epoch", 1.0), Is.EqualTo(1.0));
    }

    [Test]
    public void Paired_calls_cancel_what_both_builds_share_and_keep_what_differs()
    {
        // Both builds slow down over the round together (the machine, or an evolution step's growing topology) and
        // take their calls in turns: the paired ratio is the per-call ratio, where the builds' 10th percentiles would
        // compare calls from different moments.
        var reference = Enumerable.Range(0, 40).Select(k => 0.010 * (1 + (0.02 * k))).ToArray();
        var candidate = reference.Select(s => s * 1.10).ToArray();
        Assert.That(PerfCheck.PairedRatio(candidate, reference), Is.EqualTo(1.10).Within(1e-12));
        Assert.That(PerfCheck.PairedRatio(reference, reference), Is.EqualTo(1.0));

        // A few disturbed calls do not move the median.
        var disturbed = candidate.Select((s, k) => k % 10 == 3 ? s * 3 : s).ToArray();
        Assert.That(PerfCheck.PairedRatio(disturbed, reference), Is.EqualTo(1.10).Within(1e-12));

        // Calls beyond the shorter list are not paired; too few calls are not paired at all.
        Assert.That(PerfCheck.PairedRatio(candidate[..20], reference), Is.EqualTo(1.10).Within(1e-12));
        Assert.That(PerfCheck.PairedRatio(candidate[..(PerfCheck.PairedCalls - 1)], reference), Is.Null);
    }

    [Test]
    public void Builds_whose_calls_have_parts_take_each_part_in_turns_and_a_call_is_the_sum_of_its_parts()
    {
        // Three builds of three parts each; a part's seconds name its build and part, so sums and order are visible.
        var order = new List<string>();
        Func<double>[] Parts(int build) => [.. Enumerable.Range(0, 3).Select(p => (Func<double>)(() =>
        {
            order.Add($"{build}{p}");
            return (build + 1) * Math.Pow(10, p);
        }))];
        var times = Enumerable.Range(0, 3).Select(_ => new PerfCheck.CallTimes(PerfCheck.PairedCalls, 0)).ToArray();
        PerfCheck.TimeInTurns([() => throw new InvalidOperationException("a whole call"), () => 0, () => 0], [Parts(0), Parts(1), Parts(2)], times, opener: 1);

        // Each part runs build after build, and the build that opens rotates from call to call.
        Assert.That(order.Take(9), Is.EqualTo(new[] { "10", "20", "00", "11", "21", "01", "12", "22", "02" }));
        Assert.That(order.Skip(9).Take(3), Is.EqualTo(new[] { "20", "00", "10" }));
        Assert.That(order, Has.Count.EqualTo(3 * 3 * PerfCheck.PairedCalls));
        for (var b = 0; b < 3; b++)
        {
            Assert.That(times[b].Seconds, Is.EqualTo(Enumerable.Repeat(111.0 * (b + 1), PerfCheck.PairedCalls)));
        }

        // A build without parts (older than them) has every build timed by whole calls, one build's block at a time.
        var whole = new List<int>();
        var wholeTimes = Enumerable.Range(0, 2).Select(_ => new PerfCheck.CallTimes(PerfCheck.PairedCalls, 0)).ToArray();
        PerfCheck.TimeInTurns([() => { whole.Add(0); return 1; }, () => { whole.Add(1); return 2; }], [Parts(0), []], wholeTimes, opener: 0);
        Assert.That(whole.Take(4), Is.EqualTo(new[] { 0, 1, 0, 1 }));
        Assert.That(wholeTimes[1].Seconds, Is.EqualTo(Enumerable.Repeat(2.0, PerfCheck.PairedCalls)));
    }

    [Test]
    public void A_slowdown_on_purpose_slows_each_part_of_an_epoch()
    {
        var plain = PerfCheck.LoadWithParts("w1.epoch", null).Single(f => f.Name == "w1.epoch");
        var slowed = PerfCheck.LoadWithParts("w1.epoch", "w1.epoch:1.0").Single(f => f.Name == "w1.epoch");
        Assert.That(plain.Parts, Has.Length.EqualTo(4));

        // Parts taken in turns and compared pair by pair, as perf-pair does, so other tests loading the machine slow both.
        var (fast, slow) = (new List<double>(), new List<double>());
        for (var k = 0; k < 3; k++)
        {
            for (var p = 0; p < plain.Parts.Length; p++)
            {
                fast.Add(plain.Parts[p]());
                slow.Add(slowed.Parts[p]());
            }
        }

        Assert.That(PerfCheck.PairedRatio(slow, fast), Is.GreaterThan(1.5));
    }

    [Test]
    public void Evolution_figures_take_the_same_number_of_calls_in_every_build()
    {
        // A budget of seconds would give a slower build fewer evolution steps, each from another topology.
        var figures = PerfCheck.Load("layer.", null);
        Assert.That(figures.Select(f => f.Name), Is.EqualTo(new[] { "layer.rigl_step", "layer.ctre_step" }));
        foreach (var figure in figures)
        {
            Assert.That(figure.BudgetSeconds, Is.Zero, figure.Name);
            Assert.That(figure.Calls, Is.GreaterThanOrEqualTo(10), figure.Name);
            var times = new PerfCheck.CallTimes(figure.Calls, figure.BudgetSeconds);
            while (times.More)
            {
                times.Block(figure.Call);
            }

            Assert.That(times.Seconds, Has.Count.EqualTo(figure.Calls), figure.Name);
            figure.Resources?.Dispose();
        }
    }

    [Test]
    public void The_readme_figure_is_the_committed_one_and_reads()
    {
        var block = ReadMeJson("user-figures");
        var committed = File.ReadAllText(Path.Combine(TestContext.CurrentContext.TestDirectory, "perf-figures.json"));
        var path = Path.Combine(TestContext.CurrentContext.WorkDirectory, "readme-figures.json");
        File.WriteAllText(path, block);
        var fromReadMe = PerfCheck.ReadUserFigures(path);
        var fromFile = PerfCheck.ReadUserFigures(Path.Combine(TestContext.CurrentContext.TestDirectory, "perf-figures.json"));
        Assert.That(fromReadMe, Has.Count.EqualTo(1));
        Assert.That(Describe(fromReadMe[0]), Is.EqualTo(Describe(fromFile[0])), "README.md's perf-figures.json example differs from the committed file");
        Assert.That(fromFile[0].Recipe.Hidden, Is.EqualTo(new[] { 4000, 4000 }));
        Assert.That(fromFile[0].Recipe.Precision, Is.EqualTo(Precision.Bf16));
        Assert.That(fromFile[0].Recipe.Evolution, Is.EqualTo(EvolutionMethod.Set));
        Assert.That(committed, Does.Contain("text_classifier"));
    }

    [TestCase("""{"figures":[{"name":"a b","inputs":3,"outputs":2}]}""", "figure 'a b' needs a name of letters")]
    [TestCase("""{"figures":[{"name":"m","inputs":3,"outputs":1}]}""", "outputs (classes) of at least 2")]
    [TestCase("""{"figures":[{"name":"m","inputs":3,"outputs":2,"samples":10,"recipe":{"batchSize":32}}]}""", "samples of at least one batch")]
    [TestCase("""{"figures":[{"name":"m","inputs":3,"outputs":2,"measure":["epoch","speed"]}]}""", "measure: one or more of train_step, forward, epoch, evolution_step")]
    [TestCase("""{"figures":[{"name":"m","inputs":3,"outputs":2,"measure":["evolution_step"],"recipe":{"evolution":"None"}}]}""", "a recipe.Evolution for evolution_step")]
    [TestCase("""{"figures":[{"name":"m","inputs":3,"outputs":2},{"name":"m","inputs":3,"outputs":2}]}""", "a name no other figure has")]
    [TestCase("""{"figures":[{"name":"m","inputs":3,"outputs":2,"recipe":{"zeta":2}}]}""", "figure 'm': --zeta must be between 0 and 1 (exclusive), got 2.")]
    [TestCase("{\"figures\":[{\"name\":\"m\",\n\"inputs\":3,\"outputs\":2,\"recipe\":{\"hiden\":[3]}}]}", ":2:")]
    [TestCase("{\"figures\":[{\"name\":\"m\",\n\"inputs\":\"x\",\"outputs\":2}]}", "(at $.figures[0].inputs)")]
    public void A_mistake_in_the_user_figures_names_the_file_and_what_is_wrong(string json, string message)
    {
        var path = Path.Combine(TestContext.CurrentContext.WorkDirectory, "bad-figures.json");
        File.WriteAllText(path, json);
        var e = Assert.Throws<InvalidDataException>(() => PerfCheck.ReadUserFigures(path));
        Assert.That(e!.Message, Does.StartWith(path));
        Assert.That(e.Message, Does.Contain(message));
    }

    [Test]
    public void User_figures_build_through_the_public_api_and_time_what_they_name()
    {
        var path = Path.Combine(TestContext.CurrentContext.WorkDirectory, "tiny-figures.json");
        File.WriteAllText(path, """
            {
              "figures": [
                {
                  "name": "tiny", "inputs": 40, "outputs": 3, "samples": 128,
                  "recipe": { "hidden": [64], "density": 0.2, "batchSize": 32, "optimizer": "Sgd", "evolution": "RigL", "zeta": 0.2 },
                  "measure": ["train_step", "forward", "epoch", "evolution_step"]
                }
              ]
            }
            """);
        var figures = PerfCheck.LoadUser(path, null, null);
        Assert.That(figures.Select(f => f.Name), Is.EqualTo(new[] { "user.tiny.train_step", "user.tiny.forward", "user.tiny.epoch", "user.tiny.evolution_step" }));
        foreach (var figure in figures)
        {
            var seconds = figure.Call();
            Assert.That(seconds, Is.GreaterThan(0).And.LessThan(10), figure.Name);
        }

        // A filter takes the figures whose names contain one of its parts.
        Assert.That(PerfCheck.LoadUser(path, "forward,epoch", null).Select(f => f.Name), Is.EqualTo(new[] { "user.tiny.forward", "user.tiny.epoch" }));

        // A slowdown on purpose shows in the seconds a call returns.
        var plain = PerfCheck.LoadUser(path, "user.tiny.epoch", null).Single();
        var slowed = PerfCheck.LoadUser(path, "user.tiny.epoch", "all:1.0").Single();
        // Calls taken in turns and compared pair by pair, so other tests loading the machine meanwhile slow both alike.
        var (fast, slow) = (new List<double>(), new List<double>());
        for (var k = 0; k < 12; k++)
        {
            fast.Add(plain.Call());
            slow.Add(slowed.Call());
        }

        Assert.That(PerfCheck.PairedRatio(slow, fast), Is.GreaterThan(1.5));
    }

    [Test]
    public void The_history_report_draws_each_figure_and_ranks_the_largest_move()
    {
        var results = Path.Combine(TestContext.CurrentContext.WorkDirectory, "perf-history-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(results);
        string[] commits = ["aaaaaaa1", "bbbbbbb2", "ccccccc3", "ddddddd4"];
        string[] keys = ["k1", "k2", "k2", "k4"];
        var history = new System.Text.StringBuilder();

        // bbbbbbb2 made kernel.x 30 % slower; ccccccc3 builds the same code; ddddddd4 (the reference) took it back.
        double[] slow = [1.31, 1.29, 1.30];
        double[] same = [1.01, 0.99, 1.00];
        for (var c = 0; c < commits.Length; c++)
        {
            var ratios = c is 1 or 2 ? slow : same;
            history.Append(new JsonObject
            {
                ["commit"] = commits[c],
                ["date"] = "2026-12-02T00:00:00Z",
                ["subject"] = $"commit {c}",
                ["key"] = keys[c],
                ["reference"] = commits[^1],
                ["reference_key"] = "k4",
                ["figure"] = "kernel.x",
                ["seconds"] = new JsonArray([.. ratios.Select(r => JsonValue.Create(r * 0.002))]),
                ["reference_seconds"] = new JsonArray(0.002, 0.002, 0.002),
                ["machine"] = "test",
            }.ToJsonString()).Append('\n');
        }

        File.WriteAllText(Path.Combine(results, "history.jsonl"), history.ToString());
        var list = Path.Combine(results, "commits.tsv");
        File.WriteAllLines(list, commits.Select((c, i) => $"{c}\t{keys[i]}\tfailed\t2026-12-02T00:00:00Z\tcommit {i}"));
        Assert.That(PerfHistory.Run(["--commits-file", list, "--results", results, "--report-only"]), Is.EqualTo(0));

        Assert.That(new FileInfo(Path.Combine(results, "kernel.x.png")).Length, Is.GreaterThan(1000));
        var report = File.ReadAllLines(Path.Combine(results, "report.md"));
        var moves = report.SkipWhile(l => !l.StartsWith("| figure", StringComparison.Ordinal)).Skip(2).ToList();

        // Two moves between neighbours of different code (the pair of one key is not a move), the larger first.
        Assert.That(moves, Has.Count.EqualTo(2));
        Assert.That(moves[0], Does.StartWith("| kernel.x | aaaaaaa | bbbbbbb commit 1 | +30.0 % | yes |"));
        Assert.That(moves[1], Does.StartWith("| kernel.x | ccccccc | ddddddd commit 3 | -23.1 % | yes |"));
    }

    private static string Describe(PerfCheck.UserModel model) =>
        $"{model.Name} {model.Inputs} {model.Outputs} {model.Samples} {string.Join(",", model.Measure)} {string.Join(",", model.Recipe.Hidden)} {model.Recipe.Density} {model.Recipe.BatchSize} {model.Recipe.Precision} {model.Recipe.Optimizer} {model.Recipe.Evolution}";

    private static string ReadMeJson(string name)
    {
        var lines = File.ReadAllLines(Path.Combine(TestContext.CurrentContext.TestDirectory, "README.md"));
        var start = Array.IndexOf(lines, $"<!-- {name}: the JSON below is read by PerfToolsTests -->");
        Assert.That(start, Is.GreaterThanOrEqualTo(0), $"README.md lost its {name} marker");
        return string.Join('\n', lines.Skip(start + 2).TakeWhile(line => line != "```"));
    }
}
