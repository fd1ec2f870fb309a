using System.CommandLine;
using System.Globalization;
using System.Text;
using Sparse.Training;

namespace Sparse.Cli;

/// <summary><c>evaluate</c>, <c>predict</c> and <c>info</c>: using a saved model.</summary>
internal static class ModelCommands
{
    private static readonly Option<string> Model = new("--model") { Description = "A model file written by 'sparse train'.", Required = true };
    private static readonly Option<string> Data = new("--data") { Description = "CSV with the model's feature columns (and, to evaluate, its label column).", Required = true };
    private static readonly Option<bool> NoHeader = new("--no-header") { Description = "The first line is data (default: detected)." };
    private static readonly Option<string> PredictionsPath = new("--output") { Description = "Where to write the predictions CSV.", DefaultValueFactory = _ => "predictions.csv" };

    public static Command Evaluate()
    {
        var command = new Command("evaluate", "Loss, accuracy and confusion matrix of a model on a labelled CSV file.") { Model, Data, NoHeader };
        command.SetAction(parse => Cli.Guard(() =>
        {
            var (checkpoint, metadata, table) = Load(parse, requireLabel: true);
            var data = DataPreparation.ToDataset(table, metadata);
            ILoss loss = metadata.Classification ? new SoftmaxCrossEntropy() : new MeanSquaredError();
            var result = Metrics.Evaluate(checkpoint.Network, data, loss);
            Console.WriteLine($"samples {data.Count}");
            Console.WriteLine($"loss {result.Loss.ToString("F6", CultureInfo.InvariantCulture)}");
            if (result.Accuracy is { } accuracy)
            {
                Console.WriteLine($"accuracy {accuracy.ToString("F4", CultureInfo.InvariantCulture)}");
                PrintConfusion(checkpoint.Network, data, metadata.Classes);
            }

            return 0;
        }));
        return command;
    }

    public static Command Predict()
    {
        var command = new Command("predict", "Write one prediction per input row: the class and its probabilities, or the regression value.") { Model, Data, NoHeader, PredictionsPath };
        command.SetAction(parse => Cli.Guard(() =>
        {
            var (checkpoint, metadata, table) = Load(parse, requireLabel: false);
            var network = checkpoint.Network;
            var loader = new BatchLoader(DataPreparation.FeaturesOnly(table), 256, network.Normalization, shuffle: false, seed: 0);
            var output = parse.GetValue(PredictionsPath)!;
            AtomicFile.Write(output, stream =>
            {
                using var writer = new StreamWriter(stream, new UTF8Encoding(false));
                writer.WriteLine(metadata.Classification
                    ? "class," + string.Join(",", metadata.Classes.Select(c => Csv("p_" + c)))
                    : Csv(metadata.LabelName));
                var probabilities = new float[network.OutputSize * loader.Batch.Capacity];
                while (loader.Next())
                {
                    var batch = loader.Batch.Size;
                    var y = network.Forward(loader.Batch.Features, batch, training: false);
                    if (metadata.Classification)
                    {
                        SoftmaxCrossEntropy.Softmax(y, batch, probabilities);
                    }

                    for (var b = 0; b < batch; b++)
                    {
                        writer.WriteLine(metadata.Classification ? ClassRow(y, probabilities, b, batch, metadata.Classes) : y[b].ToString("R", CultureInfo.InvariantCulture));
                    }
                }
            });
            Console.WriteLine($"wrote {table.Rows} predictions to {output}");
            return 0;
        }));
        return command;
    }

    public static Command Info()
    {
        var command = new Command("info", "Layers, connections, density, degrees, memory and training history of a model.") { Model };
        command.SetAction(parse => Cli.Guard(() =>
        {
            var path = parse.GetValue(Model)!;
            var checkpoint = Cli.LoadModel(path);
            var metadata = ModelMetadata.From(checkpoint, path);
            var network = checkpoint.Network;
            Console.WriteLine($"model {path}: {network.InputSize} inputs -> {network.OutputSize} outputs, {(metadata.Classification ? $"classification ({string.Join(", ", metadata.Classes)})" : "regression")}");
            Console.WriteLine($"connections {network.ConnectionCount:N0}, parameter bytes {network.ParameterBytes:N0}");
            Console.WriteLine($"training memory at batch 128 with SGD momentum: {MemoryEstimate.For(network, 128, 1)}; " +
                $"{MemoryEstimate.BytesPerConnection(1)} B per connection (value, column, transposed row and permutation, gradient, momentum)");
            Console.WriteLine($"with topology evolution: {MemoryEstimate.For(network, 128, 1, evolving: true)}; " +
                $"a step needs {MemoryEstimate.EvolutionBytesPerConnection(1)} B per connection of the largest layer, freed after it");
            var index = 0;
            foreach (var layer in network.Layers)
            {
                if (layer is SparseLinear linear)
                {
                    var w = linear.Weights;
                    var inDegrees = Enumerable.Range(0, w.Rows).Select(w.RowLength).ToArray();
                    var pointers = w.Transposed.ColumnPointers;
                    var outDegrees = Enumerable.Range(0, w.Columns).Select(c => (int)(pointers[c + 1] - pointers[c])).ToArray();
                    Console.WriteLine($"  layer {index}: sparse {w.Columns} -> {w.Rows}, {w.NonZeroCount:N0} connections, density {w.Density.ToString("P3", CultureInfo.InvariantCulture)}, " +
                        $"in-degree {inDegrees.Min()}/{inDegrees.Average().ToString("F1", CultureInfo.InvariantCulture)}/{inDegrees.Max()}, out-degree {outDegrees.Min()}/{outDegrees.Average().ToString("F1", CultureInfo.InvariantCulture)}/{outDegrees.Max()} (min/mean/max)");
                }
                else
                {
                    Console.WriteLine($"  layer {index}: {layer.GetType().Name.ToLowerInvariant()} {(layer is Activation a ? a.Kind.ToString() : string.Empty)}");
                }

                index++;
            }

            var history = checkpoint.History.Epochs;
            if (history.Count > 0)
            {
                var last = history[^1];
                var best = history.Where(e => e.TestAccuracy is not null).Select(e => e.TestAccuracy!.Value).DefaultIfEmpty(float.NaN).Max();
                Console.WriteLine($"trained {history.Count} epochs in {history.Sum(e => e.Seconds).ToString("F1", CultureInfo.InvariantCulture)} s; last test loss {last.TestLoss?.ToString("F4", CultureInfo.InvariantCulture) ?? "-"}, " +
                    $"last test accuracy {last.TestAccuracy?.ToString("P2", CultureInfo.InvariantCulture) ?? "-"}, best {(float.IsNaN(best) ? "-" : best.ToString("P2", CultureInfo.InvariantCulture))}");
            }

            return 0;
        }));
        return command;
    }

    private static (Checkpoint Checkpoint, ModelMetadata Metadata, CsvTable CsvTable) Load(ParseResult parse, bool requireLabel)
    {
        var path = parse.GetValue(Model)!;
        var checkpoint = Cli.LoadModel(path);
        var metadata = ModelMetadata.From(checkpoint, path);
        bool? header = parse.GetValue(NoHeader) ? false : null;
        var table = CsvTableReader.Read(parse.GetValue(Data)!, header, null, checkpoint.Network.InputSize, requireLabel);
        return (checkpoint, metadata, table);
    }

    private static void PrintConfusion(SparseNetwork network, Dataset data, string[] classes)
    {
        var confusion = new int[classes.Length, classes.Length];
        var loader = new BatchLoader(data, 256, network.Normalization, shuffle: false, seed: 0);
        while (loader.Next())
        {
            var y = network.Forward(loader.Batch.Features, loader.Batch.Size, training: false);
            for (var b = 0; b < loader.Batch.Size; b++)
            {
                confusion[loader.Batch.Labels[b], Metrics.ArgMax(y, b, loader.Batch.Size, classes.Length)]++;
            }
        }

        var width = Math.Max(6, classes.Max(c => c.Length) + 1);
        Console.WriteLine("confusion matrix (rows: true class, columns: predicted)");
        Console.WriteLine(new string(' ', width) + string.Concat(classes.Select(c => c.PadLeft(width))));
        for (var t = 0; t < classes.Length; t++)
        {
            Console.WriteLine(classes[t].PadLeft(width) + string.Concat(Enumerable.Range(0, classes.Length).Select(p => confusion[t, p].ToString(CultureInfo.InvariantCulture).PadLeft(width))));
        }
    }

    private static string ClassRow(ReadOnlySpan<float> logits, float[] probabilities, int sample, int batch, string[] classes)
    {
        var best = Metrics.ArgMax(logits, sample, batch, classes.Length);
        return Csv(classes[best]) + "," + string.Join(",", Enumerable.Range(0, classes.Length).Select(c => probabilities[(c * batch) + sample].ToString("G6", CultureInfo.InvariantCulture)));
    }

    private static string Csv(string cell) =>
        cell.IndexOfAny([',', '"', '\n', '\r', ';', '\t']) >= 0 ? "\"" + cell.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : cell;
}
