using Sparse.Tests.Training;
using Sparse.Topology;
using Sparse.Training;

namespace Sparse.Tests.Topology;

/// <summary>Signals an evolver reads belong to one training step, never to an evaluation that ran after it.</summary>
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

    private static void TrainStep(SparseNetwork network, Sgd optimizer, BatchLoader loader)
    {
        loader.Next();
        var output = network.Forward(loader.Batch.Features, loader.Batch.Size, training: true);
        var gradient = new float[output.Length];
        new SoftmaxCrossEntropy().Compute(output, loader.Batch, gradient);
        network.Backward(gradient);
        optimizer.Step(network.Parameters);
    }

    [Test]
    public void An_evaluation_pass_invalidates_the_training_signals()
    {
        var (network, optimizer, train, test) = Setup();
        network.RetainGradients = true;
        train.StartEpoch(0);
        TrainStep(network, optimizer, train);
        var layer = network.SparseLayers.First();
        Assert.That(network.HasTrainingSignals, Is.True);
        Assert.That(network.SignalsOf(layer).OutputGradient.IsEmpty, Is.False);

        test.Next();
        network.Forward(test.Batch.Features, test.Batch.Size, training: false);
        Assert.That(network.HasTrainingSignals, Is.False);
        Assert.That(Assert.Throws<InvalidOperationException>(() => network.SignalsOf(layer))!.Message, Does.Contain("evaluation"));

        // SET needs no signals and evolves; CTRE says what it lacks.
        Assert.DoesNotThrow(() => TopologyEvolver.Set(seed: 1).Evolve(network, optimizer, 0.3));
        var ctre = Assert.Throws<InvalidOperationException>(() => TopologyEvolver.Ctre(seed: 1).Evolve(network, optimizer, 0.3));
        Assert.That(ctre!.Message, Does.Contain("before any evaluation"));

        // A forward pass without its backward pass has activations but no gradients of that step.
        network.Forward(test.Batch.Features, test.Batch.Size, training: true);
        Assert.That(network.SignalsOf(layer).OutputGradient.IsEmpty, Is.True);
    }

    [Test]
    public void The_trainer_retains_gradients_before_the_first_step_when_a_hook_needs_them()
    {
        var (network, optimizer, _, _) = Setup();
        var trainer = new Trainer(network, new SoftmaxCrossEntropy(), optimizer, new TrainerOptions { Epochs = 1, BatchSize = 32 });
        var hook = new EvolutionHook(TopologyEvolver.RigL(), EvolutionSchedule.CosineDecay(0.3, deltaT: 1));
        trainer.Hooks.Add(hook);
        Assert.That(network.RetainGradients, Is.False);
        trainer.Fit(DigitsData.Train);
        Assert.That(network.RetainGradients, Is.True);
        Assert.That(hook.History[0][0].Step, Is.EqualTo(1), "RigL evolved after the very first step");
    }
}
