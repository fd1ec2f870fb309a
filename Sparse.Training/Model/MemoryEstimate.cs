namespace Sparse.Training;

/// <summary>
/// What training a network costs in memory, worked out from its shape before anything is allocated.
/// Per stored connection: value 4 B, column index 4 B, the transposed view's row index 4 B and value
/// permutation 4 B, the gradient 4 B, and 4 B per optimizer state slot (SGD with momentum 1, Adam 2):
/// 24 B with SGD momentum, 28 B with Adam. Per neuron and sample of a batch: 4 B for each activation
/// buffer it appears in. Row and column pointers are 8 B each. When the topology evolves, one step needs
/// scratch for the largest layer it rewires, freed afterwards; the rewiring hook states how much per connection
/// (<see cref="ITrainingHook.RewiringBytesPerConnection"/>).
/// </summary>
public static class MemoryEstimate
{
    /// <summary>Bytes per stored connection while training with <paramref name="optimizerSlots"/> state arrays.</summary>
    public static long BytesPerConnection(int optimizerSlots) => 20 + (4L * optimizerSlots);

    /// <summary>
    /// Estimates an MLP <paramref name="sizes"/> with the given per-layer densities (expected connection counts),
    /// plus <paramref name="rewiringBytesPerConnection"/> for each connection of its largest layer: the scratch of
    /// one evolution step (0 for a fixed topology).
    /// </summary>
    public static MemoryBreakdown ForMlp(IReadOnlyList<int> sizes, IReadOnlyList<double> densities, int batch, int optimizerSlots, bool dropout = false, long rewiringBytesPerConnection = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rewiringBytesPerConnection);
        long connections = 0, pointers = 0, biases = 0, largest = 0;
        for (var l = 0; l + 1 < sizes.Count; l++)
        {
            var layer = (long)Math.Round(densities[l] * sizes[l] * (double)sizes[l + 1]);
            connections += layer;
            largest = Math.Max(largest, layer);
            pointers += 8L * (sizes[l] + sizes[l + 1] + 2);
            biases += sizes[l + 1];
        }

        // Buffers: the input, each layer's output, and per hidden layer an activation (and dropout) output.
        long activationFloats = sizes[0];
        for (var l = 1; l < sizes.Count; l++)
        {
            activationFloats += sizes[l] * (l + 1 < sizes.Count ? (dropout ? 3L : 2L) : 1L);
        }

        var widest = sizes.Max();
        return new MemoryBreakdown(
            connections,
            connections * BytesPerConnection(optimizerSlots),
            pointers + (biases * 4 * (2 + optimizerSlots)),
            (activationFloats + (2L * widest)) * batch * 4,
            largest * rewiringBytesPerConnection);
    }

    /// <summary>
    /// Bytes per connection a first layer holds for a moment while it changes order (<see cref="SparseLinear.StoreInputMajor"/>
    /// and back, with <see cref="SparseNetwork.StepsActiveInputsOnly"/>, at each evolution step and checkpoint): the
    /// transposed view's row index and value position, one spare array of values, and the old arrays until they are
    /// collected. A 20-million-connection layer raised the peak working set of <c>sparse train --lazy-inputs</c> by 19-42
    /// bytes a connection over the same run stepping every connection (docs/performance.md).
    /// </summary>
    public const long OrderChangeBytesPerConnection = 24;

    /// <summary>Estimates an existing network, plus an evolution step's scratch of <paramref name="rewiringBytesPerConnection"/> per connection of its largest layer.</summary>
    public static MemoryBreakdown For(SparseNetwork network, int batch, int optimizerSlots, long rewiringBytesPerConnection = 0)
    {
        var sizes = new List<int> { network.InputSize };
        var densities = new List<double>();
        foreach (var layer in network.SparseLayers)
        {
            sizes.Add(layer.OutputSize);
            densities.Add(layer.Stored.Density);
        }

        return ForMlp(sizes, densities, batch, optimizerSlots, network.Layers.Any(l => l is Dropout or BlockLayer { IsActivation: false }), rewiringBytesPerConnection);
    }

    /// <summary>The memory this process may still use: the GC's limit (container or machine) less what it holds.</summary>
    public static long AvailableBytes()
    {
        var info = GC.GetGCMemoryInfo();
        return info.TotalAvailableMemoryBytes - GC.GetTotalMemory(false);
    }

    /// <summary>
    /// Throws <see cref="InsufficientMemoryException"/> with the arithmetic when <paramref name="estimate"/>, less
    /// <paramref name="alreadyAllocated"/> bytes that exist already, does not fit.
    /// </summary>
    public static void EnsureFits(MemoryBreakdown estimate, long alreadyAllocated = 0)
    {
        var available = AvailableBytes();
        if (estimate.TotalBytes - alreadyAllocated > available)
        {
            throw new InsufficientMemoryException($"Training needs about {estimate}, but only {Gib(available)} is available.");
        }
    }

    /// <summary>Bytes as a person reads them: GiB with two decimals from 1 GiB up; below, MiB with one, so a small network does not read as 0.00 GiB.</summary>
    public static string Gib(long bytes) => bytes >= 1L << 30
        ? string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{bytes / (1024.0 * 1024 * 1024):F2} GiB")
        : string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{bytes / (1024.0 * 1024):F1} MiB");
}

/// <summary>An estimate of training memory, in bytes.</summary>
/// <param name="Connections">Stored connections.</param>
/// <param name="ConnectionBytes">Bytes for the connections and everything kept per connection.</param>
/// <param name="NeuronBytes">Bytes for pointers, biases and their state.</param>
/// <param name="ActivationBytes">Bytes for the activation and gradient buffers of one batch.</param>
/// <param name="EvolutionBytes">Scratch of one evolution step, or of a first layer's change of order, on the largest layer; 0 when neither happens.</param>
public readonly record struct MemoryBreakdown(long Connections, long ConnectionBytes, long NeuronBytes, long ActivationBytes, long EvolutionBytes = 0)
{
    /// <summary>The sum.</summary>
    public long TotalBytes => ConnectionBytes + NeuronBytes + ActivationBytes + EvolutionBytes;

    /// <summary>The arithmetic, for logs and errors.</summary>
    public override string ToString() =>
        $"{MemoryEstimate.Gib(TotalBytes)} ({Connections:N0} connections x {(Connections == 0 ? 0 : ConnectionBytes / Connections)} B = {MemoryEstimate.Gib(ConnectionBytes)}, " +
        $"pointers and biases {MemoryEstimate.Gib(NeuronBytes)}, activations {MemoryEstimate.Gib(ActivationBytes)}" +
        (EvolutionBytes > 0 ? $", rewiring scratch {MemoryEstimate.Gib(EvolutionBytes)})" : ")");
}
