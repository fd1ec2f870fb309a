using Sparse.Training;

namespace Sparse.Tests.Training;

[TestFixture]
public class ExecutionPlanTests
{
    [Test]
    public void Sparse_layers_followed_by_a_relu_run_fused_and_the_plan_reads_in_order()
    {
        var network = SparseNetwork.CreateMlp([8, 16, 16, 4], ActivationKind.Relu, epsilon: 2, seed: 1);
        var plan = network.Plan;
        Assert.That(plan.Forward.Select(s => (s.Kind, s.First, s.Last)), Is.EqualTo(new[]
        {
            (PlanStepKind.SparseRelu, 0, 1), (PlanStepKind.SparseRelu, 2, 3), (PlanStepKind.Layer, 4, 4),
        }));
        Assert.That(plan.Backward.Select(s => (s.Kind, s.First, s.Last)), Is.EqualTo(new[]
        {
            (PlanStepKind.GatedTransposed, 3, 4), (PlanStepKind.GatedTransposed, 1, 2), (PlanStepKind.Layer, 0, 0),
        }));
        Assert.That(plan.Describe().First(), Is.EqualTo("forward  0-1: sparse 8 -> 16 + relu, fused (MultiplyRelu)"));
    }

    [Test]
    public void Dropout_and_other_activations_are_not_fused_across()
    {
        var dropout = SparseNetwork.CreateMlp([8, 16, 4], ActivationKind.Relu, epsilon: 2, seed: 1, dropout: 0.5f).Plan;
        Assert.That(dropout.Forward.Select(s => s.Kind), Is.EqualTo(new[] { PlanStepKind.SparseRelu, PlanStepKind.Layer, PlanStepKind.Layer }));
        Assert.That(dropout.Backward.Select(s => s.Kind), Is.All.EqualTo(PlanStepKind.Layer), "the last sparse layer's input is dropout's output");

        var tanh = SparseNetwork.CreateMlp([8, 16, 4], ActivationKind.Tanh, epsilon: 2, seed: 1).Plan;
        Assert.That(tanh.Forward.Concat(tanh.Backward).Select(s => s.Kind), Is.All.EqualTo(PlanStepKind.Layer));
    }
}
