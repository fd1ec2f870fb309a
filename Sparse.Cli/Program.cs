using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Sparse.Core;
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

var train = new Command("train", "Train a truly sparse MLP classifier on a CSV file and save it.")
{
    trainFile, hidden, epsilon, epochs, batchSize, learningRate, seed, threads, output,
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
    var network = SparseNetwork.CreateMlp([all.FeatureCount, .. sizes, all.ClassCount], ActivationKind.Relu, parse.GetValue(epsilon), runSeed,
        normalization: InputNormalization.Fit(trainSet, NormalizationKind.Standardize));
    using var loggers = LoggerFactory.Create(b => b.AddSimpleConsole(o => o.SingleLine = true));
    var trainer = new Trainer(network, new SoftmaxCrossEntropy(), new Sgd(parse.GetValue(learningRate), momentum: 0.9f, weightDecay: 1e-4f),
        new TrainerOptions { Epochs = parse.GetValue(epochs), BatchSize = parse.GetValue(batchSize), Seed = runSeed, Schedule = LearningRateSchedule.Cosine(0.001f) },
        loggers.CreateLogger<Trainer>());
    trainer.Fit(trainSet, testSet);
    var final = Metrics.Evaluate(network, testSet, new SoftmaxCrossEntropy());
    var modelPath = parse.GetValue(output)!;
    Checkpoint.Save(modelPath, network);
    Console.WriteLine($"test accuracy {final.Accuracy:P2}, loss {final.Loss:F4}; {network.ConnectionCount:N0} connections; saved {modelPath}");
    return 0;
});

var root = new RootCommand("sparse: train truly sparse neural networks from the shell.") { train };
return root.Parse(args).Invoke();
