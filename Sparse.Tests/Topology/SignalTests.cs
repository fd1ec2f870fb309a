using Sparse.Tests.Training;
using Sparse.Topology;
using Sparse.Training;

namespace Sparse.Tests.Topology;

/// <summary>Signals an evolver reads belong to one training step, recorded into a recorder the caller owns, never to an evaluation that ran after it.</summary>
[TestFixture]
public class SignalTests
{
    private static (SparseNetwork Network, Sgd Optimizer, BatchLoader Train, BatchLoader Test) Setup()
    {
        var network = SparseNetwork.CreateMlp([64, 64, 64, 10], ActivationKind.Relu, epsilon: 4, seed: 2,
            normalization: InputNormalization.Fit(DigitsData.Train, NormalizationKind.Standardize));
        return (network, new Sgd(0.05f, momentum: 0.9f), new BatchLoader(DigitsData.Train, 32, network.Normalization, shuffle: true, seed: 1),
            new BatchLoader(DigitsData.Test, 50, network.Normalization, shuffle: false, seed: 0));
    }

    private static float[] TrainStep(SparseNetwork network, Sgd optimizer, BatchLoader loader, SignalRecorder? recorder)
    {
        loader.Next();
        var output = network.Forward(loader.Batch.Features, loader.Batch.Size, training: true);
        var gradient = new float[output.Length];
        new SoftmaxCrossEntropy().Compute(output, loader.Batch, gradient);
        network.Backward(gradient, recorder);
        optimizer.Step(network.Parameters);
        return gradient;
    }

    [Test]
    public void A_recorder_holds_the_step_it_recorded_and_refuses_once_another_pass_ran()
    {
        var (network, optimizer, train, test) = Setup();
        var recorder = new SignalRecorder(SignalKinds.OutputGradients);
        var last = network.SparseLayers.Last();
        Assert.That(Assert.Throws<InvalidOperationException>(() => recorder.Of(last))!.Message, Does.Contain("Nothing recorded"));

        train.StartEpoch(0);
        var gradient = TrainStep(network, optimizer, train, recorder);
        Assert.Multiple(() =>
        {
            Assert.That(recorder.IsCurrent, Is.True);
            Assert.That(recorder.Of(last).OutputGradient.ToArray(), Is.EqualTo(gradient).AsCollection, "the output layer's gradient is the loss gradient");
            Assert.That(recorder.Of(last).Batch, Is.EqualTo(32));
        });

        test.Next();
        network.Forward(test.Batch.Features, test.Batch.Size, training: false);
        Assert.That(recorder.IsCurrent, Is.False);
        Assert.That(Assert.Throws<InvalidOperationException>(() => recorder.Of(last))!.Message, Does.Contain("stale"));

        // SET needs no signals and evolves; CTRE says what it lacks.
        Assert.DoesNotThrow(() => TopologyEvolver.Set(seed: 1).Evolve(network, optimizer, 0.3, recorder));
        var ctre = Assert.Throws<InvalidOperationException>(() => TopologyEvolver.Ctre(seed: 1).Evolve(network, optimizer, 0.3, recorder));
        Assert.That(ctre!.Message, Does.Contain("ActivationSample"));

        // Recording the backward pass of an evaluation is refused.
        var outputGradient = new float[10 * test.Batch.Size];
        Assert.That(() => network.Backward(outputGradient, recorder), Throws.InvalidOperationException.With.Message.Contains("training step"));
    }

    [Test]
    public void Without_a_recorder_for_gradients_RigL_says_what_it_lacks()
    {
        var (network, optimizer, train, _) = Setup();
        var activationsOnly = new SignalRecorder(SignalKinds.Activations);
        train.StartEpoch(0);
        TrainStep(network, optimizer, train, activationsOnly);
        Assert.That(activationsOnly.Of(network.SparseLayers.First()).OutputGradient.IsEmpty, Is.True);
        var rigl = Assert.Throws<InvalidOperationException>(() => TopologyEvolver.RigL().Evolve(network, optimizer, 0.3, activationsOnly));
        Assert.That(rigl!.Message, Does.Contain("SignalKinds.OutputGradients"));
        Assert.DoesNotThrow(() => TopologyEvolver.Ctre(seed: 1).Evolve(network, optimizer, 0.3, activationsOnly), "CTRE needs activations only");
    }

    [Test]
    public void The_trainer_records_what_its_hooks_read_from_the_first_step()
    {
        var (network, optimizer, _, _) = Setup();
        var trainer = new Trainer(network, new SoftmaxCrossEntropy(), optimizer, new TrainerOptions { Epochs = 1, BatchSize = 32 });
        var hook = new EvolutionHook(TopologyEvolver.RigL(), EvolutionSchedule.CosineDecay(0.3, deltaT: 1));
        trainer.Hooks.Add(hook);
        Assert.Multiple(() =>
        {
            Assert.That(hook.Signals, Is.EqualTo(SignalKinds.OutputGradients));
            Assert.That(new EvolutionHook(TopologyEvolver.Set()).Signals, Is.EqualTo(SignalKinds.None));
            Assert.That(new EvolutionHook(TopologyEvolver.Ctre()).Signals, Is.EqualTo(SignalKinds.TrainingSample), "CTRE reads a sample of the training rows, recorded apart");
        });
        trainer.Fit(DigitsData.Train);
        Assert.That(hook.History[0][0].Step, Is.EqualTo(1), "RigL evolved after the very first step");
    }

    [Test]
    public void The_trainer_records_only_the_steps_a_hook_reads()
    {
        var (network, optimizer, _, _) = Setup();
        var trainer = new Trainer(network, new SoftmaxCrossEntropy(), optimizer, new TrainerOptions { Epochs = 1, BatchSize = 32 });
        var hook = new ReadsStepThree();
        trainer.Hooks.Add(hook);
        trainer.Fit(DigitsData.Train);
        Assert.That(hook.Current, Is.EqualTo(new[] { 3L }), "a recording is current after step 3 only");
    }

    private sealed class ReadsStepThree : ITrainingHook
    {
        public List<long> Current { get; } = [];

        public SignalKinds Signals => SignalKinds.OutputGradients;

        public bool ReadsSignalsOf(long stepNumber, bool endsEpoch, TrainingContext context) => stepNumber == 3;

        public void OnStepEnd(TrainingContext context)
        {
            if (context.Signals is { IsCurrent: true })
            {
                Current.Add(context.Step);
            }
        }

        public void OnEpochEnd(TrainingContext context)
        {
        }
    }
}
