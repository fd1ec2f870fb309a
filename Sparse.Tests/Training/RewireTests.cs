using Sparse.Core;
using Sparse.Training;

namespace Sparse.Tests.Training;

/// <summary><see cref="SparseLinear.Rewire(ConnectionMap, Optimizer?)"/>: the one way connections change, moving every per-connection array along.</summary>
[TestFixture]
public class RewireTests
{
    // 2 x 3: row 0 holds columns 0 and 2, row 1 holds column 1.
    private static SparseLinear Layer() => new(new CsrMatrix(2, 3, [0, 2, 3], [0, 2, 1], [1f, 2f, 3f]));

    private static (SparseLinear Layer, Sgd Optimizer) WithMomentum()
    {
        var layer = Layer();
        var sgd = new Sgd(0.1f, momentum: 0.9f);
        layer.WeightParameter.Gradient.AsSpan().Fill(1f);
        sgd.Step([layer.WeightParameter]);
        var momentum = sgd.StateOf(layer.WeightParameter)[0];
        momentum[0] = 10;
        momentum[1] = 20;
        momentum[2] = 30;
        return (layer, sgd);
    }

    [Test]
    public void State_and_gradient_follow_their_connections_and_new_ones_start_at_zero()
    {
        var (layer, sgd) = WithMomentum();

        // Keep old entries 2 (row 1, column 1) and 0 (row 0, column 0); add (row 1, column 2) and (row 0, column 1).
        layer.Rewire(new ConnectionMap([0, 2, 4], [0, 1, 1, 2], [1f, 0.5f, 3f, 0.25f], new[] { 0, -1, 2, -1 }), sgd);
        Assert.Multiple(() =>
        {
            Assert.That(layer.Weights.ColumnIndices, Is.EqualTo(new[] { 0, 1, 1, 2 }));
            Assert.That(layer.Weights.Values, Is.EqualTo(new[] { 1f, 0.5f, 3f, 0.25f }));
            Assert.That(sgd.StateOf(layer.WeightParameter)[0], Is.EqualTo(new[] { 10f, 0f, 30f, 0f }));
            Assert.That(layer.WeightParameter.Gradient, Has.Length.EqualTo(4));
        });
    }

    [Test]
    public void A_source_outside_the_old_entries_or_a_length_mismatch_is_refused_and_changes_nothing()
    {
        var (layer, sgd) = WithMomentum();
        Assert.Throws<ArgumentException>(() => layer.Rewire(new ConnectionMap([0, 2, 3], [0, 2, 1], [1f, 2f, 3f], new[] { 0, 1, 3 }), sgd));
        Assert.Throws<ArgumentException>(() => layer.Rewire(new ConnectionMap([0, 2, 3], [0, 2, 1], [1f, 2f, 3f], new[] { 0, -2, 1 }), sgd));
        Assert.Throws<ArgumentException>(() => layer.Rewire(new ConnectionMap([0, 2, 3], [0, 2, 1], [1f, 2f], new[] { 0, 1, 2 }), sgd));
        Assert.Throws<ArgumentException>(() => layer.Rewire(new ConnectionMap([0, 2, 3], [2, 0, 1], [1f, 2f, 3f], new[] { 0, 1, 2 }), sgd), "unsorted columns");
        Assert.That(layer.Weights.ColumnIndices, Is.EqualTo(new[] { 0, 2, 1 }));
        Assert.That(sgd.StateOf(layer.WeightParameter)[0], Is.EqualTo(new[] { 10f, 20f, 30f }));
    }

    [Test]
    public void State_whose_connections_changed_behind_the_optimizers_back_is_an_error_not_a_silent_reset()
    {
        var (layer, sgd) = WithMomentum();
        layer.Weights.ReplaceStructure([0, 1, 2], [0, 1], [1f, 3f]);
        var error = Assert.Throws<InvalidOperationException>(() => sgd.StateOf(layer.WeightParameter));
        Assert.That(error!.Message, Does.Contain("without SparseLinear.Rewire"));
    }
}
