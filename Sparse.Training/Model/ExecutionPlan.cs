namespace Sparse.Training;

/// <summary>What one step of an <see cref="ExecutionPlan"/> runs.</summary>
public enum PlanStepKind
{
    /// <summary>Forward: a sparse layer and the ReLU after it in one kernel pass, <c>y = max(W x + b, 0)</c>.</summary>
    SparseRelu,

    /// <summary>Forward or backward: one layer on its own.</summary>
    Layer,

    /// <summary>
    /// Backward: a sparse layer's weight gradient and its input gradient carried on through the ReLU below in
    /// one pass, <c>dx = (W^T dy) * [x &gt; 0]</c>.
    /// </summary>
    GatedTransposed,
}

/// <summary>One step: <paramref name="Kind"/> over layers <paramref name="First"/> to <paramref name="Last"/> (one layer, or a sparse layer and its ReLU).</summary>
/// <param name="Kind">What runs.</param>
/// <param name="First">The lower layer index the step covers.</param>
/// <param name="Last">The upper layer index the step covers (equal to <paramref name="First"/> for one layer).</param>
/// <param name="Description">The step as <c>sparse info --verbose</c> prints it.</param>
public readonly record struct PlanStep(PlanStepKind Kind, int First, int Last, string Description);

/// <summary>
/// The order of kernels a training step runs, compiled once from a network's layers: forward steps bottom up,
/// backward steps top down. <see cref="SparseNetwork.Forward(ReadOnlySpan{float}, int, bool)"/> and <see cref="SparseNetwork.Backward"/> walk these
/// lists and nothing else, so what a step runs can be read here, or printed by <c>sparse info --verbose</c>.
/// </summary>
public sealed class ExecutionPlan
{
    private ExecutionPlan(PlanStep[] forward, PlanStep[] backward)
    {
        ForwardSteps = forward;
        BackwardSteps = backward;
    }

    /// <summary>The forward steps, input first.</summary>
    public IReadOnlyList<PlanStep> Forward => ForwardSteps;

    /// <summary>The backward steps, output first.</summary>
    public IReadOnlyList<PlanStep> Backward => BackwardSteps;

    // Arrays, so the training step walks them without an enumerator allocation.
    internal PlanStep[] ForwardSteps { get; }

    internal PlanStep[] BackwardSteps { get; }

    /// <summary>
    /// Compiles <paramref name="layers"/>: with <paramref name="fuse"/>, every sparse layer followed by a ReLU runs
    /// as one <see cref="PlanStepKind.SparseRelu"/> step forward, and every sparse layer whose input is a ReLU's
    /// output as one <see cref="PlanStepKind.GatedTransposed"/> step backward. Both forms give bitwise the same
    /// results as the layers run one by one.
    /// </summary>
    public static ExecutionPlan Compile(IReadOnlyList<Layer> layers, bool fuse)
    {
        ArgumentNullException.ThrowIfNull(layers);
        static bool IsRelu(Layer layer) => layer is Activation { Kind: ActivationKind.Relu };
        var forward = new List<PlanStep>();
        for (var n = 0; n < layers.Count; n++)
        {
            if (fuse && layers[n] is SparseLinear linear && n + 1 < layers.Count && IsRelu(layers[n + 1]))
            {
                forward.Add(new PlanStep(PlanStepKind.SparseRelu, n, n + 1, $"{n}-{n + 1}: sparse {Shape(linear)} + relu, fused (MultiplyRelu)"));
                n++;
            }
            else
            {
                forward.Add(new PlanStep(PlanStepKind.Layer, n, n, $"{n}: {Describe(layers[n])}"));
            }
        }

        var backward = new List<PlanStep>();
        for (var n = layers.Count - 1; n >= 0; n--)
        {
            if (fuse && layers[n] is SparseLinear linear && n >= 1 && IsRelu(layers[n - 1]))
            {
                backward.Add(new PlanStep(PlanStepKind.GatedTransposed, n - 1, n, $"{n}-{n - 1}: sparse {Shape(linear)} weight gradient, then W^T dy gated by the relu below (MultiplyTransposedGated)"));
                n--;
            }
            else
            {
                backward.Add(new PlanStep(PlanStepKind.Layer, n, n, $"{n}: {Describe(layers[n])} backward"));
            }
        }

        return new ExecutionPlan([.. forward], [.. backward]);
    }

    /// <summary>The plan as lines, forward then backward.</summary>
    public IEnumerable<string> Describe() =>
        Forward.Select(s => $"forward  {s.Description}").Concat(Backward.Select(s => $"backward {s.Description}"));

    private static string Shape(SparseLinear linear) => $"{linear.InputSize} -> {linear.OutputSize}";

    private static string Describe(Layer layer) => layer switch
    {
        SparseLinear linear => $"sparse {Shape(linear)}",
        Activation activation => activation.Kind.ToString().ToLowerInvariant(),
        Dropout dropout => $"dropout {dropout.Rate}",
        BlockLayer block => $"blocks [{string.Join(", ", block.Parts.Select(Describe))}]",
        _ => layer.GetType().Name,
    };
}
