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
    public ReadOnlyMemory<int> ActiveEntries { get; internal set; }

    /// <summary>Resizes <see cref="Gradient"/> after the connection count changed (<see cref="SparseLinear.Rewire(ConnectionMap, Optimizer?)"/>).</summary>
    internal void SyncGradient()
    {
        if (Gradient.Length != Values.Length)
        {
            Gradient = new float[Values.Length];
        }
    }
}
