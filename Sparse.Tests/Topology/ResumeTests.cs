using Sparse.Tests.Training;
using Sparse.Topology;
using Sparse.Training;

namespace Sparse.Tests.Topology;

/// <summary>An evolving run interrupted mid-epoch (once or twice) and resumed from its checkpoints is the straight run, bit for bit.</summary>
[TestFixture]
public class ResumeTests
{
    private string _directory = null!;

    [SetUp]
    public void MakeDirectory() => _directory = Directory.CreateTempSubdirectory("sparse-resume-").FullName;

    [TearDown]
    public void RemoveDirectory() => Directory.Delete(_directory, recursive: true);

    private static ITrainingHook[] Hooks(string method) => method switch
    {
        "none" => [],
        "set" => [new EvolutionHook(TopologyEvolver.Set(seed: 5), EvolutionSchedule.EveryEpoch())],
        "rigl" => [new EvolutionHook(TopologyEvolver.RigL(), EvolutionSchedule.EveryEpoch())],
        "ctre" => [new EvolutionHook(TopologyEvolver.Ctre(CtreVariant.Plain, seed: 5), EvolutionSchedule.EveryEpoch())],
        "ctre-sim" => [new EvolutionHook(TopologyEvolver.Ctre(CtreVariant.Sim, seed: 5), EvolutionSchedule.EveryEpoch())],
        "ctre-seq" => [new EvolutionHook(TopologyEvolver.Ctre(CtreVariant.Seq, seed: 5), EvolutionSchedule.EveryEpoch())],
        "cosine-prune-gradient-grow" => [new EvolutionHook(new TopologyEvolver(new CosinePruner(), new GradientRegrower()), EvolutionSchedule.EveryEpoch())],
        "cosine-prune-random-grow" => [new EvolutionHook(new TopologyEvolver(new CosinePruner(), new RandomRegrower(5)), EvolutionSchedule.EveryEpoch())],
        "sup-tickets" => SupTickets(new EvolutionHook(TopologyEvolver.RigL(), EvolutionSchedule.Before(EvolutionSchedule.EveryEpoch(), 2))),
        "gap" => [new GapHook(3, 0.5, 1, seed: 5)],
        "gradual" => [new GradualPruningHook([500, 600, 300], interval: 0)],
        "gradual-every-7-steps" => [new GradualPruningHook([500, 600, 300], interval: 7)],
        "set-every-10-steps" => [new EvolutionHook(TopologyEvolver.Set(seed: 5), EvolutionSchedule.CosineDecay(0.3, 10))],
        "set-and-neuron-pruning" => [new EvolutionHook(TopologyEvolver.Set(seed: 5), EvolutionSchedule.EveryEpoch()), new NeuronPruningHook(new NeuronImportancePruner(20), startEpoch: 1, everyEpochs: 1)],
        _ => throw new ArgumentException(method),
    };

    // Two epochs, then two cycles of one, RigL rewiring at each cycle's start.
    private static ITrainingHook[] SupTickets(EvolutionHook evolution) => [new SupTicketsHook(2, 1, evolution), evolution];

    private static Trainer NewTrainer(SparseNetwork network, Optimizer optimizer, string method)
    {
        var schedule = method == "sup-tickets" ? new SupTicketsSchedule(LearningRateSchedule.Cosine(0.001f), 2, 1) : LearningRateSchedule.Cosine();
        var trainer = new Trainer(network, new SoftmaxCrossEntropy(), optimizer, new TrainerOptions { Epochs = 4, BatchSize = 50, Seed = 8, Schedule = schedule });
        foreach (var hook in Hooks(method))
        {
            trainer.Hooks.Add(hook);
        }

        return trainer;
    }

    [TestCase("none", false)]
    [TestCase("set", false)]
    [TestCase("set", true)]
    [TestCase("rigl", false)]
    [TestCase("ctre", false)]
    [TestCase("ctre-sim", false)]
    [TestCase("ctre-seq", false)]
    [TestCase("cosine-prune-gradient-grow", false)]
    [TestCase("cosine-prune-random-grow", true)]
    [TestCase("sup-tickets", false)]
    [TestCase("gap", true)]
    [TestCase("gradual", true)]
    [TestCase("gradual-every-7-steps", false)]
    [TestCase("set-every-10-steps", false)]
    [TestCase("set-and-neuron-pruning", true)]
    public void An_interrupted_and_resumed_run_is_the_straight_run(string method, bool adamWithDropout)
    {
        SparseNetwork Build() => SparseNetwork.CreateMlp([64, 96, 96, 10], ActivationKind.Relu, epsilon: 6, seed: 3, dropout: adamWithDropout ? 0.2f : 0,
            normalization: InputNormalization.Fit(DigitsData.Train, NormalizationKind.Standardize));
        Optimizer MakeOptimizer() => adamWithDropout ? new Adam(2e-3f, weightDecay: 1e-4f) : new Sgd(0.05f, momentum: 0.9f);

        var straight = Build();
        var straightOptimizer = MakeOptimizer();
        var straightTrainer = NewTrainer(straight, straightOptimizer, method);
        straightTrainer.Fit(DigitsData.Train, DigitsData.Test);

        // 29 batches an epoch: stop at step 40 (epoch 1, batch 11), resume, stop at step 70 (epoch 2, batch 12), resume.
        var network = Build();
        var optimizer = MakeOptimizer();
        var path = Path.Combine(_directory, "run.checkpoint");
        foreach (var stop in new long[] { 29, 70, long.MaxValue })
        {
            var trainer = NewTrainer(network, optimizer, method);
            if (File.Exists(path))
            {
                var checkpoint = Checkpoint.Load(path);
                network = checkpoint.Network;
                optimizer = checkpoint.Optimizer!;
                trainer = NewTrainer(network, optimizer, method);
                trainer.Resume(checkpoint);
            }

            using var interrupt = new CancellationTokenSource();
            trainer.Hooks.Add(new CancelAtStep(stop, interrupt));
            trainer.Fit(DigitsData.Train, DigitsData.Test, interrupt.Token);
            if (stop != long.MaxValue)
            {
                trainer.SaveCheckpoint(path);
            }
            else
            {
                // Every field but the timings, the interrupted epochs' rewiring counts included.
                static object Record(EpochRecord e) => (e.Epoch, e.TrainLoss, e.TrainAccuracy, e.TestLoss, e.TestAccuracy, e.Connections, e.LearningRate,
                    string.Join(",", e.LayerConnections), string.Join(",", e.LayerPruned), string.Join(",", e.LayerGrown));
                Assert.That(trainer.History.Epochs.Select(Record), Is.EqualTo(straightTrainer.History.Epochs.Select(Record)), "every epoch's record");
                Assert.That(trainer.History.TopologyChanges, Is.EqualTo(straightTrainer.History.TopologyChanges), "every rewiring");
            }
        }

        Assert.That(network.Parameters, Has.Count.EqualTo(straight.Parameters.Count));
        for (var n = 0; n < straight.Parameters.Count; n++)
        {
            var expected = straight.Parameters[n];
            var actual = network.Parameters[n];
            Assert.That(actual.Matrix?.ColumnIndices, Is.EqualTo(expected.Matrix?.ColumnIndices), expected.Name + " structure");
            Assert.That(actual.Values, Is.EqualTo(expected.Values).AsCollection, expected.Name);
            var expectedState = straightOptimizer.StateOf(expected);
            var actualState = optimizer.StateOf(actual);
            for (var slot = 0; slot < expectedState.Length; slot++)
            {
                Assert.That(actualState[slot], Is.EqualTo(expectedState[slot]).AsCollection, $"{expected.Name} optimizer slot {slot}");
            }
        }
    }

    [Test]
    public void Resuming_with_other_hooks_is_refused()
    {
        var trainer = NewTrainer(SparseNetwork.CreateMlp([64, 32, 10], ActivationKind.Relu, epsilon: 4, seed: 1), new Sgd(0.05f, momentum: 0.9f), "set");
        using var interrupt = new CancellationTokenSource();
        trainer.Hooks.Add(new CancelAtStep(5, interrupt));
        trainer.Fit(DigitsData.Train, cancellation: interrupt.Token);
        var path = Path.Combine(_directory, "set.checkpoint");
        trainer.SaveCheckpoint(path);

        var checkpoint = Checkpoint.Load(path);
        var other = NewTrainer(checkpoint.Network, checkpoint.Optimizer!, "none");
        other.Resume(checkpoint);
        var error = Assert.Throws<InvalidOperationException>(() => other.Fit(DigitsData.Train));
        Assert.That(error!.Message, Does.Contain("EvolutionHook as hook 0"));

        var ctre = NewTrainer(checkpoint.Network, checkpoint.Optimizer!, "ctre");
        ctre.Resume(checkpoint);
        Assert.That(Assert.Throws<InvalidDataException>(() => ctre.Fit(DigitsData.Train))!.Message, Does.Contain("RandomRegrower where this one uses CosineRegrower"));
    }
}
