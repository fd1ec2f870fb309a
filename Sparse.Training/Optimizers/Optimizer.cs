namespace Sparse.Training;

/// <summary>
/// Updates parameters from their gradients, keeping its state (momentum, moments) as arrays aligned with
/// each parameter's <see cref="Parameter.Values"/>: one slot per stored connection, never per dense position.
/// </summary>
public abstract class Optimizer
{
    private readonly Dictionary<Parameter, float[][]> _state = [];

    /// <summary>Creates an optimizer with <paramref name="stateSlots"/> state arrays per parameter.</summary>
    protected Optimizer(float learningRate, int stateSlots)
    {
        LearningRate = learningRate;
        StateSlots = stateSlots;
    }

    /// <summary>The step size; a schedule may change it between epochs.</summary>
    public float LearningRate { get; set; }

    /// <summary>State arrays kept per parameter (0 for plain SGD, 1 with momentum, 2 for Adam).</summary>
    public int StateSlots { get; }

    /// <summary>Steps taken so far (Adam's bias correction counts them).</summary>
    public long StepCount { get; set; }

    /// <summary>Applies one update to every parameter from its current gradient (which may be overwritten).</summary>
    public void Step(IReadOnlyList<Parameter> parameters)
    {
        StepCount++;

        // An index loop: foreach over the interface would allocate an enumerator every step.
        for (var n = 0; n < parameters.Count; n++)
        {
            Update(parameters[n], StateOf(parameters[n]));
        }
    }

    /// <summary>
    /// The state arrays of <paramref name="parameter"/>, created (zero) on first use or when the
    /// parameter's length changed without a <see cref="RemapState"/>.
    /// </summary>
    public float[][] StateOf(Parameter parameter)
    {
        if (!_state.TryGetValue(parameter, out var state) || (state.Length > 0 && state[0].Length != parameter.Values.Length))
        {
            state = new float[StateSlots][];
            for (var s = 0; s < StateSlots; s++)
            {
                state[s] = new float[parameter.Values.Length];
            }

            _state[parameter] = state;
        }

        return state;
    }

    /// <summary>
    /// Moves state after the connections of <paramref name="parameter"/> changed: new entry <c>k</c> takes the
    /// state of old entry <c>source[k]</c>, or zero state when <c>source[k]</c> is negative (a new connection).
    /// </summary>
    public void RemapState(Parameter parameter, ReadOnlySpan<int> source)
    {
        if (!_state.TryGetValue(parameter, out var old))
        {
            return;
        }

        var state = new float[StateSlots][];
        for (var s = 0; s < StateSlots; s++)
        {
            var moved = GC.AllocateUninitializedArray<float>(source.Length); // every slot is written below
            for (var k = 0; k < source.Length; k++)
            {
                moved[k] = source[k] >= 0 ? old[s][source[k]] : 0f;
            }

            state[s] = moved;
        }

        _state[parameter] = state;
    }

    /// <summary>Replaces the state of <paramref name="parameter"/> (used when loading a checkpoint).</summary>
    public void SetState(Parameter parameter, float[][] state)
    {
        if (state.Length != StateSlots || state.Any(s => s.Length != parameter.Values.Length))
        {
            throw new ArgumentException($"State for {parameter.Name} must be {StateSlots} arrays of {parameter.Values.Length}.", nameof(state));
        }

        _state[parameter] = state;
    }

    /// <summary>Updates one parameter. <paramref name="state"/> holds <see cref="StateSlots"/> arrays aligned with its values.</summary>
    protected abstract void Update(Parameter parameter, float[][] state);
}
