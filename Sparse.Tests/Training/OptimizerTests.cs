using Sparse.Training;

namespace Sparse.Tests.Training;

[TestFixture]
public class OptimizerTests
{
    private static Parameter Weights(float[] values, float[] gradient)
    {
        var p = new Parameter("w", values, decays: true);
        gradient.CopyTo(p.Gradient, 0);
        return p;
    }

    [Test]
    public void Plain_sgd_steps_against_the_gradient()
    {
        var p = Weights([1f, -2f], [0.5f, -1f]);
        new Sgd(0.1f).Step([p]);
        Assert.That(p.Values, Is.EqualTo(new[] { 0.95f, -1.9f }).Within(1e-6));
    }

    [Test]
    public void Momentum_accumulates_velocity()
    {
        // v1 = g1 = 1; w = 1 - 0.1 = 0.9. v2 = 0.9 * 1 + 2 = 2.9; w = 0.9 - 0.29 = 0.61.
        var p = Weights([1f], [1f]);
        var sgd = new Sgd(0.1f, momentum: 0.9f);
        sgd.Step([p]);
        Assert.That(p.Values[0], Is.EqualTo(0.9f).Within(1e-6));
        p.Gradient[0] = 2f;
        sgd.Step([p]);
        Assert.That(p.Values[0], Is.EqualTo(0.61f).Within(1e-6));
    }

    [Test]
    public void Nesterov_looks_ahead_along_the_velocity()
    {
        // v1 = 1; step g + mu v = 1 + 0.9 = 1.9; w = 1 - 0.19 = 0.81. v2 = 0.9 + 2 = 2.9; step 2 + 2.61 = 4.61; w = 0.81 - 0.461 = 0.349.
        var p = Weights([1f], [1f]);
        var sgd = new Sgd(0.1f, momentum: 0.9f, nesterov: true);
        sgd.Step([p]);
        Assert.That(p.Values[0], Is.EqualTo(0.81f).Within(1e-6));
        p.Gradient[0] = 2f;
        sgd.Step([p]);
        Assert.That(p.Values[0], Is.EqualTo(0.349f).Within(1e-6));
    }

    [Test]
    public void Weight_decay_applies_to_weights_but_not_to_biases()
    {
        // g = 0.5 + 0.1 * 2 = 0.7; w = 2 - 0.1 * 0.7 = 1.93.
        var w = Weights([2f], [0.5f]);
        var b = new Parameter("b", [2f], decays: false);
        b.Gradient[0] = 0.5f;
        new Sgd(0.1f, weightDecay: 0.1f).Step([w, b]);
        Assert.Multiple(() =>
        {
            Assert.That(w.Values[0], Is.EqualTo(1.93f).Within(1e-6));
            Assert.That(b.Values[0], Is.EqualTo(1.95f).Within(1e-6));
        });
    }

    [Test]
    public void Adam_first_steps_move_by_the_learning_rate()
    {
        // Step 1: m = 0.1 g, v = 0.001 g^2; bias-corrected m/sqrt(v) = sign(g), so w moves by lr.
        // Step 2 with g2 = -g1/2: m = 0.09 * 2 - 0.1 = 0.08 (g1 = 2), v = 0.999 * 0.004 + 0.001 = 0.004996;
        // mhat = 0.08 / 0.19, vhat = 0.004996 / 0.001999; w -= 0.01 * mhat / sqrt(vhat).
        var p = Weights([1f], [2f]);
        var adam = new Adam(0.01f);
        adam.Step([p]);
        Assert.That(p.Values[0], Is.EqualTo(0.99f).Within(1e-5));
        p.Gradient[0] = -1f;
        adam.Step([p]);
        var mhat = 0.08 / 0.19;
        var vhat = 0.004996 / (1 - (0.999 * 0.999));
        Assert.That(p.Values[0], Is.EqualTo(0.99 - (0.01 * mhat / (Math.Sqrt(vhat) + 1e-8))).Within(1e-5));
    }

    [Test]
    public void Adam_l2_and_adamw_decoupled_decay_differ_as_defined()
    {
        // L2: g = 0 + 0.5 * 2 = 1, first step moves by lr: 2 - 0.1 = 1.9.
        var l2 = Weights([2f], [0f]);
        new Adam(0.1f, weightDecay: 0.5f).Step([l2]);
        Assert.That(l2.Values[0], Is.EqualTo(1.9f).Within(1e-5));

        // AdamW with zero gradient: only the shrink w *= 1 - lr * wd = 0.95 (m = v = 0 gives no step).
        var w = Weights([2f], [0f]);
        Adam.W(0.1f, weightDecay: 0.5f).Step([w]);
        Assert.That(w.Values[0], Is.EqualTo(1.9f).Within(1e-5));
        w.Gradient[0] = 1f;
        var before = w.Values[0];
        var adamw = Adam.W(0.1f, weightDecay: 0f);
        adamw.Step([w]);
        Assert.That(w.Values[0], Is.EqualTo(before - 0.1f).Within(1e-5));
    }

    [Test]
    public void Adam_l2_and_adamw_part_where_the_gradient_is_not_zero()
    {
        // w = 2, g = 1, lr 0.1, wd 0.5. L2: g' = 1 + 0.5 x 2 = 2, and Adam's first step moves by lr whatever the
        // gradient's size: 1.9. AdamW: w x (1 - 0.1 x 0.5) = 1.9, then the step on g = 1: 1.8.
        var l2 = Weights([2f], [1f]);
        new Adam(0.1f, weightDecay: 0.5f).Step([l2]);
        var decoupled = Weights([2f], [1f]);
        Adam.W(0.1f, weightDecay: 0.5f).Step([decoupled]);
        Assert.Multiple(() =>
        {
            Assert.That(l2.Values[0], Is.EqualTo(1.9f).Within(1e-5), "Adam with L2");
            Assert.That(decoupled.Values[0], Is.EqualTo(1.8f).Within(1e-5), "AdamW");
        });
    }

    [Test]
    public void State_follows_remapped_connections_and_new_ones_start_at_zero()
    {
        var p = Weights([1f, 2f, 3f], [1f, 2f, 3f]);
        var sgd = new Sgd(0.1f, momentum: 0.9f);
        sgd.Step([p]);
        sgd.RemapState(p, [2, -1, 0]);
        Assert.That(sgd.StateOf(p)[0], Is.EqualTo(new[] { 3f, 0f, 1f }));
    }

    [TestCase(0, 0.1f)]
    [TestCase(4, 0.05f)]
    [TestCase(9, 0.025f)]
    public void Step_schedule_halves_every_four_epochs(int epoch, float expected) =>
        Assert.That(LearningRateSchedule.Step(4, 0.5f).RateAt(0.1f, epoch, 10), Is.EqualTo(expected).Within(1e-7));

    [TestCase(0, 10, 0.1f)]
    [TestCase(4, 10, 0.1f)]
    [TestCase(5, 10, 0.01f)]
    [TestCase(6, 10, 0.01f)]
    [TestCase(7, 10, 0.001f)]
    [TestCase(8, 10, 0.001f)]
    [TestCase(9, 10, 0.001f)]
    [TestCase(112, 225, 0.01f)]
    [TestCase(168, 225, 0.001f)]
    [TestCase(167, 225, 0.01f)]
    public void Milestone_schedule_decays_tenfold_at_half_and_three_quarters_of_training(int epoch, int epochs, float expected) =>
        Assert.That(LearningRateSchedule.Milestones(0.1f, 0.5, 0.75).RateAt(0.1f, epoch, epochs), Is.EqualTo(expected).Within(1e-8));

    [Test]
    public void Milestone_schedule_refuses_a_factor_or_milestone_outside_its_range()
    {
        Assert.Multiple(() =>
        {
            Assert.Throws<ArgumentOutOfRangeException>(() => LearningRateSchedule.Milestones(0f, 0.5));
            Assert.Throws<ArgumentOutOfRangeException>(() => LearningRateSchedule.Milestones(1.5f, 0.5));
            Assert.Throws<ArgumentOutOfRangeException>(() => LearningRateSchedule.Milestones(float.NaN, 0.5));
            Assert.Throws<ArgumentOutOfRangeException>(() => LearningRateSchedule.Milestones(0.1f, 1.5));
            Assert.Throws<ArgumentOutOfRangeException>(() => LearningRateSchedule.Milestones(0.1f, double.NaN));
            Assert.That(LearningRateSchedule.Milestones(0.5f).RateAt(0.1f, 3, 4), Is.EqualTo(0.1f), "no milestone: constant");
        });
    }

    [Test]
    public void Cosine_schedule_runs_from_the_base_to_the_minimum()
    {
        var cosine = LearningRateSchedule.Cosine(0.01f);
        Assert.Multiple(() =>
        {
            Assert.That(cosine.RateAt(0.1f, 0, 11), Is.EqualTo(0.1f).Within(1e-7));
            Assert.That(cosine.RateAt(0.1f, 5, 11), Is.EqualTo(0.055f).Within(1e-6));
            Assert.That(cosine.RateAt(0.1f, 10, 11), Is.EqualTo(0.01f).Within(1e-7));
            Assert.That(LearningRateSchedule.Constant.RateAt(0.1f, 7, 11), Is.EqualTo(0.1f));
        });
    }

    public static IEnumerable<TestCaseData> Optimizers()
    {
        yield return new TestCaseData((Func<Optimizer>)(() => new Sgd(0.05f))).SetArgDisplayNames("sgd");
        yield return new TestCaseData((Func<Optimizer>)(() => new Sgd(0.05f, momentum: 0.9f, weightDecay: 1e-3f))).SetArgDisplayNames("momentum");
        yield return new TestCaseData((Func<Optimizer>)(() => new Sgd(0.05f, momentum: 0.9f, nesterov: true))).SetArgDisplayNames("nesterov");
        yield return new TestCaseData((Func<Optimizer>)(() => new Adam(0.01f, weightDecay: 1e-3f))).SetArgDisplayNames("adam");
        yield return new TestCaseData((Func<Optimizer>)(() => Adam.W(0.01f))).SetArgDisplayNames("adamw");
    }

    // A step over large parameters is cut into ranges that worker threads update side by side: the same bits
    // as each parameter updated whole on one thread, for any thread count.
    [TestCaseSource(nameof(Optimizers))]
    public void Parallel_ranges_give_the_bits_of_a_whole_parameter_update(Func<Optimizer> create)
    {
        // Lengths off the range length and off every vector width; together far above the serial threshold.
        int[] lengths = [(2 * Optimizer.RangeLength) + 13, Optimizer.RangeLength - 3, 5, (3 * Optimizer.RangeLength) + 1];
        var random = new Random(3);
        float[] Random(int n) => [.. Enumerable.Range(0, n).Select(_ => (float)((random.NextDouble() * 2) - 1))];
        var initial = lengths.Select(Random).ToArray();
        var gradients = Enumerable.Range(0, 3).Select(_ => lengths.Select(Random).ToArray()).ToArray();

        float[][] Train(int threads, bool oneAtATime)
        {
            var compute = new Sparse.Core.ComputeOptions { Threads = threads };
            var parameters = initial.Select(v => new Parameter("p", [.. v], decays: true)).ToArray();
            var optimizers = parameters.Select(_ => create()).ToArray();
            foreach (var step in gradients)
            {
                for (var n = 0; n < parameters.Length; n++)
                {
                    step[n].CopyTo(parameters[n].Gradient, 0);
                }

                if (oneAtATime)
                {
                    // Each parameter alone is below the threshold: updated whole, on this thread.
                    for (var n = 0; n < parameters.Length; n++)
                    {
                        optimizers[n].Step([parameters[n]], compute);
                    }
                }
                else
                {
                    optimizers[0].Step(parameters, compute);
                }
            }

            return [.. parameters.Select(p => p.Values)];
        }

        var whole = Train(1, oneAtATime: true);
        foreach (var threads in new[] { 1, 2, 4 })
        {
            var ranged = Train(threads, oneAtATime: false);
            for (var n = 0; n < whole.Length; n++)
            {
                Assert.That(ranged[n], Is.EqualTo(whole[n]).AsCollection, $"parameter {n}, {threads} threads");
            }
        }
    }
}
