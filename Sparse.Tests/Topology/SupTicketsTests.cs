using Sparse.Core;
using Sparse.Tests.Training;
using Sparse.Topology;
using Sparse.Training;

namespace Sparse.Tests.Topology;

/// <summary>Sup-tickets: the cyclic rate, the superposition of tickets and its pruning back to the budget.</summary>
[TestFixture]
public class SupTicketsTests
{
    [Test]
    public void The_rate_follows_the_runs_schedule_then_cycles_down_to_the_minimum_and_back()
    {
        // The reference's CIFAR runs: a step schedule that ends at 0.001 of 0.1, then cycles 0.001 -> 0.005 -> 0.001.
        var schedule = new SupTicketsSchedule(LearningRateSchedule.Step(3, 0.1f), pretrainEpochs: 6, cycleEpochs: 2);
        Assert.Multiple(() =>
        {
            Assert.That(schedule.ChangesWithinEpochs, Is.True);
            Assert.That(schedule.RateAt(0.1f, 0, 10, 0, 50), Is.EqualTo(0.1f), "the first phase runs its own schedule");
            Assert.That(schedule.RateAt(0.1f, 5, 10, 30, 50), Is.EqualTo(0.01f).Within(1e-7), "over its own epochs");
            Assert.That(schedule.RateAt(0.1f, 6, 10, 0, 50), Is.EqualTo(0.01f).Within(1e-7), "a cycle starts where the first phase ended");
            Assert.That(schedule.RateAt(0.1f, 7, 10, 0, 50), Is.EqualTo(0.05f).Within(1e-7), "its middle is five times that");
            Assert.That(schedule.RateAt(0.1f, 6, 10, 25, 50), Is.EqualTo((0.01f * 0.5f) + (0.05f * 0.5f)).Within(1e-7), "a quarter in, halfway up");
            Assert.That(schedule.RateAt(0.1f, 7, 10, 49, 50), Is.EqualTo((0.01f * 0.98f) + (0.05f * 0.02f)).Within(1e-6), "back down by its end, where the ticket is taken");
            Assert.That(schedule.RateAt(0.1f, 8, 10, 0, 50), Is.EqualTo(0.01f).Within(1e-7), "the next cycle");
            Assert.That(new SupTicketsSchedule(LearningRateSchedule.Cosine(), 4, 1).RateAt(0.1f, 4, 6, 0, 10), Is.EqualTo(0.001f).Within(1e-7), "a schedule that ends at zero: a hundredth of the base");

            // The reference's setting exactly: 250 epochs, the last 24 in 3 cycles of 8 after a step decay at 50 % and 75 %
            // of the first 226 (main_suptickets.py: lr_milestones of the pretraining epochs, --lr_1 0.001 --lr_2 0.005).
            var reference = new SupTicketsSchedule(LearningRateSchedule.Milestones(0.1f, 0.5, 0.75), pretrainEpochs: 226, cycleEpochs: 8);
            Assert.That(reference.RateAt(0.1f, 112, 250, 0, 10), Is.EqualTo(0.1f).Within(1e-8), "0.1 for the first half");
            Assert.That(reference.RateAt(0.1f, 113, 250, 0, 10), Is.EqualTo(0.01f).Within(1e-8));
            Assert.That(reference.RateAt(0.1f, 169, 250, 0, 10), Is.EqualTo(0.001f).Within(1e-8));
            Assert.That(reference.RateAt(0.1f, 226, 250, 0, 10), Is.EqualTo(0.001f).Within(1e-8), "lr_1 at a cycle's edge");
            Assert.That(reference.RateAt(0.1f, 230, 250, 0, 10), Is.EqualTo(0.005f).Within(1e-8), "lr_2 at its middle");
        });
    }

    private static float[,] Dense(CsrMatrix m)
    {
        var dense = new float[m.Rows, m.Columns];
        for (var r = 0; r < m.Rows; r++)
        {
            for (var k = m.RowPointers[r]; k < m.RowPointers[r + 1]; k++)
            {
                dense[r, m.ColumnIndices[k]] = m.Values[k];
            }
        }

        return dense;
    }

    [TestCase(1, 1)]
    [TestCase(7, 13)]
    [TestCase(40, 3)]
    public void An_average_is_the_weighted_sum_on_the_union_of_the_structures(int rows, int columns)
    {
        var a = RandomSparse.Bernoulli(rows, columns, 0.4, ValueDistribution.Normal(1), 1);
        var b = RandomSparse.Bernoulli(rows, columns, 0.4, ValueDistribution.Normal(1), 2);
        var average = SupTicketsHook.Average(a, b, 0.25f);
        average.Validate();
        var (da, db, dc) = (Dense(a), Dense(b), Dense(average));
        var union = 0;
        for (var r = 0; r < rows; r++)
        {
            for (var c = 0; c < columns; c++)
            {
                Assert.That(dc[r, c], Is.EqualTo((0.75f * da[r, c]) + (0.25f * db[r, c])).Within(1e-6));
                union += da[r, c] != 0 || db[r, c] != 0 ? 1 : 0;
            }
        }

        Assert.That(average.NonZeroCount, Is.EqualTo(union), "one entry per position of either");
    }

    [Test]
    public void Global_pruning_keeps_exactly_the_budget_of_largest_magnitudes_over_all_layers()
    {
        CsrMatrix[] layers = [RandomSparse.Bernoulli(30, 20, 0.5, ValueDistribution.Normal(1), 3), RandomSparse.Bernoulli(10, 30, 0.5, ValueDistribution.Normal(0.2f), 4)];
        var all = layers.SelectMany((m, l) => m.Values.Select((v, k) => (Magnitude: Math.Abs(v), l, k))).OrderByDescending(e => e.Magnitude).ToArray();
        const long budget = 250;
        var pruned = SupTicketsHook.PruneGlobally(layers, budget);
        Assert.That(pruned.Sum(m => m.NonZeroCount), Is.EqualTo(budget));
        var threshold = all[budget - 1].Magnitude;
        foreach (var m in pruned)
        {
            m.Validate();
            Assert.That(m.Values.Select(Math.Abs), Has.All.GreaterThanOrEqualTo(threshold));
        }

        Assert.That(pruned[1].NonZeroCount, Is.LessThan(pruned[0].NonZeroCount / 2), "the layer of smaller weights gives up more: the budget moves between layers");
    }

    [Test]
    public void A_run_ends_with_the_superposition_of_its_tickets_at_its_connection_budget()
    {
        var recipe = new TrainingRecipe { Hidden = [64, 64], Epsilon = 4, Evolution = EvolutionMethod.RigL, SupTickets = 2, Epochs = 20, BatchSize = 32, Seed = 4 };
        recipe.Validate();
        Assert.That(recipe.SupTicketsPhases, Is.EqualTo((18, 1)), "the last tenth in cycles");
        var trainer = recipe.CreateTrainer(DigitsData.Train);
        var budget = trainer.Network.ConnectionCount;
        var hook = trainer.Hooks.OfType<SupTicketsHook>().Single();
        Assert.That(trainer.Hooks[0], Is.SameAs(hook), "tickets are taken before the epoch's rewiring");
        Assert.That(hook.Explorer, Is.SameAs(trainer.Hooks[1]), "the method's hook rewires at each cycle's start");
        var history = trainer.Fit(DigitsData.Train, DigitsData.Test);
        var layers = trainer.Network.SparseLayers.ToArray();
        Assert.Multiple(() =>
        {
            Assert.That(hook.Tickets, Is.EqualTo(3), "the first phase's network and a ticket per cycle");
            Assert.That(trainer.Network.ConnectionCount, Is.EqualTo(budget), "the run's budget");
            for (var l = 0; l < layers.Length; l++)
            {
                layers[l].Weights.Validate();
                Assert.That(layers[l].Weights.Values, Is.EqualTo(hook.Superposition![l].Values).AsCollection, $"layer {l} is the superposition");
                Assert.That(layers[l].WeightParameter.Gradient, Has.Length.EqualTo(layers[l].Weights.NonZeroCount));
            }

            Assert.That(history.Epochs[^1].TestAccuracy, Is.GreaterThan(0.9f), "the superposition is a working model");
            var cycles = history.TopologyChanges.Where(c => c.Epoch >= 17).GroupBy(c => c.Epoch).ToArray();
            Assert.That(cycles.Select(g => g.Key), Is.EqualTo(new[] { 17, 18 }), "a rewiring at each cycle's start and none within the cycles");
            Assert.That(cycles.All(g => g.All(c => c.Pruned == Math.Round(0.5 * c.Connections, MidpointRounding.AwayFromZero))), Is.True, "of half of every layer RigL rewires");
        });
    }

    [Test]
    public void Too_few_epochs_for_the_cycles_are_refused()
    {
        Assert.That(() => new TrainingRecipe { SupTickets = 5, Epochs = 5 }.Validate(),
            Throws.ArgumentException.With.Message.EqualTo("--sup-tickets 5 needs more than 5 epochs: each cycle takes at least one epoch after at least one of training (--epochs 5)."));
        Assert.That(new TrainingRecipe { SupTickets = 3, Epochs = 250 }.SupTicketsPhases, Is.EqualTo((226, 8)), "the reference's 3 cycles of 8 epochs in 250");
        Assert.That(() => new TrainingRecipe { SupTickets = 0 }.Validate(), Throws.ArgumentException.With.Message.Contains("--sup-tickets must be 1 or more cycles"));
    }
}
