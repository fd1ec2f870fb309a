using Sparse.Core;

namespace Sparse.Training;

/// <summary>
/// Updates parameters from their gradients, keeping its state (momentum, moments) as arrays aligned with
/// each parameter's <see cref="Parameter.Values"/>: one slot per stored connection, never per dense position.
/// </summary>
public abstract class Optimizer
{
    private readonly Dictionary<Parameter, float[][]> _state = [];

    /// <summary>
    /// Entries per range of a parallel <see cref="Step"/>: a multiple of every vector width, and large enough
    /// (64 KiB of values) that a range costs far more than handing it to a thread.
    /// </summary>
    public const int RangeLength = 16384;

    // Below this many entries in all, a step runs on the calling thread: waking a worker would cost more.
    private const long SerialEntries = 4 * RangeLength;

    // Per step: each parameter's state, and each range's parameter and first entry (reused across steps).
    private float[][][] _stepStates = [];
    private int[] _rangeParameter = [];
    private int[] _rangeStart = [];

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

    /// <summary>
    /// Applies one update to every parameter from its current gradient (which may be overwritten). The
    /// parameters are cut into ranges of <see cref="RangeLength"/> entries that the kernels' worker threads
    /// update side by side; every entry is updated by the same arithmetic whatever the thread count.
    /// <paramref name="options"/> sets the threads and SIMD level (<see cref="ComputeOptions.Default"/> when null).
    /// </summary>
    public void Step(IReadOnlyList<Parameter> parameters, ComputeOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        options ??= ComputeOptions.Default;
        StepCount++;

        // State is looked up before the parallel part: the dictionary is not thread-safe. An index loop:
        // foreach over the interface would allocate an enumerator every step.
        if (_stepStates.Length < parameters.Count)
        {
            _stepStates = new float[parameters.Count][][];
        }

        var ranges = 0;
        long entries = 0;
        for (var n = 0; n < parameters.Count; n++)
        {
            _stepStates[n] = StateOf(parameters[n]);
            ranges += (parameters[n].Values.Length + RangeLength - 1) / RangeLength;
            entries += parameters[n].Values.Length;
        }

        if (entries < SerialEntries)
        {
            for (var n = 0; n < parameters.Count; n++)
            {
                Update(parameters[n], _stepStates[n], 0, parameters[n].Values.Length, options);
            }

            Array.Clear(_stepStates);
            return;
        }

        if (_rangeParameter.Length < ranges)
        {
            _rangeParameter = new int[ranges];
            _rangeStart = new int[ranges];
        }

        var r = 0;
        for (var n = 0; n < parameters.Count; n++)
        {
            for (var start = 0; start < parameters[n].Values.Length; start += RangeLength)
            {
                _rangeParameter[r] = n;
                _rangeStart[r++] = start;
            }
        }

        var action = new StepAction(this, parameters, options);
        SparseParallel.Run(ref action, ranges, options);
        Array.Clear(_stepStates);
    }

    private readonly struct StepAction(Optimizer optimizer, IReadOnlyList<Parameter> parameters, ComputeOptions options) : IChunkAction
    {
        public void Execute(int chunk)
        {
            var n = optimizer._rangeParameter[chunk];
            var start = optimizer._rangeStart[chunk];
            var parameter = parameters[n];
            optimizer.Update(parameter, optimizer._stepStates[n], start, Math.Min(RangeLength, parameter.Values.Length - start), options);
        }
    }

    /// <summary>The state arrays of <paramref name="parameter"/>, created (zero) on first use.</summary>
    /// <exception cref="InvalidOperationException">The parameter's length changed without its state being moved
    /// (a structure changed other than through <see cref="SparseLinear.Rewire"/>).</exception>
    public float[][] StateOf(Parameter parameter)
    {
        ArgumentNullException.ThrowIfNull(parameter);
        if (_state.TryGetValue(parameter, out var state) && state.Length > 0 && state[0].Length != parameter.Values.Length)
        {
            throw new InvalidOperationException($"{parameter.Name} has {parameter.Values.Length} entries but its optimizer state {state[0].Length}: " +
                "its connections changed without SparseLinear.Rewire moving the state along.");
        }

        if (state is null)
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
    /// Called by <see cref="SparseLinear.Rewire"/>, which has checked every source against the old entries.
    /// </summary>
    // Fully optimised from the first call: it runs once per evolution step, too rarely for tiered compilation.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    internal void RemapState(Parameter parameter, ReadOnlySpan<int> source)
    {
        if (!_state.TryGetValue(parameter, out var old))
        {
            return;
        }

        var state = new float[StateSlots][];
        for (var s = 0; s < StateSlots; s++)
        {
            var from = old[s];

            // At a constant budget the state is rewritten in place from a scratch copy, not into a new array.
            var inPlace = from.Length == source.Length;
            using var scratch = new ScratchArray<float>(inPlace ? from.Length : 0);
            var copy = inPlace ? scratch.Array : from;
            if (inPlace)
            {
                from.AsSpan().CopyTo(copy);
            }

            var moved = inPlace ? from : GC.AllocateUninitializedArray<float>(source.Length); // every slot is written below
            if (from.Length == 0)
            {
                Array.Clear(moved);
            }
            else
            {
                // Masks, not a branch: whether an entry is new is a coin toss. A new entry (source -1, mask all
                // ones) reads slot 0 and keeps none of its bits: +0.
                for (var k = 0; k < source.Length; k++)
                {
                    var isNew = source[k] >> 31;
                    moved[k] = BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(copy[source[k] & ~isNew]) & ~isNew);
                }
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

    /// <summary>
    /// Updates entries <c>[start, start + count)</c> of one parameter. <paramref name="state"/> holds
    /// <see cref="StateSlots"/> arrays aligned with its values. <see cref="Step"/> calls this for disjoint ranges,
    /// several at once on different threads, so an override must read and write only its range (and the
    /// optimizer's settings). <paramref name="options"/> is the step's; its SIMD level says whether vector loops may run.
    /// </summary>
    protected abstract void Update(Parameter parameter, float[][] state, int start, int count, ComputeOptions options);
}
