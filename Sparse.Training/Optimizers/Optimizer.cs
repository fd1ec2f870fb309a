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

    // Per step: each parameter's state, and each range's parameter, first entry, length and group (-1: the
    // optimizer's own rates), reused across steps.
    private float[][][] _stepStates = [];
    private bool[] _stepRuns = [];
    private int[] _rangeParameter = [];
    private int[] _rangeStart = [];
    private int[] _rangeCount = [];
    private int[] _rangeGroup = [];

    // Chunk c of a parallel step updates ranges [_chunkStart[c], _chunkStart[c + 1]): consecutive ranges of at most
    // RangeLength entries together, so the short ranges row groups make (a block's bias) do not each wake a thread.
    private int[] _chunkStart = [];

    // Parameters whose rows train at their own rates (block networks, ParallelNetworks), by parameter.
    private readonly Dictionary<Parameter, RowGroup[]> _groups = [];

    // The gathered copy of a lazily stepped parameter's active entries and their state, reused from step to step.
    private Parameter? _gathered;
    private float[][] _gatheredState = [];

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
    /// A parameter with <see cref="Parameter.ActiveEntries"/> (and no row groups) is updated at those entries only,
    /// lazily as PyTorch's SparseAdam is: an entry without a gradient this step keeps its value and state (its
    /// momentum and moments do not decay, weight decay does not apply); with plain SGD and no weight decay that is
    /// the same as a step with a zero gradient. Active entries in runs of consecutive positions (a layer stored
    /// input-major: each feature's connections) are stepped in place, run by run, on the worker threads; scattered
    /// ones are gathered into a copy that is stepped and written back. Either way each entry takes the arithmetic of a
    /// full step.
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

        if (_stepRuns.Length < parameters.Count)
        {
            _stepRuns = new bool[parameters.Count];
        }

        long entries = 0;
        for (var n = 0; n < parameters.Count; n++)
        {
            _stepStates[n] = StateOf(parameters[n]);
            _stepRuns[n] = IsLazy(parameters[n]) && (parameters[n].ActiveRunCount > 0 || InRuns(parameters[n].ActiveEntries.Span));
            if (_stepRuns[n])
            {
                entries += parameters[n].ActiveEntryCount;
            }
            else if (IsLazy(parameters[n]))
            {
                UpdateActive(parameters[n], _stepStates[n], options);
            }
            else
            {
                entries += parameters[n].Values.Length;
            }
        }

        var ranges = CutRanges(parameters, entries < SerialEntries ? int.MaxValue : RangeLength);
        if (entries < SerialEntries)
        {
            UpdateRanges(parameters, 0, ranges, options);
        }
        else
        {
            var action = new StepAction(this, parameters, options);
            SparseParallel.Run(ref action, Chunk(ranges), options);
        }

        Array.Clear(_stepStates);
        Array.Clear(_stepRuns);
    }

    /// <summary>
    /// Trains rows of <paramref name="parameter"/> (a sparse layer's weights, by their rows, or its bias, entry by
    /// entry) at their own learning rates and weight decays: each group's rows take the group's rates in every
    /// <see cref="Step"/>, instead of <see cref="LearningRate"/> and <see cref="WeightDecay"/>. This is how the blocks
    /// of a block-diagonal network train as the separate networks they stand for. Groups must be disjoint and
    /// sorted; rows outside every group keep the optimizer's rates. Checkpoints do not hold row groups: a block
    /// network is saved as its split-out networks (<c>ParallelNetworks.Split</c>).
    /// </summary>
    public void SetRowGroups(Parameter parameter, IReadOnlyList<RowGroup> groups)
    {
        ArgumentNullException.ThrowIfNull(parameter);
        ArgumentNullException.ThrowIfNull(groups);
        var rows = parameter.Matrix?.Rows ?? parameter.Values.Length;
        var end = 0;
        foreach (var group in groups)
        {
            if (group.FirstRow < end || group.EndRow < group.FirstRow || group.EndRow > rows)
            {
                throw new ArgumentException($"Row groups of {parameter.Name} must be sorted, disjoint and within its {rows} rows; [{group.FirstRow}, {group.EndRow}) is not.", nameof(groups));
            }

            end = group.EndRow;
        }

        _groups[parameter] = [.. groups];
    }

    /// <summary>
    /// Sets every row group's <see cref="RowGroup.LearningRate"/> for <paramref name="epoch"/> from its own base rate
    /// and schedule, as <see cref="Trainer"/> sets <see cref="LearningRate"/>.
    /// </summary>
    public void ScheduleRowGroups(int epoch, int epochs)
    {
        foreach (var groups in _groups.Values)
        {
            foreach (var group in groups)
            {
                group.LearningRate = group.Schedule.RateAt(group.BaseLearningRate, epoch, epochs);
            }
        }
    }

    /// <summary>The weight decay applied to parameters that decay, outside row groups.</summary>
    public abstract float WeightDecay { get; }

    // Cuts every parameter into ranges of at most `length` entries that never cross a row group's boundary; returns
    // how many.
    private int CutRanges(IReadOnlyList<Parameter> parameters, int length)
    {
        var r = 0;
        for (var n = 0; n < parameters.Count; n++)
        {
            var parameter = parameters[n];
            if (_stepRuns[n] && parameter.ActiveRunCount > 0)
            {
                // Each run is a range of its own, stepped in place.
                var starts = parameter.ActiveRunStarts;
                var lengths = parameter.ActiveRunLengths;
                for (var i = 0; i < starts.Length; i++)
                {
                    r = AddRanges(r, n, starts[i], starts[i] + lengths[i], -1, length);
                }

                continue;
            }

            if (_stepRuns[n])
            {
                // Each run of consecutive active entries is a range of its own, stepped in place.
                var active = parameter.ActiveEntries.Span;
                for (var i = 0; i < active.Length;)
                {
                    var j = i + 1;
                    while (j < active.Length && active[j] == active[j - 1] + 1)
                    {
                        j++;
                    }

                    r = AddRanges(r, n, active[i], active[j - 1] + 1, -1, length);
                    i = j;
                }

                continue;
            }

            if (IsLazy(parameter))
            {
                continue;
            }

            if (!_groups.TryGetValue(parameter, out var groups))
            {
                r = AddRanges(r, n, 0, parameter.Values.Length, -1, length);
                continue;
            }

            if (parameter.InputMajor)
            {
                throw new InvalidOperationException($"{parameter.Name} is stored input-major (SparseNetwork.StepsActiveInputsOnly), so its rows are not its neurons: row groups need it stored output-major.");
            }

            // A matrix's rows start at its row pointers; a vector (a bias) has one entry per row.
            var pointers = parameter.Matrix?.RowPointers;
            var done = 0;
            for (var g = 0; g < groups.Length; g++)
            {
                var first = pointers is null ? groups[g].FirstRow : (int)pointers[groups[g].FirstRow];
                var end = pointers is null ? groups[g].EndRow : (int)pointers[groups[g].EndRow];
                r = AddRanges(r, n, done, first, -1, length);
                r = AddRanges(r, n, first, end, g, length);
                done = end;
            }

            r = AddRanges(r, n, done, parameter.Values.Length, -1, length);
        }

        return r;
    }

    // Whether increasing active entries come in runs of at least MinimumRun on average (a layer stored input-major: a
    // feature's connections), which are stepped in place, range by range, rather than gathered one by one.
    private static bool InRuns(ReadOnlySpan<int> active)
    {
        var runs = active.IsEmpty ? 0 : 1;
        for (var i = 1; i < active.Length; i++)
        {
            if (active[i] <= active[i - 1])
            {
                return false;
            }

            runs += active[i] == active[i - 1] + 1 ? 0 : 1;
        }

        return (long)runs * MinimumRun <= active.Length;
    }

    private const int MinimumRun = 4;

    private bool IsLazy(Parameter parameter) => parameter.HasActiveEntries && !_groups.ContainsKey(parameter);

    // Gathers the active entries' values, gradients and state, updates the copy, and writes values and state back.
    private void UpdateActive(Parameter parameter, float[][] state, ComputeOptions options)
    {
        var active = parameter.ActiveEntries.Span;
        var count = active.Length;
        if (_gathered is null || _gathered.Values.Length < count || _gathered.Decays != parameter.Decays)
        {
            var capacity = Math.Max(count, 2 * (_gathered?.Values.Length ?? 0));
            _gathered = new Parameter(parameter.Name, new float[capacity], new float[capacity], parameter.Decays);
            _gatheredState = new float[StateSlots][];
            for (var s = 0; s < StateSlots; s++)
            {
                _gatheredState[s] = new float[capacity];
            }
        }

        var values = parameter.Values;
        var gradient = parameter.Gradient;
        for (var i = 0; i < count; i++)
        {
            _gathered.Values[i] = values[active[i]];
            _gathered.Gradient[i] = gradient[active[i]];
        }

        for (var s = 0; s < StateSlots; s++)
        {
            for (var i = 0; i < count; i++)
            {
                _gatheredState[s][i] = state[s][active[i]];
            }
        }

        Update(_gathered, _gatheredState, 0, count, new StepRates(LearningRate, WeightDecay), options);
        for (var i = 0; i < count; i++)
        {
            values[active[i]] = _gathered.Values[i];
        }

        for (var s = 0; s < StateSlots; s++)
        {
            for (var i = 0; i < count; i++)
            {
                state[s][active[i]] = _gatheredState[s][i];
            }
        }
    }

    private int AddRanges(int r, int parameter, int start, int end, int group, int length)
    {
        while (start < end)
        {
            var count = Math.Min(length, end - start);
            if (r == _rangeParameter.Length)
            {
                var grown = Math.Max(16, 2 * r);
                Array.Resize(ref _rangeParameter, grown);
                Array.Resize(ref _rangeStart, grown);
                Array.Resize(ref _rangeCount, grown);
                Array.Resize(ref _rangeGroup, grown);
            }

            _rangeParameter[r] = parameter;
            _rangeStart[r] = start;
            _rangeCount[r] = count;
            _rangeGroup[r++] = group;
            start += count;
        }

        return r;
    }

    // Groups consecutive ranges into chunks of at most RangeLength entries (a range is never split); returns how many.
    private int Chunk(int ranges)
    {
        if (_chunkStart.Length < ranges + 1)
        {
            _chunkStart = new int[_rangeStart.Length + 1];
        }

        var chunks = 0;
        var entries = 0;
        for (var r = 0; r < ranges; r++)
        {
            if (r == 0 || entries + _rangeCount[r] > RangeLength)
            {
                _chunkStart[chunks++] = r;
                entries = 0;
            }

            entries += _rangeCount[r];
        }

        _chunkStart[chunks] = ranges;
        return chunks;
    }

    private void UpdateRange(IReadOnlyList<Parameter> parameters, int range, ComputeOptions options)
    {
        var n = _rangeParameter[range];
        var parameter = parameters[n];
        var group = _rangeGroup[range];
        var rates = group < 0 ? new StepRates(LearningRate, WeightDecay) : _groups[parameter][group].Rates;
        Update(parameter, _stepStates[n], _rangeStart[range], _rangeCount[range], rates, options);
    }

    // The short ranges of a lazy step (runs of a few connections each, at random places of a wide layer) wait on
    // memory the hardware prefetcher cannot see coming; the step asks for the range this many places on.
    private const int RangesAhead = 6;

    private void UpdateRanges(IReadOnlyList<Parameter> parameters, int first, int end, ComputeOptions options)
    {
        for (var r = first; r < end; r++)
        {
            if (r + RangesAhead < end)
            {
                PrefetchRange(parameters, r + RangesAhead);
            }

            UpdateRange(parameters, r, options);
        }
    }

    // Starts loading the first and last lines of a range's values, gradient and state (a run of a few connections
    // spans two lines as often as not).
    private void PrefetchRange(IReadOnlyList<Parameter> parameters, int range)
    {
        var n = _rangeParameter[range];
        var start = _rangeStart[range];
        var last = start + _rangeCount[range] - 1;
        var parameter = parameters[n];
        Prefetch.Line(parameter.Values, start);
        Prefetch.Line(parameter.Values, last);
        Prefetch.Line(parameter.Gradient, start);
        Prefetch.Line(parameter.Gradient, last);
        foreach (var slot in _stepStates[n])
        {
            Prefetch.Line(slot, start);
            Prefetch.Line(slot, last);
        }
    }

    private readonly struct StepAction(Optimizer optimizer, IReadOnlyList<Parameter> parameters, ComputeOptions options) : IChunkAction
    {
        public void Execute(int chunk)
        {
            optimizer.UpdateRanges(parameters, optimizer._chunkStart[chunk], optimizer._chunkStart[chunk + 1], options);
        }
    }

    /// <summary>The state arrays of <paramref name="parameter"/>, created (zero) on first use.</summary>
    /// <exception cref="InvalidOperationException">The parameter's length changed without its state being moved
    /// (a structure changed other than through <see cref="SparseLinear.Rewire(ConnectionMap, Optimizer?)"/>).</exception>
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
            parameter.Follow(this);
        }

        return state;
    }

    /// <summary>
    /// Moves state after the connections of <paramref name="parameter"/> changed: new entry <c>k</c> takes the
    /// state of old entry <c>source[k]</c>, or zero state when <c>source[k]</c> is negative (a new connection).
    /// Called by <see cref="SparseLinear.Rewire(ConnectionMap, Optimizer?)"/>, which has checked every source against the old entries.
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

    /// <summary>
    /// Moves state after the values of <paramref name="parameter"/> changed order (<see cref="Parameter.Reorder"/>): new
    /// entry <c>k</c> takes the state of old entry <c>source[k]</c>, a permutation, gathered on the worker threads
    /// into <paramref name="spare"/>, which then holds the slot's old array.
    /// </summary>
    internal void PermuteState(Parameter parameter, int[] source, ref float[] spare)
    {
        if (!_state.TryGetValue(parameter, out var state))
        {
            return;
        }

        for (var s = 0; s < StateSlots; s++)
        {
            if (state[s].Length != source.Length)
            {
                state[s] = new float[source.Length];
                continue;
            }

            Permutation.Gather(state[s], source, spare);
            (state[s], spare) = (spare, state[s]);
        }
    }

    /// <summary>Replaces the state of <paramref name="parameter"/> (used when loading a checkpoint).</summary>
    public void SetState(Parameter parameter, float[][] state)
    {
        if (state.Length != StateSlots || state.Any(s => s.Length != parameter.Values.Length))
        {
            throw new ArgumentException($"State for {parameter.Name} must be {StateSlots} arrays of {parameter.Values.Length}.", nameof(state));
        }

        _state[parameter] = state;
        parameter.Follow(this);
    }

    /// <summary>
    /// Updates entries <c>[start, start + count)</c> of one parameter. <paramref name="state"/> holds
    /// <see cref="StateSlots"/> arrays aligned with its values. <see cref="Step"/> calls this for disjoint ranges,
    /// several at once on different threads, so an override must read and write only its range (and the
    /// optimizer's settings). <paramref name="rates"/> are the learning rate and weight decay for the range (the
    /// optimizer's, or a row group's); weight decay applies only where <see cref="Parameter.Decays"/>.
    /// <paramref name="options"/> is the step's; its SIMD level says whether vector loops may run.
    /// </summary>
    protected abstract void Update(Parameter parameter, float[][] state, int start, int count, StepRates rates, ComputeOptions options);
}

/// <summary>The learning rate and weight decay one range of a <see cref="Optimizer.Step"/> trains at.</summary>
/// <param name="LearningRate">The step size.</param>
/// <param name="WeightDecay">The decay of parameters that decay (L2 for SGD, as the optimizer applies it for Adam).</param>
public readonly record struct StepRates(float LearningRate, float WeightDecay);

/// <summary>
/// Rows <c>[FirstRow, EndRow)</c> of a parameter that train at their own rates (<see cref="Optimizer.SetRowGroups"/>):
/// a base learning rate under its own schedule, and a weight decay.
/// </summary>
public sealed class RowGroup(int firstRow, int endRow, float baseLearningRate, float weightDecay, LearningRateSchedule? schedule = null)
{
    /// <summary>The first row of the group.</summary>
    public int FirstRow { get; } = firstRow;

    /// <summary>One past the last row of the group.</summary>
    public int EndRow { get; } = endRow;

    /// <summary>The rate the schedule starts from.</summary>
    public float BaseLearningRate { get; } = baseLearningRate;

    /// <summary>The group's schedule (constant when none was given).</summary>
    public LearningRateSchedule Schedule { get; } = schedule ?? LearningRateSchedule.Constant;

    /// <summary>The weight decay of the group's rows.</summary>
    public float WeightDecay { get; } = weightDecay;

    /// <summary>The current learning rate, set each epoch by <see cref="Optimizer.ScheduleRowGroups"/>.</summary>
    public float LearningRate { get; set; } = baseLearningRate;

    /// <summary>Set to train the group at rate 0 (a diverged block, frozen).</summary>
    public bool Frozen { get; set; }

    internal StepRates Rates => Frozen ? new StepRates(0, 0) : new StepRates(LearningRate, WeightDecay);
}
