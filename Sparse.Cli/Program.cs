using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Sparse.Core;
using Sparse.Topology;
using Sparse.Training;

// The command-line trainer. This first cut trains a classifier on a CSV file (the bundled digits set
// by default) and saves the model; evaluate, predict and info, and the full option set, follow.
var trainFile = new Option<string?>("--train") { Description = "Training CSV (numeric features, label in the last column, no header). Default: the bundled 8x8 digits set, split 80/20." };
var hidden = new Option<string>("--hidden") { Description = "Hidden layer sizes, comma-separated.", DefaultValueFactory = _ => "512,512" };
var epsilon = new Option<double>("--epsilon") { Description = "Erdos-Renyi sparsity parameter (connections per layer about epsilon x (in + out)).", DefaultValueFactory = _ => 8 };
var epochs = new Option<int>("--epochs") { Description = "Training epochs.", DefaultValueFactory = _ => 40 };
var batchSize = new Option<int>("--batch-size") { Description = "Samples per batch.", DefaultValueFactory = _ => 32 };
var learningRate = new Option<float>("--learning-rate") { Description = "SGD learning rate (cosine-annealed).", DefaultValueFactory = _ => 0.05f };
var seed = new Option<ulong>("--seed") { Description = "Seed of initialisation, split and shuffles.", DefaultValueFactory = _ => 1 };
var threads = new Option<int>("--threads") { Description = "Kernel threads (default: all cores).", DefaultValueFactory = _ => Environment.ProcessorCount };
var output = new Option<string>("--output") { Description = "Where to save the trained model.", DefaultValueFactory = _ => "model.sparse" };
var density = new Option<double?>("--density") { Description = "Uniform density of every layer (instead of --epsilon)." };
var erk = new Option<double?>("--erk") { Description = "Overall density spread by ERK (instead of --epsilon)." };
var activation = new Option<string>("--activation") { Description = "relu, leaky-relu, all-relu, tanh or sigmoid.", DefaultValueFactory = _ => "relu" };
activation.AcceptOnlyFromAmong("relu", "leaky-relu", "all-relu", "tanh", "sigmoid");
var evolve = new Option<string>("--evolve") { Description = "Topology evolution: none, set, rigl or ctre.", DefaultValueFactory = _ => "none" };
evolve.AcceptOnlyFromAmong("none", "set", "rigl", "ctre");
var zeta = new Option<double>("--zeta") { Description = "Fraction of connections rewired per evolution step (RigL: the starting fraction).", DefaultValueFactory = _ => 0.3 };
var evolveEvery = new Option<int>("--evolve-every") { Description = "Evolve every N steps (cosine-decayed fraction) instead of after each epoch.", DefaultValueFactory = _ => 0 };
var pruneNeurons = new Option<bool>("--prune-neurons") { Description = "Prune hidden neurons at or below the 20th percentile of importance every 5 epochs from epoch 5." };

var train = new Command("train", "Train a truly sparse MLP classifier on a CSV file and save it.")
{
    trainFile, hidden, epsilon, density, erk, activation, evolve, zeta, evolveEvery, pruneNeurons, epochs, batchSize, learningRate, seed, threads, output,
};
train.SetAction(parse =>
{
    SparseParallel.MaxDegreeOfParallelism = Math.Max(1, parse.GetValue(threads));
    var path = parse.GetValue(trainFile) ?? Path.Combine(AppContext.BaseDirectory, "data", "digits.csv.gz");
    if (!File.Exists(path))
    {
        Console.Error.WriteLine($"sparse: {path}: no such file.");
        return 1;
    }

    int[] sizes;
    try
    {
        sizes = [.. parse.GetValue(hidden)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(s => int.Parse(s, CultureInfo.InvariantCulture))];
    }
    catch (FormatException)
    {
        Console.Error.WriteLine($"sparse: --hidden must be comma-separated whole numbers, got '{parse.GetValue(hidden)}'.");
        return 2;
    }

    Dataset all;
    try
    {
        all = CsvDataset.LoadClassification(path).Data;
    }
    catch (DataFormatException e)
    {
        Console.Error.WriteLine($"sparse: {e.Message}");
        return 1;
    }

    var runSeed = parse.GetValue(seed);
    var (trainSet, testSet) = all.Split(0.2, runSeed);
    int[] layerSizes = [all.FeatureCount, .. sizes, all.ClassCount];
    var densities = parse.GetValue(density) is { } d ? LayerDensities.Uniform(layerSizes, d)
        : parse.GetValue(erk) is { } overall ? LayerDensities.ErdosRenyiKernel(layerSizes, overall)
        : null;
    var kind = parse.GetValue(activation) switch
    {
        "leaky-relu" => ActivationKind.LeakyRelu,
        "all-relu" => ActivationKind.AllRelu,
        "tanh" => ActivationKind.Tanh,
        "sigmoid" => ActivationKind.Sigmoid,
        _ => ActivationKind.Relu,
    };
    var network = SparseNetwork.CreateMlp(layerSizes, kind, parse.GetValue(epsilon), runSeed,
        normalization: InputNormalization.Fit(trainSet, NormalizationKind.Standardize), densities: densities);
    using var loggers = LoggerFactory.Create(b => b.AddSimpleConsole(o => o.SingleLine = true));
    var trainer = new Trainer(network, new SoftmaxCrossEntropy(), new Sgd(parse.GetValue(learningRate), momentum: 0.9f, weightDecay: 1e-4f),
        new TrainerOptions { Epochs = parse.GetValue(epochs), BatchSize = parse.GetValue(batchSize), Seed = runSeed, Schedule = LearningRateSchedule.Cosine(0.001f) },
        loggers.CreateLogger<Trainer>());
    var evolver = parse.GetValue(evolve) switch
    {
        "set" => TopologyEvolver.Set(runSeed, logger: loggers.CreateLogger<TopologyEvolver>()),
        "rigl" => TopologyEvolver.RigL(loggers.CreateLogger<TopologyEvolver>()),
        "ctre" => TopologyEvolver.Ctre(CtreVariant.Plain, runSeed, loggers.CreateLogger<TopologyEvolver>()),
        _ => null,
    };
    if (evolver is not null)
    {
        var every = parse.GetValue(evolveEvery);
        trainer.Hooks.Add(new EvolutionHook(evolver, every > 0 ? EvolutionSchedule.CosineDecay(parse.GetValue(zeta), every) : EvolutionSchedule.EveryEpoch(parse.GetValue(zeta))));
    }

    if (parse.GetValue(pruneNeurons))
    {
        trainer.Hooks.Add(new NeuronPruningHook(new NeuronImportancePruner(20), startEpoch: 5, everyEpochs: 5));
    }

    trainer.Fit(trainSet, testSet);
    var final = Metrics.Evaluate(network, testSet, new SoftmaxCrossEntropy());
    var modelPath = parse.GetValue(output)!;
    Checkpoint.Save(modelPath, network);
    Console.WriteLine($"test accuracy {final.Accuracy:P2}, loss {final.Loss:F4}; {network.ConnectionCount:N0} connections; saved {modelPath}");
    return 0;
});

var root = new RootCommand("sparse: train truly sparse neural networks from the shell.") { train };
return root.Parse(args).Invoke();
