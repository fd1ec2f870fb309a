namespace Sparse.Topology;

/// <summary>What one evolution step did to one layer.</summary>
/// <param name="Layer">Index of the layer among the network's sparse layers.</param>
/// <param name="Pruned">Connections removed.</param>
/// <param name="Grown">Connections added.</param>
/// <param name="Connections">Stored connections afterwards.</param>
/// <param name="Density">Connections over rows x columns afterwards.</param>
/// <param name="MinInDegree">Fewest inputs of an output neuron.</param>
/// <param name="MaxInDegree">Most inputs of an output neuron.</param>
/// <param name="MinOutDegree">Fewest outputs of an input neuron.</param>
/// <param name="MaxOutDegree">Most outputs of an input neuron.</param>
public sealed record LayerEvolution(
    int Layer,
    int Pruned,
    int Grown,
    long Connections,
    double Density,
    int MinInDegree,
    int MaxInDegree,
    int MinOutDegree,
    int MaxOutDegree);
