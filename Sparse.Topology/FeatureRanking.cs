using Sparse.Training;

namespace Sparse.Topology;

/// <summary>One input feature's standing in a trained network.</summary>
/// <param name="Rank">1 for the strongest.</param>
/// <param name="Index">The feature's position in the network's input.</param>
/// <param name="Name">The feature's column name.</param>
/// <param name="Strength">The feature's score under the ranking's <see cref="FeatureMeasure"/>.</param>
/// <param name="Connections">How many connections it kept in the first layer.</param>
public readonly record struct FeatureScore(int Rank, int Index, string Name, double Strength, int Connections);

/// <summary>How <see cref="FeatureRanking"/> scores an input neuron.</summary>
public enum FeatureMeasure
{
    /// <summary>
    /// The sum of |w| over the input's paths to the outputs: an output neuron weighs 1, every other neuron the sum of
    /// <c>|w| x weight</c> over the connections it feeds, layer by layer back to the inputs. A connection into a hidden
    /// neuron that itself feeds nothing of weight counts for little.
    /// </summary>
    PathStrength,

    /// <summary>QuickSelection's node strength: the sum of |w| over the input's connections in the first layer alone.</summary>
    NodeStrength,
}

/// <summary>
/// Ranks a network's input features by the connections they kept. <see cref="FeatureMeasure.NodeStrength"/> is the
/// measure of QuickSelection (Atashgahi, Sokar, van der Lee, Mocanu, Mocanu, Veldhuis and Pechenizkiy, "Quick and robust
/// feature selection: the strength of energy-efficient sparse training for autoencoders", Machine Learning 111, 2022):
/// the sum of the absolute weights of an input neuron's connections. <see cref="FeatureMeasure.PathStrength"/>, the
/// default, carries the same sum through every layer to the outputs, so that weight on a hidden neuron the rest of
/// the network ignores does not count; on the generated tables of docs/features.md it finds more of the informative
/// columns. Under topology evolution magnitude pruning removes the weak connections of uninformative inputs every
/// rewiring, so connections and their weight gather on the inputs the task needs. The weights are comparable across
/// features because the network reads standardized inputs (the CLI's default normalization); without it a feature's
/// scale leaks in. O(connections), no dense array.
/// </summary>
public static class FeatureRanking
{
    /// <summary>Every input feature of <paramref name="network"/>, strongest first (ties by position).</summary>
    /// <param name="network">A trained network whose first layer is sparse.</param>
    /// <param name="names">The features' names by position, or null for <c>column1</c>, <c>column2</c>, ...</param>
    /// <param name="measure">How an input is scored.</param>
    /// <exception cref="ArgumentException">The network has no sparse layer, or the names do not match its inputs.</exception>
    public static IReadOnlyList<FeatureScore> Rank(SparseNetwork network, IReadOnlyList<string>? names = null, FeatureMeasure measure = FeatureMeasure.PathStrength)
    {
        ArgumentNullException.ThrowIfNull(network);
        var layers = network.SparseLayers.ToArray();
        var first = layers.FirstOrDefault() ?? throw new ArgumentException("The network has no sparse layer.", nameof(network));
        if (network.Layers[0] != first)
        {
            throw new ArgumentException("The network's first layer is not sparse: its inputs have no connections of their own.", nameof(network));
        }

        if (names is not null && names.Count != first.InputSize)
        {
            throw new ArgumentException($"{names.Count} names for {first.InputSize} inputs.", nameof(names));
        }

        for (var l = 1; l < layers.Length && measure == FeatureMeasure.PathStrength; l++)
        {
            if (layers[l].InputSize != layers[l - 1].OutputSize)
            {
                throw new ArgumentException($"Sparse layer {l} reads {layers[l].InputSize} values where layer {l - 1} puts out {layers[l - 1].OutputSize}: " +
                    "paths cannot be followed; rank by FeatureMeasure.NodeStrength.", nameof(network));
            }
        }

        // The weight of each layer's output neurons: 1 at the network's outputs (or at the first layer's, for node strength).
        var weight = Enumerable.Repeat(1.0, measure == FeatureMeasure.PathStrength ? layers[^1].OutputSize : first.OutputSize).ToArray();
        for (var l = measure == FeatureMeasure.PathStrength ? layers.Length - 1 : 0; l >= 0; l--)
        {
            var w = layers[l].Weights;
            var below = new double[w.Columns];
            for (var row = 0; row < w.Rows; row++)
            {
                for (var k = w.RowPointers[row]; k < w.RowPointers[row + 1]; k++)
                {
                    below[w.ColumnIndices[k]] += Math.Abs(w.Values[k]) * weight[row];
                }
            }

            weight = below;
        }

        var connections = new int[first.InputSize];
        foreach (var column in first.Weights.ColumnIndices.AsSpan(0, (int)first.Weights.NonZeroCount))
        {
            connections[column]++;
        }

        return [.. Enumerable.Range(0, first.InputSize)
            .OrderByDescending(i => weight[i])
            .ThenBy(i => i)
            .Select((i, rank) => new FeatureScore(rank + 1, i, names?[i] ?? $"column{i + 1}", weight[i], connections[i]))];
    }
}
