using Sparse.Core;
using Sparse.Training;

namespace Sparse.Topology;

/// <summary>
/// The settings of <see cref="QuickSelection"/>; the defaults are the reference script's (zahraatashgahi/QuickSelection,
/// <c>train_sparse_DAE.py</c>): 1,000 sigmoid hidden neurons at epsilon 13, SET with zeta 0.2 after every epoch, SGD 0.01
/// with momentum 0.9, weight decay 1e-5, batch 100, dropout 0.2, input noise 0.2, 100 epochs.
/// </summary>
public sealed record QuickSelectionOptions
{
    /// <summary>Hidden neurons of the autoencoder.</summary>
    public int Hidden { get; init; } = 1000;

    /// <summary>Erdos-Renyi sparsity of both layers.</summary>
    public double Epsilon { get; init; } = 13;

    /// <summary>The fraction SET rewires after every epoch but the last.</summary>
    public double Zeta { get; init; } = 0.2;

    /// <summary>Training epochs.</summary>
    public int Epochs { get; init; } = 100;

    /// <summary>Rows per step.</summary>
    public int BatchSize { get; init; } = 100;

    /// <summary>SGD's learning rate.</summary>
    public float LearningRate { get; init; } = 0.01f;

    /// <summary>SGD's momentum.</summary>
    public float Momentum { get; init; } = 0.9f;

    /// <summary>L2 weight decay.</summary>
    public float WeightDecay { get; init; } = 1e-5f;

    /// <summary>Dropout after the hidden layer.</summary>
    public float Dropout { get; init; } = 0.2f;

    /// <summary>
    /// Standard deviation of the Gaussian noise added to each input of a training step, on the [0, 1] scale of the
    /// min-max scaled inputs (as in the reference): about as large as a column's own spread, so a column that shares
    /// nothing with the others cannot be restored from its corrupted copy.
    /// </summary>
    public float Noise { get; init; } = 0.2f;

    /// <summary>Seeds the topology, the weights, the batches, the noise and SET.</summary>
    public ulong Seed { get; init; } = 1;
}

/// <summary>
/// QuickSelection (Atashgahi, Sokar, van der Lee, Mocanu, Mocanu, Veldhuis and Pechenizkiy, "Quick and robust feature
/// selection: the strength of energy-efficient sparse training for autoencoders", Machine Learning 111, 2022): a sparse
/// denoising autoencoder, trained with SET, that reconstructs every input (min-max scaled to [0, 1]) from a noisy copy; the features
/// are then ranked by the node strength of their input neurons (<see cref="FeatureRanking"/>). Unsupervised: the label
/// plays no part, so it ranks the columns by how much structure they share with the others.
/// </summary>
public static class QuickSelection
{
    /// <summary>Trains the autoencoder on <paramref name="data"/>'s features and ranks them; <paramref name="names"/> as in <see cref="FeatureRanking.Rank"/>.</summary>
    /// <exception cref="ArgumentException">The data has no rows.</exception>
    public static IReadOnlyList<FeatureScore> Rank(Dataset data, QuickSelectionOptions? options = null, IReadOnlyList<string>? names = null, ComputeOptions? compute = null) =>
        FeatureRanking.Rank(TrainAutoencoder(data, options, compute), names);

    /// <summary>
    /// The trained autoencoder of <paramref name="data"/>'s features: inputs -> hidden (sigmoid, dropout) -> inputs
    /// (linear), both layers sparse, the first one evolved by SET. The inputs are min-max scaled to [0, 1] by the data's
    /// own range (the network's <see cref="SparseNetwork.Normalization"/>), and so are the reconstruction targets.
    /// </summary>
    public static SparseNetwork TrainAutoencoder(Dataset data, QuickSelectionOptions? options = null, ComputeOptions? compute = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        options ??= new QuickSelectionOptions();
        if (data.Count == 0)
        {
            throw new ArgumentException("QuickSelection needs at least one row.", nameof(data));
        }

        // The scaled rows serve as inputs and as targets; the loader then needs no normalization of its own.
        var normalization = InputNormalization.Fit(data, NormalizationKind.MinMax);
        var rows = (float[])data.Features.Clone();
        for (var r = 0; r < data.Count; r++)
        {
            normalization.Apply(rows.AsSpan(r * data.FeatureCount, data.FeatureCount));
        }

        var d = data.FeatureCount;
        var autoencoder = Dataset.ForRegression(rows, d, rows, d);
        var network = SparseNetwork.CreateMlp([d, options.Hidden, d], ActivationKind.Sigmoid, options.Epsilon, options.Seed, options.Dropout);
        network.Compute = compute ?? ComputeOptions.Default;
        var optimizer = new Sgd(options.LearningRate, options.Momentum, weightDecay: options.WeightDecay);
        var loss = new MeanSquaredError();
        var evolver = TopologyEvolver.Set(RandomStreams.Derive(options.Seed, RandomPurpose.Regrowth));
        var loader = new BatchLoader(autoencoder, options.BatchSize, normalization: null, shuffle: true, options.Seed, network.Compute);
        var gradient = new float[d * loader.Batch.Capacity];
        var noise = new SparseRandom(RandomStreams.Derive(options.Seed, RandomPurpose.Noise));
        for (var epoch = 0; epoch < options.Epochs; epoch++)
        {
            loader.StartEpoch(epoch);
            while (loader.Next())
            {
                // The denoising step: the input is corrupted, the target (the batch's own copy) is not.
                var batch = loader.Batch;
                var x = batch.Features;
                for (var k = 0; k < x.Length; k++)
                {
                    x[k] += options.Noise * (float)noise.NextNormal();
                }

                var output = network.Forward(x, batch.Size, training: true);
                var outputGradient = gradient.AsSpan(0, output.Length);
                loss.Compute(output, batch, outputGradient, network.Compute);

                // MeanSquaredError averages over outputs too; the reference's step is (y - t) per output, averaged over
                // the batch only. Without this the step shrinks with the column count (4,000 times on a 4,000-column table).
                DenseOps.Multiply(outputGradient, d / 2f, outputGradient, network.Compute);
                network.Backward(outputGradient);
                optimizer.Step(network.Parameters, network.Compute);
            }

            if (epoch + 1 < options.Epochs)
            {
                evolver.Evolve(network, optimizer, options.Zeta);
            }
        }

        network.Normalization = normalization;
        return network;
    }
}
