using Sparse.Core;

namespace Sparse.Training;

/// <summary>
/// A trainable array and its gradient. For sparse weights the values are the matrix's
/// <see cref="CsrMatrix.Values"/> (one per stored connection), so optimizer state aligned with
/// <see cref="Values"/> is aligned with the connections.
/// </summary>
public sealed class Parameter
{
    private readonly float[]? _values;

    /// <summary>A dense parameter (such as a bias) over <paramref name="values"/>.</summary>
    public Parameter(string name, float[] values, bool decays)
        : this(name, values, new float[values.Length], decays)
    {
    }

    // Over given arrays: the optimizer's gathered copy of a parameter's active entries.
    internal Parameter(string name, float[] values, float[] gradient, bool decays)
    {
        Name = name;
        _values = values;
        Gradient = gradient;
        Decays = decays;
    }

    /// <summary>The stored values of sparse weights <paramref name="matrix"/>.</summary>
    public Parameter(string name, CsrMatrix matrix)
    {
        Name = name;
        Matrix = matrix;
        Gradient = new float[matrix.NonZeroCount];
        Decays = true;
    }

    /// <summary>What the parameter is within its layer (<c>weights</c> or <c>bias</c>), for messages; not unique within a model.</summary>
    public string Name { get; }

    /// <summary>The sparse matrix these values belong to, or null for a dense parameter.</summary>
    public CsrMatrix? Matrix { get; }

    /// <summary>The values; for sparse weights, <see cref="CsrMatrix.Values"/> of <see cref="Matrix"/>.</summary>
    public float[] Values => Matrix?.Values ?? _values!;

    /// <summary>dLoss/dValues, aligned with <see cref="Values"/>; overwritten by each backward pass.</summary>
    public float[] Gradient { get; private set; }

    /// <summary>Whether weight decay applies (weights yes, biases no).</summary>
    public bool Decays { get; }

    /// <summary>
    /// The entries the last backward pass computed a gradient for, when it computed only some (a first layer reading a
    /// batch of sparse rows: the connections of the features the batch holds), or empty when every entry has one. An
    /// <see cref="Optimizer.Step"/> then updates these entries alone.
    /// </summary>
    public ReadOnlyMemory<int> ActiveEntries
    {
        get
        {
            if (_activeEntries.IsEmpty && _runCount > 0)
            {
                // Given as runs (SetActiveRuns): the list is written only for a reader that asks for it.
                var entries = new int[_runEntries];
                var at = 0;
                for (var r = 0; r < _runCount; r++)
                {
                    for (var k = 0; k < _runLengths[r]; k++)
                    {
                        entries[at++] = _runStarts[r] + k;
                    }
                }

                _activeEntries = entries;
            }

            return _activeEntries;
        }

        internal set
        {
            _activeEntries = value;
            _runCount = 0;
        }
    }

    private ReadOnlyMemory<int> _activeEntries;
    private int[] _runStarts = [];
    private int[] _runLengths = [];
    private int _runCount;
    private long _runEntries;

    /// <summary>
    /// Sets <see cref="ActiveEntries"/> as runs of consecutive entries: run <c>r</c> is
    /// <c>[starts[r], starts[r] + lengths[r])</c>, increasing, disjoint and non-empty (a first layer stored input-major:
    /// the connections of the batch's features). The arrays are kept, not copied, until the next backward pass.
    /// </summary>
    internal void SetActiveRuns(int[] starts, int[] lengths, int count, long entries)
    {
        _activeEntries = default;
        (_runStarts, _runLengths, _runCount, _runEntries) = (starts, lengths, count, entries);
    }

    /// <summary>Whether the last backward pass computed a gradient for some entries only (<see cref="ActiveEntries"/> is not empty).</summary>
    internal bool HasActiveEntries => _runCount > 0 || !_activeEntries.IsEmpty;

    /// <summary>How many runs <see cref="SetActiveRuns"/> gave; 0 when the active entries are a list, or all entries.</summary>
    internal int ActiveRunCount => _runCount;

    /// <summary>The runs' first entries; the first <see cref="ActiveRunCount"/> hold them.</summary>
    internal ReadOnlySpan<int> ActiveRunStarts => _runStarts.AsSpan(0, _runCount);

    /// <summary>The runs' lengths; the first <see cref="ActiveRunCount"/> hold them.</summary>
    internal ReadOnlySpan<int> ActiveRunLengths => _runLengths.AsSpan(0, _runCount);

    /// <summary>The number of active entries: <see cref="ActiveEntries"/>' length, without writing the list.</summary>
    internal long ActiveEntryCount => _runCount > 0 ? _runEntries : _activeEntries.Length;

    /// <summary>
    /// Whether <see cref="Matrix"/> holds the layer's connections input-major (W<sup>T</sup>,
    /// <see cref="SparseLinear.IsInputMajor"/>): its rows are then the layer's inputs, not its neurons.
    /// </summary>
    internal bool InputMajor { get; private set; }

    // Optimizers holding state aligned with the values: they move it when the values change order (Reorder).
    private readonly List<WeakReference<Optimizer>> _followers = [];

    /// <summary>Registers <paramref name="optimizer"/>'s per-entry state to move with the values (<see cref="Reorder"/>).</summary>
    internal void Follow(Optimizer optimizer)
    {
        _followers.RemoveAll(f => !f.TryGetTarget(out _));
        if (!_followers.Exists(f => f.TryGetTarget(out var o) && ReferenceEquals(o, optimizer)))
        {
            _followers.Add(new WeakReference<Optimizer>(optimizer));
        }
    }

    /// <summary>
    /// The values changed order (the matrix was transposed in place): new entry <c>k</c> is old entry
    /// <c>source[k]</c>. The gradient and every following optimizer's state move the same way; the active entries,
    /// positions in the old order, are dropped (the next step updates every entry). Each array is gathered into
    /// <paramref name="spare"/>, whose place the array it replaced takes, so the arrays an optimizer handed out before
    /// (<see cref="Optimizer.StateOf"/>) no longer hold the state.
    /// </summary>
    internal void Reorder(int[] source, bool inputMajor, ref float[] spare)
    {
        Permutation.Gather(Gradient, source, spare);
        (Gradient, spare) = (spare, Gradient);
        ActiveEntries = default;
        InputMajor = inputMajor;
        foreach (var follower in _followers)
        {
            if (follower.TryGetTarget(out var optimizer))
            {
                optimizer.PermuteState(this, source, ref spare);
            }
        }
    }

    /// <summary>Resizes <see cref="Gradient"/> after the connection count changed (<see cref="SparseLinear.Rewire(ConnectionMap, Optimizer?)"/>).</summary>
    internal void SyncGradient()
    {
        if (Gradient.Length != Values.Length)
        {
            Gradient = new float[Values.Length];
        }
    }
}
