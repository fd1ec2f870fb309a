using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Sparse.Tests.Cli;

/// <summary>The CLI on the mistakes a user makes: bad options, clashing outputs, columns that do not match, divergence and signals.</summary>
[TestFixture]
public class CliInputTests : CliFixture
{
    private static void RefusedCleanly((int Exit, string Out, string Error) run, string message, int exit = 1)
    {
        Assert.Multiple(() =>
        {
            Assert.That(run.Exit, Is.EqualTo(exit), run.Error);
            Assert.That(run.Error, Does.Contain(message));
            Assert.That(run.Error, Does.Not.Contain("   at "), "no stack trace");
        });
    }

    [TestCase("--batch-size", "0", "--batch-size must be 1 or more, got 0")]
    [TestCase("--density", "1.5", "--density must be in (0, 1], got 1.5")]
    [TestCase("--density", "0", "--density must be in (0, 1], got 0")]
    [TestCase("--epsilon", "-1", "--epsilon must be a positive number, got -1")]
    [TestCase("--epsilon", "NaN", "--epsilon must be a positive number, got NaN")]
    [TestCase("--erk", "2", "--erk must be in (0, 1], got 2")]
    [TestCase("--validation-split", "0", "--validation-split must be between 0 and 1 (exclusive), got 0")]
    [TestCase("--validation-split", "1", "--validation-split must be between 0 and 1 (exclusive), got 1")]
    [TestCase("--dropout", "1", "--dropout must be in [0, 1), got 1")]
    [TestCase("--dropout", "-0.5", "--dropout must be in [0, 1), got -0.5")]
    [TestCase("--zeta", "2", "--zeta must be between 0 and 1 (exclusive), got 2")]
    [TestCase("--zeta", "0", "--zeta must be between 0 and 1 (exclusive), got 0")]
    [TestCase("--learning-rate", "-1", "--learning-rate must be a positive number, got -1")]
    [TestCase("--learning-rate", "NaN", "--learning-rate must be a positive number, got NaN")]
    [TestCase("--learning-rate", "Infinity", "--learning-rate must be a positive number, got Infinity")]
    [TestCase("--momentum", "NaN", "--momentum must be in [0, 1), got NaN")]
    [TestCase("--momentum", "1", "--momentum must be in [0, 1), got 1")]
    [TestCase("--weight-decay", "-1", "--weight-decay must be 0 or a positive number, got -1")]
    [TestCase("--epochs", "0", "--epochs must be 1 or more, got 0")]
    [TestCase("--evolve-every", "-1", "--evolve-every must be 0 (after each epoch) or a positive number of steps, got -1")]
    [TestCase("--threads", "-3", "--threads must be 1 or more, got -3")]
    [TestCase("--threads", "0", "--threads must be 1 or more, got 0")]
    [TestCase("--clip-norm", "-2", "--clip-norm must be 0 (off) or a positive number, got -2")]
    [TestCase("--hidden", "64,0", "--hidden sizes must be positive")]
    [TestCase("--hidden", "64,x", "--hidden must be comma-separated positive whole numbers")]
    [TestCase("--hidden", "64,,64", "--hidden must be comma-separated positive whole numbers, got '64,,64'")]
    [TestCase("--checkpoint-every", "-5", "--checkpoint-every must be epoch, off or a number of steps")]
    [TestCase("--sync-every", "0", "--sync-every must be 1 (every step) or more")]
    [TestCase("--select-features", "0", "--select-features must be 1 or more")]
    public void An_option_out_of_range_is_refused_before_any_work(string option, string value, string message)
    {
        // The training file is a FIFO no one writes: a command that opened it before checking its options would wait
        // forever (and fail after the runner's three minutes), as on a file that takes minutes to read.
        var fifo = System.Diagnostics.Process.Start("mkfifo", Path.Combine(Dir, "slow.csv"))!;
        fifo.WaitForExit();
        Assert.That(fifo.ExitCode, Is.Zero, "mkfifo");
        Write("model.sparse", "an earlier model");
        var run = Sparse("train", "--train", "slow.csv", option, value, "--output", "model.sparse");
        RefusedCleanly(run, message);
        Assert.That(File.ReadAllText(Path.Combine(Dir, "model.sparse")), Is.EqualTo("an earlier model"));
    }

    [Test]
    public void Hidden_sizes_are_checked_before_the_data_is_read()
    {
        var run = Sparse("train", "--train", "missing.csv", "--hidden", "0");
        RefusedCleanly(run, "--hidden sizes must be positive");
        Assert.That(run.Error, Does.Not.Contain("missing.csv"));
    }

    [Test]
    public void Two_ways_of_setting_the_sparsity_are_refused()
    {
        RefusedCleanly(Sparse("train", "--epsilon", "4", "--density", "0.1"), "--epsilon and --density both set the sparsity");
        RefusedCleanly(Sparse("train", "--erk", "0.1", "--density", "0.1"), "--density and --erk both set the sparsity");
    }

    [TestCase("--output", "data/digits.csv.gz", "--output data/digits.csv.gz is the same file as --train")]
    [TestCase("--output", "missing/model.sparse", "--output missing/model.sparse: the directory")]
    [TestCase("--output", "data", "--output data is a directory")]
    [TestCase("--metrics", "missing/m.json", "--metrics missing/m.json: the directory")]
    [TestCase("--plot", "missing/p.png", "--plot missing/p.png: the directory")]
    [TestCase("--metrics", "model.sparse", "--metrics model.sparse is the same file as --output")]
    public void Output_paths_are_checked_before_training(string option, string path, string message)
    {
        var run = option == "--output"
            ? Sparse("train", "--train", "data/digits.csv.gz", option, path)
            : Sparse("train", "--train", "data/digits.csv.gz", "--output", "model.sparse", option, path);
        RefusedCleanly(run, message);
        Assert.That(run.Out, Does.Not.Contain("read 1,797 rows"), "refused before the data was read");
        Assert.That(File.Exists(Path.Combine(Dir, "model.sparse")) && option != "--output", Is.False);
    }

    /// <summary>A small labelled table: the label 'kind' first, then four features; kind is 'hi' when x + y > z + w.</summary>
    private string Table(string name, Func<int, string[], string> row, string header = "kind,x,y,z,w", int rows = 400)
    {
        var random = new Random(rows);
        var text = new StringBuilder(header + "\n");
        for (var n = 0; n < rows; n++)
        {
            var v = Enumerable.Range(0, 4).Select(_ => random.NextDouble()).ToArray();
            var cells = new[] { v[0] + v[1] > v[2] + v[3] ? "hi" : "lo" }.Concat(v.Select(x => x.ToString("F4", CultureInfo.InvariantCulture))).ToArray();
            text.Append(row(n, cells)).Append('\n');
        }

        return Write(name, text.ToString());
    }

    [Test]
    public void Evaluate_and_predict_match_columns_by_name()
    {
        Table("train.csv", (_, c) => string.Join(",", c));
        var train = Sparse("train", "--train", "train.csv", "--label", "kind", "--hidden", "32", "--epochs", "30", "--output", "m.sparse", "--quiet");
        Assert.That(train.Exit, Is.Zero, train.Error);
        var reference = Sparse("evaluate", "--model", "m.sparse", "--data", "train.csv");
        Assert.That(reference.Exit, Is.Zero, reference.Error);
        var accuracy = reference.Out.Split('\n').Single(l => l.StartsWith("accuracy ", StringComparison.Ordinal));
        Assert.That(double.Parse(accuracy[9..], CultureInfo.InvariantCulture), Is.GreaterThan(0.85), "the model learned the rule");

        // The same rows with the columns in another order, and with an extra column, give the same accuracy.
        Table("shuffled.csv", (_, c) => string.Join(",", c[4], c[2], c[0], c[3], c[1]), "w,y,kind,z,x");
        var shuffled = Sparse("evaluate", "--model", "m.sparse", "--data", "shuffled.csv");
        Assert.That(shuffled.Exit, Is.Zero, shuffled.Error);
        Assert.That(shuffled.Out, Does.Contain(accuracy));

        Table("extra.csv", (n, c) => string.Join(",", c) + $",{n}", "kind,x,y,z,w,id");
        var extra = Sparse("evaluate", "--model", "m.sparse", "--data", "extra.csv");
        Assert.That(extra.Exit, Is.Zero, extra.Error);
        Assert.That(extra.Out, Does.Contain(accuracy));
        Assert.That(extra.Error, Does.Contain("ignoring 1 column(s) the model does not use: 'id'"));

        // Without a header, only the training layout (label first, as trained) is accepted.
        Table("bare.csv", (_, c) => string.Join(",", c), header: "kind,x,y,z,w");
        var lines = File.ReadAllLines(Path.Combine(Dir, "bare.csv"));
        File.WriteAllLines(Path.Combine(Dir, "bare.csv"), lines[1..]);
        var bare = Sparse("evaluate", "--model", "m.sparse", "--data", "bare.csv", "--no-header");
        Assert.That(bare.Exit, Is.Zero, bare.Error);
        Assert.That(bare.Out, Does.Contain(accuracy));

        Table("missing.csv", (_, c) => string.Join(",", c[0], c[1], c[2], c[4]), "kind,x,y,w");
        RefusedCleanly(Sparse("evaluate", "--model", "m.sparse", "--data", "missing.csv"), "missing.csv: missing the feature column the model was trained with: 'z'");
        RefusedCleanly(Sparse("predict", "--model", "m.sparse", "--data", "missing.csv", "--output", "p.csv"), "missing the feature column the model was trained with: 'z'");
        Assert.That(File.Exists(Path.Combine(Dir, "p.csv")), Is.False);

        Table("nolabel.csv", (_, c) => string.Join(",", c[1..]), "x,y,z,w");
        RefusedCleanly(Sparse("evaluate", "--model", "m.sparse", "--data", "nolabel.csv"), "nolabel.csv: has no label column 'kind'");
        var predict = Sparse("predict", "--model", "m.sparse", "--data", "nolabel.csv", "--output", "p.csv");
        Assert.That(predict.Exit, Is.Zero, predict.Error);
        var predicted = File.ReadAllLines(Path.Combine(Dir, "p.csv"));
        var shuffledPredict = Sparse("predict", "--model", "m.sparse", "--data", "shuffled.csv", "--output", "q.csv");
        Assert.That(shuffledPredict.Exit, Is.Zero, shuffledPredict.Error);
        Assert.That(File.ReadAllLines(Path.Combine(Dir, "q.csv")), Is.EqualTo(predicted), "the same predictions from reordered columns");

        RefusedCleanly(Sparse("predict", "--model", "m.sparse", "--data", "nolabel.csv", "--output", "nolabel.csv"), "--output nolabel.csv is the same file as --data");
    }

    [Test]
    public void Divergence_stops_with_exit_code_3_and_keeps_the_earlier_model()
    {
        Write("model.sparse", "an earlier model");
        var run = Sparse("train", "--learning-rate", "10", "--optimizer", "sgd", "--activation", "all-relu", "--epsilon", "20", "--hidden", "1000,1000,1000",
            "--epochs", "3", "--output", "model.sparse", "--metrics", "metrics.json");
        RefusedCleanly(run, "training diverged in epoch 1, batch", exit: 3);
        Assert.That(run.Error, Does.Contain("--learning-rate"));
        Assert.That(File.ReadAllText(Path.Combine(Dir, "model.sparse")), Is.EqualTo("an earlier model"));
        Assert.That(File.Exists(Path.Combine(Dir, "metrics.json")), Is.False);
    }

    [Test]
    public void Regression_targets_near_50_train_by_default_and_are_reported_in_their_units()
    {
        var random = new Random(5);
        var text = new StringBuilder("a,b,c,d,e,y\n");
        for (var n = 0; n < 1500; n++)
        {
            var v = Enumerable.Range(0, 5).Select(_ => (random.NextDouble() * 2) - 1).ToArray();
            var y = 50 + (((3 * v[0]) - (2 * v[1]) + (v[2] * v[3])) / 4);
            text.Append(string.Join(",", v.Select(x => x.ToString("F4", CultureInfo.InvariantCulture)))).Append(',').Append(y.ToString("F4", CultureInfo.InvariantCulture)).Append('\n');
        }

        Write("reg.csv", text.ToString());
        var train = Sparse("train", "--train", "reg.csv", "--epochs", "15", "--output", "r.sparse", "--metrics", "m.json");
        Assert.That(train.Exit, Is.Zero, train.Error);
        Assert.That(train.Out, Does.Contain("test RMSE"));
        Assert.That(train.Out, Does.Not.Contain("accuracy ,"));
        using (var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(Dir, "m.json"))))
        {
            Assert.That(metrics.RootElement.GetProperty("final").GetProperty("test_rmse").GetDouble(), Is.LessThan(0.15));
        }

        var evaluate = Sparse("evaluate", "--model", "r.sparse", "--data", "reg.csv");
        Assert.That(evaluate.Exit, Is.Zero, evaluate.Error);
        var r2 = evaluate.Out.Split('\n').Single(l => l.StartsWith("r2 ", StringComparison.Ordinal));
        Assert.That(double.Parse(r2[3..], CultureInfo.InvariantCulture), Is.GreaterThan(0.8));
        Assert.That(evaluate.Out, Does.Contain("rmse ").And.Contain("mae "));

        var predict = Sparse("predict", "--model", "r.sparse", "--data", "reg.csv", "--output", "p.csv");
        Assert.That(predict.Exit, Is.Zero, predict.Error);
        var values = File.ReadAllLines(Path.Combine(Dir, "p.csv"))[1..].Select(l => double.Parse(l, CultureInfo.InvariantCulture)).ToArray();
        Assert.That(values.Average(), Is.InRange(49, 51), "predictions in the target's units");
    }

    [TestCase("trunc.csv.gz", "truncated or damaged gzip file")]
    [TestCase("plain.csv.gz", "plain.csv.gz: not a gzip file")]
    [TestCase("data", "data: is a directory, not a CSV file")]
    public void Damaged_or_wrong_input_files_are_named(string name, string message)
    {
        var gz = File.ReadAllBytes(Path.Combine(Dir, "data", "digits.csv.gz"));
        File.WriteAllBytes(Path.Combine(Dir, "trunc.csv.gz"), gz[..(gz.Length / 2)]);
        Write("plain.csv.gz", "a,b\n1,2\n");
        RefusedCleanly(Sparse("train", "--train", name, "--output", "m.sparse"), message);
    }

    [Test]
    public void A_finished_model_or_a_checkpoint_past_the_run_cannot_be_resumed()
    {
        Assert.That(Sparse("train", "--epochs", "1", "--hidden", "16", "--output", "m.sparse", "--quiet").Exit, Is.Zero);
        RefusedCleanly(Sparse("train", "--epochs", "2", "--hidden", "16", "--output", "n.sparse", "--resume", "m.sparse"), "is a finished model, not a checkpoint");
    }

    [Test]
    public void Sigterm_writes_a_checkpoint_and_exits_143()
    {
        var run = CliRunner.RunUntilSignal(Dir, ["train", "--epochs", "400", "--hidden", "256,256", "--output", "long.sparse"], "Epoch 2/", CliRunner.SigTerm);
        Assert.That(run.Delivered, Is.True);
        Assert.That(run.Exit, Is.EqualTo(143));
        Assert.That(run.Error, Does.Contain("resume with --resume long.sparse.checkpoint"));
        Assert.That(File.Exists(Path.Combine(Dir, "long.sparse.checkpoint")), Is.True);
    }

    [Test]
    public void A_table_of_100000_columns_trains()
    {
        var random = new Random(1);
        var text = new StringBuilder(string.Join(",", Enumerable.Range(0, 100_000).Select(c => $"g{c}")) + ",label\n");
        for (var r = 0; r < 20; r++)
        {
            text.AppendJoin(',', Enumerable.Range(0, 100_000).Select(_ => random.Next(10))).Append(',').Append(r % 2).Append('\n');
        }

        Write("wide.csv", text.ToString());
        var run = Sparse("train", "--train", "wide.csv", "--hidden", "64", "--epochs", "2", "--output", "wide.sparse");
        Assert.That(run.Exit, Is.Zero, run.Error);
        Assert.That(run.Out, Does.Contain("read 20 rows of 100,000 features").And.Contain("saved wide.sparse"));
        var predict = Sparse("predict", "--model", "wide.sparse", "--data", "wide.csv", "--output", "p.csv");
        Assert.That(predict.Exit, Is.Zero, predict.Error);
        Assert.That(File.ReadAllLines(Path.Combine(Dir, "p.csv")), Has.Length.EqualTo(21));
    }

    [Test]
    public void Ctrl_c_after_the_last_epoch_lets_the_save_finish()
    {
        // The signal lands during the final evaluation or save, or after the process ended (then it is not
        // delivered): either way the model is complete, and an interrupted finish says so.
        var run = CliRunner.RunUntilSignal(Dir, ["train", "--epochs", "2", "--hidden", "2000,2000", "--epsilon", "40", "--output", "final.sparse"], "Epoch 2/", CliRunner.SigInt);
        Assert.That(run.Exit, Is.EqualTo(0).Or.EqualTo(130), run.Error);
        if (run.Exit == 130)
        {
            Assert.That(run.Error, Does.Contain("final.sparse was saved completely first"));
        }

        Assert.That(Sparse("info", "--model", "final.sparse").Exit, Is.Zero);
    }

    [Test]
    public void A_run_interrupted_by_a_signal_and_resumed_with_no_other_flag_is_the_straight_run()
    {
        string[] options = ["--hidden", "600,600", "--epsilon", "12", "--dropout", "0.2", "--epochs", "4", "--seed", "7"];
        var straight = Sparse(["train", .. options, "--output", "straight.sparse", "--quiet"]);
        Assert.That(straight.Exit, Is.Zero, straight.Error);

        var interrupted = CliRunner.RunUntilSignal(Dir, ["train", .. options, "--output", "resumed.sparse"], "Epoch 1/", CliRunner.SigTerm);
        Assert.That(interrupted.Delivered, Is.True);
        Assert.That(interrupted.Exit, Is.EqualTo(143), interrupted.Error);

        var contradiction = Sparse("train", "--seed", "8", "--output", "resumed.sparse", "--resume", "resumed.sparse.checkpoint");
        RefusedCleanly(contradiction, "--seed 8 contradicts the checkpoint resumed.sparse.checkpoint, which was trained with --seed 7");

        var resumed = Sparse("train", "--output", "resumed.sparse", "--resume", "resumed.sparse.checkpoint");
        Assert.That(resumed.Exit, Is.Zero, resumed.Error);
        Assert.That(File.Exists(Path.Combine(Dir, "resumed.sparse.checkpoint")), Is.False, "a finished run removes its checkpoint");

        var a = global::Sparse.Training.Checkpoint.Load(Path.Combine(Dir, "straight.sparse"));
        var b = global::Sparse.Training.Checkpoint.Load(Path.Combine(Dir, "resumed.sparse"));
        Assert.That(b.History.Epochs.Select(e => (e.TrainLoss, e.TestLoss, e.TestAccuracy, e.Connections)),
            Is.EqualTo(a.History.Epochs.Select(e => (e.TrainLoss, e.TestLoss, e.TestAccuracy, e.Connections))));
        for (var n = 0; n < a.Network.Parameters.Count; n++)
        {
            Assert.That(b.Network.Parameters[n].Values, Is.EqualTo(a.Network.Parameters[n].Values).AsCollection, a.Network.Parameters[n].Name);
        }
    }

    [Test]
    public void The_default_run_evolves_its_topology()
    {
        var run = Sparse("train", "--epochs", "2", "--hidden", "64", "--output", "m.sparse", "--verbose");
        Assert.That(run.Exit, Is.Zero, run.Error);
        Assert.That(run.Out, Does.Contain("topology: rigl: prune by magnitude, grow by gradient; rewiring 0.3 of each layer twice an epoch (cosine-decayed, until 75 % of training)"));
        Assert.That(run.Out + run.Error, Does.Contain("Layer 0: pruned"), "the topology changed during the run");
    }

    [Test]
    public void Json_log_format_writes_one_parsable_event_per_line_and_nothing_else_on_standard_output()
    {
        var run = Sparse("train", "--epochs", "2", "--hidden", "64", "--output", "json.sparse", "--log-format", "json");
        Assert.That(run.Exit, Is.Zero, run.Error);
        var events = run.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => System.Text.Json.JsonDocument.Parse(line)).ToArray();
        var epochs = events.Where(e => e.RootElement.GetProperty("State").TryGetProperty("Number", out _)).ToArray();
        Assert.Multiple(() =>
        {
            Assert.That(epochs, Has.Length.EqualTo(2), "one event per epoch");
            Assert.That(epochs[1].RootElement.GetProperty("State").GetProperty("Epochs").GetInt32(), Is.EqualTo(2));
            Assert.That(events.Any(e => e.RootElement.GetProperty("Category").GetString() == "Sparse.Topology.TopologyEvolver"), Is.True, "rewiring events");
            Assert.That(run.Error, Does.Contain("saved json.sparse"), "the summary goes to standard error");
            var saved = events.Last().RootElement;
            Assert.That(saved.GetProperty("Category").GetString(), Is.EqualTo("Sparse.Cli"));
            Assert.That(saved.GetProperty("State").GetProperty("Kind").GetString(), Is.EqualTo("model"), "the saved model is the last event");
            Assert.That(saved.GetProperty("State").GetProperty("Path").GetString(), Is.EqualTo("json.sparse"));
        });
    }

    [Test]
    public void Json_log_format_ends_the_stream_with_an_error_event_when_the_run_fails()
    {
        Write("bad.csv", "a,b,label\n1,2,x\n3,oops,y\n");
        var run = Sparse("train", "--train", "bad.csv", "--epochs", "1", "--log-format", "json");
        Assert.That(run.Exit, Is.EqualTo(1));
        Assert.That(run.Error, Does.Contain("bad.csv:3:2").And.Not.Contain("   at "));
        var events = run.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => System.Text.Json.JsonDocument.Parse(line).RootElement).ToArray();
        Assert.That(events, Is.Not.Empty);
        Assert.That(events[^1].GetProperty("LogLevel").GetString(), Is.EqualTo("Error"));
        Assert.That(events[^1].GetProperty("State").GetProperty("Reason").GetString(), Does.Contain("bad.csv:3:2"));
    }
}
