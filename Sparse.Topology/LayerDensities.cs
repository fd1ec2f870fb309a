using Sparse.Core;

namespace Sparse.Topology;

/// <summary>
/// Per-layer densities for an MLP with layer sizes <c>sizes[0] -> sizes[1] -> ...</c>, to pass to
/// <see cref="Sparse.Training.SparseNetwork.CreateMlp"/>.
/// </summary>
public static class LayerDensities
{
    /// <summary>SET's Erdos-Renyi: <c>min(1, epsilon (in + out) / (in x out))</c> per layer.</summary>
    public static double[] ErdosRenyi(IReadOnlyList<int> sizes, double epsilon) =>
        [.. Enumerable.Range(0, sizes.Count - 1).Select(n => RandomSparse.ErdosRenyiDensity(sizes[n + 1], sizes[n], epsilon))];

    /// <summary>The same <paramref name="density"/> in every layer.</summary>
    public static double[] Uniform(IReadOnlyList<int> sizes, double density) =>
        density is >= 0 and <= 1 ? [.. Enumerable.Repeat(density, sizes.Count - 1)] : throw new ArgumentOutOfRangeException(nameof(density), $"Density must be in [0, 1], is {density}.");

    /// <summary>
    /// ERK (RigL, Evci et al.): density proportional to <c>(in + out) / (in x out)</c>, one global scale chosen so
    /// the whole network has <paramref name="density"/> of its dense connections; a layer whose density would
    /// pass 1 becomes dense and the scale is solved again over the rest.
    /// </summary>
    public static double[] ErdosRenyiKernel(IReadOnlyList<int> sizes, double density)
    {
        if (!(density > 0 && density <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(density), $"Density must be in (0, 1], is {density}.");
        }

        var layers = sizes.Count - 1;
        var cells = Enumerable.Range(0, layers).Select(n => (double)sizes[n] * sizes[n + 1]).ToArray();
        var raw = Enumerable.Range(0, layers).Select(n => ((double)sizes[n] + sizes[n + 1]) / cells[n]).ToArray();
        var dense = new bool[layers];
        while (true)
        {
            // Connections the sparse layers must hold, spread in proportion to raw x cells.
            var budget = (density * cells.Sum()) - Enumerable.Range(0, layers).Where(n => dense[n]).Sum(n => cells[n]);
            var weight = Enumerable.Range(0, layers).Where(n => !dense[n]).Sum(n => raw[n] * cells[n]);
            var scale = weight > 0 ? budget / weight : 0;
            var overflowing = Enumerable.Range(0, layers).Where(n => !dense[n] && scale * raw[n] > 1).ToArray();
            if (overflowing.Length == 0)
            {
                return [.. Enumerable.Range(0, layers).Select(n => dense[n] ? 1.0 : scale * raw[n])];
            }

            // The layer that overflows most becomes dense; solve again.
            dense[overflowing.MaxBy(n => raw[n])] = true;
        }
    }
}
