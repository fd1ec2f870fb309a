using Sparse.Training;

namespace Sparse.Topology;

/// <summary>One input feature's standing in a trained network's first layer.</summary>
/// <param name="Rank">1 for the strongest.</param>
/// <param name="Index">The feature's position in the network's input.</param>
/// <param name="Name">The feature's column name.</param>
/// <param name="Strength">The sum of the absolute weights of its connections (QuickSelection's node strength).</param>
/// <param name="Connections">How many connections it kept.</param>
public readonly record struct FeatureScore(int Rank, int Index, string Name, double Strength, int Connections);

/// <summary>
/// Ranks a network's input features by the connections they kept in its first sparse layer. The measure is the
/// node strength of QuickSelection (Atashgahi, Sokar, van der Lee, Mocanu, Mocanu, Veldhuis and Pechenizkiy,
/// "Quick and robust feature selection: the strength of energy-efficient sparse training for autoencoders",
/// Machine Learning 111, 2022): the sum of the absolute weights of an input neuron's connections. Under topology
/// evolution, magnitude pruning removes the weak connections of uninformative inputs every rewiring while regrowth
/// lands anywhere, so connections and their weight gather on the inputs the task needs; the strength counts both
/// how many an input kept and how large they grew. The weights are comparable across features because the
/// network reads standardized inputs (the CLI's default normalization); without it a feature's scale leaks in.
/// </summary>
public static class FeatureRanking
{
    /// <summary>Every input feature of <paramref name="network"/>, strongest first (ties by position).</summary>
    /// <param name="network">A trained network whose first layer is sparse.</param>
    /// <param name="names">The features' names by position, or null for <c>column1</c>, <c>column2</c>, ...</param>
    /// <exception cref="ArgumentException">The network has no sparse layer, or the names do not match its inputs.</exception>
    public static IReadOnlyList<FeatureScore> Rank(SparseNetwork network, IReadOnlyList<string>? names = null)
    {
        ArgumentNullException.ThrowIfNull(network);
        var first = network.SparseLayers.FirstOrDefault() ?? throw new ArgumentException("The network has no sparse layer.", nameof(network));
        if (network.Layers[0] != first)
        {
            throw new ArgumentException("The network's first layer is not sparse: its inputs have no connections of their own.", nameof(network));
        }

        if (names is not null && names.Count != first.InputSize)
        {
            throw new ArgumentException($"{names.Count} names for {first.InputSize} inputs.", nameof(names));
        }

        var strength = new double[first.InputSize];
        var connections = new int[first.InputSize];
        var weights = first.Weights;
        var columns = weights.ColumnIndices;
        var values = weights.Values;
        for (long k = 0; k < weights.NonZeroCount; k++)
        {
            strength[columns[k]] += Math.Abs(values[k]);
            connections[columns[k]]++;
        }

        return [.. Enumerable.Range(0, first.InputSize)
            .OrderByDescending(i => strength[i])
            .ThenBy(i => i)
            .Select((i, rank) => new FeatureScore(rank + 1, i, names?[i] ?? $"column{i + 1}", strength[i], connections[i]))];
    }
}
