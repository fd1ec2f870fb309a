using System.CommandLine;
using System.Text;

namespace Sparse.Cli;

/// <summary><c>evaluate</c>, <c>predict</c> and <c>info</c>: using a saved model.</summary>
internal static class ModelCommands
{
    private static readonly Option<string> Model = new("--model") { Description = "A model file written by 'sparse train'.", Required = true };
    private static readonly Option<string> Data = new("--data")
    {
        Description = "CSV with the model's feature columns (and, to evaluate, its label column); for a model trained on svmlight files, a svmlight file.",
        Required = true,
    };
    private static readonly Option<bool> NoHeader = new("--no-header") { Description = "The first line is data (default: detected)." };
    private static readonly Option<string> PredictionsPath = new("--output") { Description = "Where to write the predictions CSV.", DefaultValueFactory = _ => "predictions.csv" };

    public static Command Evaluate()
    {
        var command = new Command("evaluate", "Loss, accuracy and confusion matrix (classification) or RMSE, MAE and R² (regression) of a model on a labelled CSV file; columns are matched by header name.") { Model, Data, NoHeader };
        command.SetAction(parse => Cli.Guard(() =>
        {
            var (checkpoint, schema, data) = Load(parse, requireLabel: true, Console.Error.WriteLine);
            Console.WriteLine($"samples {data.Count}");
            if (schema.IsClassification)
            {
                var result = Metrics.Evaluate(checkpoint.Network, data, new SoftmaxCrossEntropy());
                Console.WriteLine($"loss {result.Loss.ToString("F6", CultureInfo.InvariantCulture)}");
                Console.WriteLine($"accuracy {result.Accuracy!.Value.ToString("F4", CultureInfo.InvariantCulture)}");
                PrintConfusion(checkpoint.Network, data, [.. schema.ClassNames]);
            }
            else
            {
                var (rmse, mae, r2) = RegressionScores(checkpoint.Network, data, schema);
                Console.WriteLine($"rmse {rmse.ToString("G6", CultureInfo.InvariantCulture)}");
                Console.WriteLine($"mae {mae.ToString("G6", CultureInfo.InvariantCulture)}");
                Console.WriteLine($"r2 {r2.ToString("F4", CultureInfo.InvariantCulture)}");
            }

            return 0;
        }));
        return command;
    }

    public static Command Predict()
    {
        var command = new Command("predict", "Write one prediction per input row: the class and its probabilities, or the regression value in the target's units. Columns are matched by header name; the label column may be absent.") { Model, Data, NoHeader, PredictionsPath };
        command.SetAction(parse => Cli.Guard(() =>
        {
            var output = parse.GetValue(PredictionsPath)!;
            OutputPaths.Check([("--output", output)], [("--model", parse.GetValue(Model)), ("--data", parse.GetValue(Data))]);
            var (checkpoint, schema, features) = Load(parse, requireLabel: false, Console.Error.WriteLine);
            var network = checkpoint.Network;
            var loader = new BatchLoader(features, 256, network.Normalization, shuffle: false, seed: 0);
            var classes = schema.ClassNames.ToArray();
            AtomicFile.Write(output, stream =>
            {
                using var writer = new StreamWriter(stream, new UTF8Encoding(false));
                writer.WriteLine(schema.IsClassification
                    ? "class," + string.Join(",", classes.Select(c => Csv("p_" + c)))
                    : Csv(schema.LabelName));
                var probabilities = new float[network.OutputSize * loader.Batch.Capacity];
                while (loader.Next())
                {
                    var batch = loader.Batch.Size;
                    var y = network.Forward(loader.Batch, training: false);
                    if (schema.IsClassification)
                    {
                        SoftmaxCrossEntropy.Softmax(y, batch, probabilities);
                    }

                    for (var b = 0; b < batch; b++)
                    {
                        writer.WriteLine(schema.IsClassification
                            ? ClassRow(y, probabilities, b, batch, classes)
                            : schema.ToTargetUnits(y[b]).ToString("R", CultureInfo.InvariantCulture));
                    }
                }
            });
            Console.WriteLine($"wrote {features.Count} predictions to {output}");
            return 0;
        }));
        return command;
    }

    public static Command Features()
    {
        var model = new Option<string?>("--model") { Description = "A model file written by 'sparse train' (--method model)." };
        var data = new Option<string?>("--data") { Description = "CSV whose feature columns QuickSelection trains on (--method quickselection); the label column is left out." };
        var label = new Option<string?>("--label") { Description = "With --data: the label column to leave out, a header name or a 0-based index (default: the last column)." };
        var method = new Option<string>("--method")
        {
            Description = "model: rank by the trained model's connections; quickselection: train QuickSelection's sparse denoising autoencoder on --data " +
                "(unsupervised; 1,000 hidden neurons, SET, 100 epochs) and rank by its first layer.",
            DefaultValueFactory = _ => "model",
        };
        method.AcceptOnlyFromAmong("model", "quickselection");
        var measure = new Option<string>("--measure")
        {
            Description = "paths: |w| summed over each input's paths to the outputs; strength: |w| summed over its first-layer connections (QuickSelection's node strength).",
            DefaultValueFactory = _ => "paths",
        };
        measure.AcceptOnlyFromAmong("paths", "strength");
        var epochs = new Option<int>("--epochs") { Description = "QuickSelection's training epochs.", DefaultValueFactory = _ => new QuickSelectionOptions().Epochs };
        var top = new Option<int>("--top") { Description = "How many features to print, strongest first.", DefaultValueFactory = _ => 20 };
        var output = new Option<string?>("--output") { Description = "Write every feature's rank, name, strength and connections here as CSV." };
        var names = new Option<string?>("--feature-names")
        {
            Description = "With --model: a text file naming the model's features, one a line in feature order (for svmlight files, line i names index i " +
                "of one-based files, index i - 1 of zero-based ones), such as the words of a bag-of-words set.",
        };
        var command = new Command(
            "features",
            "Rank input features by the connections they kept: of a trained model (--model), or of QuickSelection's sparse denoising autoencoder trained on a data file " +
            "(--method quickselection --data FILE); docs/features.md. A model trained with --weight-decay 1 ranks more of the informative columns first. " +
            "Train on the best K with 'train --select-features K --features-from MODEL'.")
        {
            model, data, label, NoHeader, method, measure, epochs, top, output, names,
        };
        command.SetAction(parse => Cli.Guard(() =>
        {
            var path = parse.GetValue(output);
            var count = parse.GetValue(top);
            var byModel = parse.GetValue(method) == "model";
            if (count < 1)
            {
                throw new UserError($"--top {count}: give 1 or more.");
            }

            if (parse.GetValue(epochs) < 1)
            {
                throw new UserError($"--epochs {parse.GetValue(epochs)}: give 1 or more.");
            }

            var source = byModel
                ? parse.GetValue(model) ?? throw new UserError("--method model ranks a trained model: give --model FILE.")
                : parse.GetValue(data) ?? throw new UserError("--method quickselection trains on a data file: give --data FILE.");
            if (byModel ? parse.GetValue(data) is not null : parse.GetValue(model) is not null)
            {
                throw new UserError(byModel ? "--data is read by --method quickselection only." : "--model is read by --method model only.");
            }

            if (path is not null)
            {
                OutputPaths.Check([("--output", path)], [(byModel ? "--model" : "--data", source)]);
            }

            var featureMeasure = parse.GetValue(measure) == "strength" ? FeatureMeasure.NodeStrength : FeatureMeasure.PathStrength;
            IReadOnlyList<FeatureScore> ranking;
            if (byModel)
            {
                ranking = Rank(source, featureMeasure, parse.GetValue(names));
            }
            else if (parse.GetValue(names) is not null)
            {
                throw new UserError("--feature-names names a model's features: it goes with --method model.");
            }
            else
            {
                var table = CsvTableReader.Read(source, parse.GetValue(NoHeader) ? false : null, parse.GetValue(label), Console.Error.WriteLine);
                var rows = Dataset.ForRegression(table.Features, table.FeatureNames.Length, new float[table.Rows], 1);
                var options = new QuickSelectionOptions { Epochs = parse.GetValue(epochs) };
                Console.Error.WriteLine($"training QuickSelection's autoencoder on {table.Rows:N0} rows of {table.FeatureNames.Length:N0} columns: " +
                    $"{table.FeatureNames.Length:N0}-{options.Hidden}-{table.FeatureNames.Length:N0} at epsilon {options.Epsilon}, {options.Epochs} epochs");
                ranking = FeatureRanking.Rank(QuickSelection.TrainAutoencoder(rows, options), table.FeatureNames, featureMeasure);
            }

            Console.WriteLine($"{"rank",5}  {"feature",-24} {"strength",10} {"connections",11}");
            foreach (var feature in ranking.Take(count))
            {
                Console.WriteLine($"{feature.Rank,5}  {feature.Name,-24} {feature.Strength.ToString("F4", CultureInfo.InvariantCulture),10} {feature.Connections,11}");
            }

            if (path is not null)
            {
                AtomicFile.Write(path, stream =>
                {
                    using var writer = new StreamWriter(stream, new UTF8Encoding(false));
                    writer.WriteLine("rank,feature,strength,connections");
                    foreach (var feature in ranking)
                    {
                        writer.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{feature.Rank},{Csv(feature.Name)},{feature.Strength:R},{feature.Connections}"));
                    }
                });
                Console.WriteLine($"wrote the ranking of {ranking.Count} features to {path}");
            }

            return 0;
        }));
        return command;
    }

    /// <summary>
    /// The features of the model at <paramref name="path"/>, ranked by <see cref="FeatureRanking"/>, named by the schema
    /// or, when given, by the lines of <paramref name="namesPath"/>.
    /// </summary>
    public static IReadOnlyList<FeatureScore> Rank(string path, FeatureMeasure measure = FeatureMeasure.PathStrength, string? namesPath = null)
    {
        var checkpoint = Cli.LoadModel(path);
        var featureNames = Cli.SchemaOf(checkpoint).FeatureNames;
        if (namesPath is not null)
        {
            if (!File.Exists(namesPath))
            {
                throw new UserError($"--feature-names {namesPath}: no such file.");
            }

            var lines = File.ReadAllLines(namesPath);
            var count = lines.Length > 0 && lines[^1].Length == 0 ? lines.Length - 1 : lines.Length;
            if (count != featureNames.Count)
            {
                throw new UserError($"{namesPath}: names {count:N0} features, one a line; the model {path} has {featureNames.Count:N0}.");
            }

            var blank = Array.FindIndex(lines, 0, count, string.IsNullOrWhiteSpace);
            if (blank >= 0)
            {
                throw new UserError($"{namesPath}:{blank + 1}: an empty name; every feature needs one.");
            }

            featureNames = lines[..count];
        }

        try
        {
            return FeatureRanking.Rank(checkpoint.Network, featureNames, measure);
        }
        catch (ArgumentException e)
        {
            throw new UserError($"{path}: {e.Message}");
        }
    }

    public static Command Export()
    {
        var format = new Option<string>("--format") { Description = "The file format.", DefaultValueFactory = _ => "onnx" };
        format.AcceptOnlyFromAmong("onnx");
        var output = new Option<string?>("--output") { Description = "Where to write the exported model (default: the model's name with the format's extension)." };
        var weights = new Option<string>("--weights")
        {
            Description = "How sparse layers are stored: 'dense' (a dense initializer, 4 B per input-output pair; every runtime reads it) or 'sparse' (a sparse_initializer, 12 B per connection; ONNX Runtime densifies it on load).",
            DefaultValueFactory = _ => "dense",
        };
        weights.AcceptOnlyFromAmong("dense", "sparse");
        var command = new Command("export", "Write a model as ONNX: raw feature rows 'features' float[N, inputs] in (the saved normalization is part of the graph); out 'probabilities' float[N, classes] and 'label' string[N] for classification, 'value' float[N, 1] in the target's units for regression.")
        {
            Model, format, output, weights,
        };
        command.SetAction(parse => Cli.Guard(() =>
        {
            var modelPath = parse.GetValue(Model)!;
            var target = parse.GetValue(output) ?? Path.ChangeExtension(modelPath, ".onnx");
            OutputPaths.Check([("--output", target)], [("--model", modelPath)]);
            var checkpoint = Cli.LoadModel(modelPath);
            var schema = Cli.SchemaOf(checkpoint);
            var weightFormat = parse.GetValue(weights) == "sparse" ? OnnxWeightFormat.Sparse : OnnxWeightFormat.Dense;
            try
            {
                OnnxExport.Save(target, checkpoint.Network, schema, new OnnxExportOptions { Weights = weightFormat, GraphName = Path.GetFileNameWithoutExtension(modelPath) });
            }
            catch (Exception e) when (e is NotSupportedException or InvalidOperationException)
            {
                throw new UserError($"{modelPath}: cannot export to ONNX: {e.Message}");
            }

            var network = checkpoint.Network;
            var outputs = schema.IsClassification
                ? $"'probabilities' float[N, {network.OutputSize}] and 'label' string[N]"
                : "'value' float[N, 1]";
            Console.WriteLine($"wrote {target}: {new FileInfo(target).Length:N0} bytes, {network.ConnectionCount:N0} connections as {parse.GetValue(weights)} weights (the model file: {new FileInfo(modelPath).Length:N0} bytes)");
            Console.WriteLine($"input 'features' float[N, {network.InputSize}] (columns {string.Join(", ", schema.FeatureNames.Take(4))}{(schema.FeatureNames.Count > 4 ? ", ..." : string.Empty)}); outputs {outputs}; ONNX opset {OnnxExport.Opset}");
            return 0;
        }));
        return command;
    }

    public static Command Info(Option<bool> verbose)
    {
        var command = new Command("info", "Layers, connections, density, degrees, memory and training history of a model.") { Model };
        command.SetAction(parse => Cli.Guard(() =>
        {
            var path = parse.GetValue(Model)!;
            var checkpoint = Cli.LoadModel(path);
            var schema = Cli.SchemaOf(checkpoint);
            var network = checkpoint.Network;
            Console.WriteLine($"model {path}: {network.InputSize} inputs -> {network.OutputSize} outputs, {(schema.IsClassification ? $"classification ({string.Join(", ", schema.ClassNames)})" : "regression")}");
            Console.WriteLine($"columns: features {string.Join(", ", schema.FeatureNames.Take(8))}{(schema.FeatureNames.Count > 8 ? $", ... ({schema.FeatureNames.Count} in all)" : string.Empty)}; label '{schema.LabelName}'" +
                (schema.IsClassification ? string.Empty : $", standardized with mean {schema.TargetMean.ToString("G6", CultureInfo.InvariantCulture)} and deviation {schema.TargetScale.ToString("G6", CultureInfo.InvariantCulture)}"));
            Console.WriteLine($"connections {network.ConnectionCount:N0}, parameter bytes {network.ParameterBytes:N0}");
            if (TrainingRecipe.FromCheckpoint(checkpoint) is { } recipe)
            {
                // The model's own settings: its batch, optimizer state and evolution scratch.
                Console.WriteLine($"trained with {string.Join(" ", TrainOptions.RecipeValues(recipe).Select(o => o.Value == "False" ? null : o.Value == "True" ? o.Key : $"{o.Key} {o.Value}").OfType<string>())}");
                Console.WriteLine($"topology evolution: {recipe.EvolutionDescription}");
                var rewiring = recipe.RewiringBytesPerConnection;
                Console.WriteLine($"training memory at these settings: {MemoryEstimate.For(network, recipe.BatchSize, recipe.OptimizerSlots, rewiring)}; " +
                    $"{MemoryEstimate.BytesPerConnection(recipe.OptimizerSlots)} B per connection, and {rewiring} B per connection of the largest layer during an evolution step");
            }
            else
            {
                Console.WriteLine($"training memory at batch 128 with SGD momentum: {MemoryEstimate.For(network, 128, 1)}; " +
                    $"{MemoryEstimate.BytesPerConnection(1)} B per connection (value, column, transposed row and permutation, gradient, momentum)");
                var (set, rigl) = (TopologyEvolver.Set().ScratchBytesPerConnection(1), TopologyEvolver.RigL().ScratchBytesPerConnection(1));
                Console.WriteLine($"with topology evolution (SET): {MemoryEstimate.For(network, 128, 1, set)}; " +
                    $"a step needs {set} B per connection of the largest layer ({rigl} B with RigL or CTRE), freed after it");
            }

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

            if (parse.GetValue(verbose))
            {
                Console.WriteLine("execution plan (the kernels of one training step, in order):");
                foreach (var line in network.Plan.Describe())
                {
                    Console.WriteLine($"  {line}");
                }
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

    // The model and the rows of --data: labelled when requireLabel, else with placeholder labels. A model trained on
    // svmlight files reads svmlight (with its index base and feature count), whatever the file's name; one trained on
    // CSV reads CSV columns by name.
    private static (Checkpoint Checkpoint, TabularSchema Schema, Dataset Data) Load(ParseResult parse, bool requireLabel, Action<string> note)
    {
        var checkpoint = Cli.LoadModel(parse.GetValue(Model)!);
        var schema = Cli.SchemaOf(checkpoint);
        var path = parse.GetValue(Data)!;
        if (schema.SvmLight is { } svm)
        {
            var rows = SvmLightReader.Read(path, new SvmLightOptions { ZeroBased = !svm.OneBased, FeatureCount = svm.Count }, note);
            return (checkpoint, schema, requireLabel ? schema.ToDataset(rows) : Dataset.ForClassification(rows.Features, new int[rows.Rows], 1));
        }

        if (SvmLightReader.IsSvmLightPath(path))
        {
            throw new UserError($"{path}: is named as a svmlight file, but the model reads the CSV columns {string.Join(", ", schema.FeatureNames.Take(5))}{(schema.FeatureNames.Count > 5 ? ", ..." : string.Empty)}.");
        }

        bool? header = parse.GetValue(NoHeader) ? false : null;
        var table = CsvTableReader.Read(path, schema, header, requireLabel, note);
        return (checkpoint, schema, requireLabel ? schema.ToDataset(table) : Dataset.ForClassification(table.Features, table.FeatureNames.Length, new int[table.Rows], 1));
    }

    /// <summary>Root mean squared error, mean absolute error and R² in the target's original units.</summary>
    private static (double Rmse, double Mae, double R2) RegressionScores(SparseNetwork network, Dataset data, TabularSchema schema)
    {
        var loader = new BatchLoader(data, 256, network.Normalization, shuffle: false, seed: 0);
        double squares = 0, absolute = 0, sum = 0, sumSquares = 0;
        while (loader.Next())
        {
            var batch = loader.Batch;
            var y = network.Forward(batch, training: false);
            for (var b = 0; b < batch.Size; b++)
            {
                var predicted = schema.ToTargetUnits(y[b]);
                var actual = schema.ToTargetUnits(batch.Targets[b]);
                squares += (predicted - actual) * (predicted - actual);
                absolute += Math.Abs(predicted - actual);
                sum += actual;
                sumSquares += actual * actual;
            }
        }

        var n = Math.Max(1, data.Count);
        var variance = (sumSquares / n) - ((sum / n) * (sum / n));
        return (Math.Sqrt(squares / n), absolute / n, variance > 0 ? 1 - (squares / n / variance) : double.NaN);
    }

    private static void PrintConfusion(SparseNetwork network, Dataset data, string[] classes)
    {
        var confusion = new int[classes.Length, classes.Length];
        var loader = new BatchLoader(data, 256, network.Normalization, shuffle: false, seed: 0);
        while (loader.Next())
        {
            var y = network.Forward(loader.Batch, training: false);
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
