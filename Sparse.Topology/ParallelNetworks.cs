using System.Globalization;
using Sparse.Core;
using Sparse.Training;

namespace Sparse.Topology;

/// <summary>
/// One configuration of an MLP in a grid trained side by side (<see cref="ParallelNetworks"/>): hidden sizes,
/// activation, sparsity, and the hyperparameters that may differ between the networks of one block network.
/// </summary>
public sealed record NetworkConfig
{
    /// <summary>Hidden layer sizes; every configuration of a grid has the same number of hidden layers.</summary>
    public required IReadOnlyList<int> Hidden { get; init; }

    /// <summary>The hidden activation.</summary>
    public ActivationKind Activation { get; init; } = ActivationKind.Relu;

    /// <summary>The negative slope of leaky ReLU, and All-ReLU's alpha.</summary>
    public float Slope { get; init; } = 0.6f;

    /// <summary>Erdos-Renyi epsilon (used when <see cref="Density"/> is null).</summary>
    public double Epsilon { get; init; } = 20;

    /// <summary>Uniform density of every layer, instead of <see cref="Epsilon"/>.</summary>
    public double? Density { get; init; }

    /// <summary>The learning rate the schedule starts from.</summary>
    public float LearningRate { get; init; } = 0.003f;

    /// <summary>Weight decay.</summary>
    public float WeightDecay { get; init; }

    /// <summary>Dropout after each hidden activation.</summary>
    public float Dropout { get; init; }

    /// <summary>The fraction the evolution schedule rewires (its starting fraction).</summary>
    public double Zeta { get; init; } = 0.3;

    /// <summary>Seed of the initial topology and weights, dropout and evolution.</summary>
    public ulong Seed { get; init; } = 1;

    /// <summary>The activation's name as the command line spells it: relu, leaky-relu, all-relu, tanh, sigmoid.</summary>
    public static string ActivationName(ActivationKind kind) =>
        string.Concat(kind.ToString().Select((c, i) => char.IsUpper(c) && i > 0 ? $"-{char.ToLowerInvariant(c)}" : $"{char.ToLowerInvariant(c)}"));

    /// <summary>A short description, for logs: <c>256-256 relu eps 8 lr 0.003 wd 0 drop 0 zeta 0.3 seed 1</c>.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{string.Join("-", Hidden)} {ActivationName(Activation)} {(Density is { } d ? $"density {d}" : $"eps {Epsilon}")} lr {LearningRate} wd {WeightDecay} drop {Dropout} zeta {Zeta} seed {Seed}");
}

/// <summary>
/// Many independent MLPs over the same inputs trained as one sparse network. Every hidden layer is block-diagonal,
/// one block per configuration with no connection between blocks, and each configuration has its own output head, so
/// each step runs the kernels once for all of them and nothing is spent on the zeros between blocks. Each block is
/// built exactly as <see cref="SparseNetwork.CreateMlp"/> builds its configuration alone (same topology and weights
/// for the same seed), trains at its own learning rate and weight decay (optimizer row groups), keeps its own
/// activation and dropout stream (<see cref="BlockLayer"/>), is scored by its own head (<see cref="MultiHeadLoss"/>),
/// and evolves within its own budget (<see cref="CreateEvolutionHook"/>). So with one shuffle of the data, a block
/// trains exactly as its network would alone; <see cref="Split"/> takes it out as a standalone network.
/// </summary>
/// <example>
/// <code>
/// var grid = ParallelNetworks.Create(train.FeatureCount, train.ClassCount, configs, normalization);
/// var loss = grid.CreateLoss(new SoftmaxCrossEntropy(), classification: true);
/// var optimizer = new Adam(decoupled: true);
/// grid.ConfigureOptimizer(optimizer, rate => LearningRateSchedule.Cosine(rate / 50));
/// var trainer = new Trainer(grid.Network, loss, optimizer, new TrainerOptions { Epochs = 15, BatchSize = 32 });
/// trainer.Hooks.Add(grid.CreateEvolutionHook(c => TopologyEvolver.Set(c.Seed), c => EvolutionSchedule.CosineDecayPerEpoch(c.Zeta)));
/// trainer.Fit(train, test);
/// var scores = loss.TakeEvaluation(); // or read them each epoch from a hook
/// SparseNetwork best = grid.Split(0);
/// </code>
/// </example>
public sealed class ParallelNetworks
{
    // Per sparse layer: the first row and first column of each block, with the totals at the end.
    private readonly int[][] _rowStarts;
    private readonly int[][] _columnStarts;

    // Per configuration: its hidden activations and dropouts as it would have them alone (null where it has none).
    private readonly Activation[][] _activations;
    private readonly Dropout?[][] _dropouts;
    private readonly List<RowGroup>[] _groups;
    private Optimizer? _optimizer;

    private ParallelNetworks(SparseNetwork network, IReadOnlyList<NetworkConfig> configs, int outputs, int[][] rowStarts, int[][] columnStarts, Activation[][] activations, Dropout?[][] dropouts)
    {
        (Network, Configs, OutputsPerHead) = (network, configs, outputs);
        (_rowStarts, _columnStarts, _activations, _dropouts) = (rowStarts, columnStarts, activations, dropouts);
        _groups = [.. configs.Select(_ => new List<RowGroup>())];
    }

    /// <summary>The block network: train it with a <see cref="Trainer"/> like any other.</summary>
    public SparseNetwork Network { get; }

    /// <summary>The configurations, in block order.</summary>
    public IReadOnlyList<NetworkConfig> Configs { get; }

    /// <summary>Outputs of each configuration's head (classes, or regression targets).</summary>
    public int OutputsPerHead { get; }

    /// <summary>
    /// Builds the block network of <paramref name="configs"/> over <paramref name="inputs"/> features with
    /// <paramref name="outputs"/> outputs per head.
    /// </summary>
    /// <exception cref="ArgumentException">No configuration, or configurations with different numbers of hidden layers.</exception>
    public static ParallelNetworks Create(int inputs, int outputs, IReadOnlyList<NetworkConfig> configs, InputNormalization? normalization = null)
    {
        ArgumentNullException.ThrowIfNull(configs);
        if (configs.Count == 0)
        {
            throw new ArgumentException("A grid needs at least one configuration.", nameof(configs));
        }

        var depth = configs[0].Hidden.Count;
        if (configs.Any(c => c.Hidden.Count != depth))
        {
            throw new ArgumentException($"Every configuration needs the same number of hidden layers; got {string.Join(", ", configs.Select(c => c.Hidden.Count).Distinct())}.", nameof(configs));
        }

        // Each configuration exactly as it would be built alone.
        var alone = configs.Select(c =>
        {
            int[] sizes = [inputs, .. c.Hidden, outputs];
            return SparseNetwork.CreateMlp(sizes, c.Activation, c.Epsilon, c.Seed, c.Dropout, c.Slope,
                densities: c.Density is { } d ? LayerDensities.Uniform(sizes, d) : null);
        }).ToArray();

        var sparseLayers = depth + 1;
        var rowStarts = new int[sparseLayers][];
        var columnStarts = new int[sparseLayers][];
        var activations = new Activation[configs.Count][];
        var dropouts = new Dropout?[configs.Count][];
        for (var k = 0; k < configs.Count; k++)
        {
            activations[k] = [.. alone[k].Layers.OfType<Activation>()];
            var perHidden = new Dropout?[depth];
            var hidden = -1;
            foreach (var layer in alone[k].Layers)
            {
                if (layer is SparseLinear)
                {
                    hidden++;
                }
                else if (layer is Dropout dropout)
                {
                    perHidden[hidden] = dropout;
                }
            }

            dropouts[k] = perHidden;
        }

        var layers = new List<Layer>();
        for (var l = 0; l < sparseLayers; l++)
        {
            var parts = alone.Select(n => n.SparseLayers.ElementAt(l)).ToArray();
            rowStarts[l] = Starts(parts.Select(p => p.OutputSize));
            columnStarts[l] = l == 0 ? new int[configs.Count + 1] : Starts(parts.Select(p => p.InputSize));
            layers.Add(Stitch(parts, rowStarts[l], columnStarts[l], l == 0 ? inputs : columnStarts[l][^1]));
            if (l == depth)
            {
                break;
            }

            // One activation over the whole layer when every block has the same (the ReLU then fuses into the sparse
            // product), else each block's own.
            var first = activations[0][l];
            layers.Add(activations.All(a => a[l].Kind == first.Kind && a[l].Slope == first.Slope)
                ? new Activation(first.Kind, rowStarts[l][^1], first.Slope)
                : new BlockLayer(activations.Select(a => a[l])));
            if (dropouts.Any(d => d[l] is not null))
            {
                layers.Add(new BlockLayer(Enumerable.Range(0, configs.Count).Select(k => dropouts[k][l] ?? new Dropout(configs[k].Hidden[l], 0, 0))));
            }
        }

        return new ParallelNetworks(new SparseNetwork(layers, normalization), [.. configs], outputs, rowStarts, columnStarts, activations, dropouts);
    }

    /// <summary>Connections of configuration <paramref name="index"/>'s block.</summary>
    public long ConnectionsOf(int index)
    {
        long sum = 0;
        var l = 0;
        foreach (var layer in Network.SparseLayers)
        {
            sum += EntriesOf(layer.Weights, l++, index).Count;
        }

        return sum;
    }

    /// <summary>A loss that scores each configuration's head with <paramref name="inner"/>.</summary>
    public MultiHeadLoss CreateLoss(ILoss inner, bool classification) => new(inner, Configs.Count, OutputsPerHead, classification);

    /// <summary>
    /// Each configuration's mean loss and accuracy on <paramref name="data"/> (<see cref="MultiHeadLoss.TakeEvaluation"/>
    /// after one pass; evaluation sums <paramref name="loss"/> held are taken too). A diverged configuration's loss is NaN.
    /// </summary>
    public HeadScore[] Evaluate(Dataset data, MultiHeadLoss loss, int batchSize = 256)
    {
        ArgumentNullException.ThrowIfNull(loss);
        loss.TakeEvaluation();
        Metrics.Evaluate(Network, data, loss, batchSize);
        return loss.TakeEvaluation();
    }

    /// <summary>
    /// Gives each configuration's rows, in every layer's weights and biases, its own learning rate (under the schedule
    /// <paramref name="schedule"/> makes from that rate, as a standalone run's trainer would use) and weight decay.
    /// Turns off <see cref="SparseNetwork.StepsActiveInputsOnly"/>: the groups are rows of the layers stored output-major.
    /// </summary>
    public void ConfigureOptimizer(Optimizer optimizer, Func<float, LearningRateSchedule> schedule)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(schedule);
        _optimizer = optimizer;

        // Row groups read each layer's rows as its neurons: the first layer stays output-major on sparse rows too.
        Network.StepsActiveInputsOnly = false;
        foreach (var layer in Network.SparseLayers)
        {
            layer.StoreOutputMajor();
        }

        foreach (var list in _groups)
        {
            list.Clear();
        }

        var l = 0;
        foreach (var layer in Network.SparseLayers)
        {
            foreach (var parameter in layer.Parameters)
            {
                var groups = new RowGroup[Configs.Count];
                for (var k = 0; k < Configs.Count; k++)
                {
                    var config = Configs[k];
                    groups[k] = new RowGroup(_rowStarts[l][k], _rowStarts[l][k + 1], config.LearningRate, config.WeightDecay, schedule(config.LearningRate));
                    _groups[k].Add(groups[k]);
                }

                optimizer.SetRowGroups(parameter, groups);
            }

            l++;
        }
    }

    /// <summary>
    /// Zeroes configuration <paramref name="index"/>'s weights, biases and optimizer state and stops its training (its
    /// row groups frozen): what is done to a configuration that diverged, so that its non-finite values cannot reach
    /// the other blocks' checks.
    /// </summary>
    public void Freeze(int index)
    {
        var l = 0;
        foreach (var layer in Network.SparseLayers)
        {
            var (start, count) = EntriesOf(layer.Weights, l, index);
            var (first, end) = RowsOf(l++, index);
            Clear(layer.WeightParameter, start, start + count);
            Clear(layer.BiasParameter, first, end);
        }

        foreach (var group in _groups[index])
        {
            group.Frozen = true;
        }

        void Clear(Parameter parameter, int start, int end)
        {
            parameter.Values.AsSpan(start, end - start).Clear();
            parameter.Gradient.AsSpan(start, end - start).Clear();
            if (_optimizer is not null)
            {
                foreach (var slot in _optimizer.StateOf(parameter))
                {
                    slot.AsSpan(start, end - start).Clear();
                }
            }
        }
    }

    /// <summary>Whether any of configuration <paramref name="index"/>'s weights or biases is not finite.</summary>
    public bool HasNonFinite(int index)
    {
        var l = 0;
        foreach (var layer in Network.SparseLayers)
        {
            var (start, count) = EntriesOf(layer.Weights, l, index);
            var (first, end) = RowsOf(l++, index);
            if (!float.IsFinite(TensorSum(layer.Weights.Values.AsSpan(start, count))) || !float.IsFinite(TensorSum(layer.Bias.AsSpan(first, end - first))))
            {
                return true;
            }
        }

        return false;

        // A sum is finite only if every term is (or two infinities cancel to NaN, which is not finite either); an
        // overflow to infinity of finite terms is reported too, which is as good a sign of divergence.
        static float TensorSum(ReadOnlySpan<float> values) => System.Numerics.Tensors.TensorPrimitives.SumOfMagnitudes(values);
    }

    /// <summary>
    /// Configuration <paramref name="index"/> as a standalone network: its block of every layer, its activation and
    /// dropout, and the block network's normalization. The weights are copies.
    /// </summary>
    public SparseNetwork Split(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Configs.Count);
        var layers = new List<Layer>();
        var l = 0;
        var sparse = Network.SparseLayers.ToArray();
        foreach (var layer in sparse)
        {
            var (first, end) = RowsOf(l, index);
            layers.Add(new SparseLinear(Block(layer.Weights, l, index), layer.Bias.AsSpan(first, end - first).ToArray()));
            if (l + 1 < sparse.Length)
            {
                var activation = _activations[index][l];
                layers.Add(new Activation(activation.Kind, activation.Size, activation.Slope));
                if (_dropouts[index][l] is { } dropout)
                {
                    layers.Add(new Dropout(dropout.Size, dropout.Rate, dropout.Seed) { Calls = dropout.Calls });
                }
            }

            l++;
        }

        return new SparseNetwork(layers, Network.Normalization);
    }

    /// <summary>
    /// A hook that evolves each configuration's block within its own budget, never across blocks: configuration
    /// <c>k</c>'s connections are pruned and regrown by <paramref name="evolver"/>(k) on <paramref name="schedule"/>(k),
    /// exactly as its network would be alone. Hidden layers only, as <see cref="TopologyEvolver"/> does by default.
    /// </summary>
    public BlockEvolutionHook CreateEvolutionHook(Func<NetworkConfig, TopologyEvolver> evolver, Func<NetworkConfig, EvolutionSchedule> schedule) =>
        new(this, [.. Configs.Select(evolver)], [.. Configs.Select(schedule)]);

    internal int Blocks => Configs.Count;

    internal (int First, int End) RowsOf(int layer, int block) => (_rowStarts[layer][block], _rowStarts[layer][block + 1]);

    internal (int First, int End) ColumnsOf(int layer, int block) =>
        layer == 0 ? (0, Network.InputSize) : (_columnStarts[layer][block], _columnStarts[layer][block + 1]);

    /// <summary>Block <paramref name="block"/> of sparse layer <paramref name="layer"/>'s weights, with its own column numbering.</summary>
    internal CsrMatrix Block(CsrMatrix weights, int layer, int block)
    {
        var (first, end) = RowsOf(layer, block);
        var (firstColumn, endColumn) = ColumnsOf(layer, block);
        return weights.RowBlock(first, end, firstColumn, endColumn);
    }

    // Block `block`'s stored entries of sparse layer `layer`: its rows' entries are contiguous in CSR.
    private (int Start, int Count) EntriesOf(CsrMatrix weights, int layer, int block)
    {
        var (first, end) = RowsOf(layer, block);
        var start = (int)weights.RowPointers[first];
        return (start, (int)weights.RowPointers[end] - start);
    }

    private static int[] Starts(IEnumerable<int> sizes)
    {
        var list = new List<int> { 0 };
        foreach (var size in sizes)
        {
            list.Add(list[^1] + size);
        }

        return [.. list];
    }

    // The block-diagonal layer: block k's rows after block k-1's, its columns shifted to its inputs.
    private static SparseLinear Stitch(SparseLinear[] parts, int[] rowStarts, int[] columnStarts, int columns)
    {
        var whole = ConnectionMap.Stack([.. parts.Select(p => new ConnectionMap(p.Weights.RowPointers, p.Weights.ColumnIndices, p.Weights.Values, ReadOnlyMemory<int>.Empty))],
            columnStarts, []);
        var bias = new float[rowStarts[^1]];
        for (var k = 0; k < parts.Length; k++)
        {
            parts[k].Bias.CopyTo(bias, rowStarts[k]);
        }

        return new SparseLinear(new CsrMatrix(rowStarts[^1], columns, whole.RowPointers, whole.ColumnIndices, whole.Values), bias);
    }
}
