using static Sparse.Cli.SharedOptions;
using static Sparse.Cli.TrainOptions;

namespace Sparse.Cli;

/// <summary>
/// The rows a <c>sparse train</c> run trains and tests on: the training file read against the saved schema (a resumed
/// run) or one inferred from it, the strongest K features of another model's ranking when asked, and the test file
/// or a validation split drawn from the run's seed.
/// </summary>
/// <param name="Schema">The table the model reads (after feature selection).</param>
/// <param name="Train">The training rows.</param>
/// <param name="Test">The held-out rows.</param>
internal sealed record TrainData(TabularSchema Schema, Dataset Train, Dataset Test)
{
    /// <summary>Reads the data of the run <paramref name="run"/> describes, continuing <paramref name="resumed"/> when given.</summary>
    /// <exception cref="UserError">A file's error (with file, line and column), a split that leaves a side empty, or a resumed model of another width.</exception>
    public static TrainData Read(RunOptions run, string trainPath, string? testPath, Checkpoint? resumed, string? resumePath, Action<string> say)
    {
        bool? header = run.Get(NoHeader) ? false : null;
        TabularSchema schema;
        CsvTable table;
        if (resumed?.Schema is { } saved)
        {
            schema = saved;
            table = CsvTableReader.Read(trainPath, schema, header, requireLabel: true, say);
        }
        else
        {
            table = CsvTableReader.Read(trainPath, header, run.Get(Label), say);
            schema = TabularSchema.Infer(table, run.Get(TaskName), standardizeTargets: !run.Get(RawTargets));
        }

        // The table as the file has it, and the features the run trains on: the strongest K of another model's ranking
        // (a resumed run's schema lists them already).
        var fileSchema = schema;
        IReadOnlyList<string>? selected = null;
        if (resumed is null && run.Get(SelectFeatures) is { } count)
        {
            var from = run.Get(FeaturesFrom)!;
            selected = [.. ModelCommands.Rank(from).Take(count).Select(f => f.Name)];
            table = table.SelectFeatures(selected);
            schema = TabularSchema.Infer(table, run.Get(TaskName), standardizeTargets: !run.Get(RawTargets));
            say($"features: the {selected.Count} strongest of {fileSchema.FeatureNames.Count} by {from}: {string.Join(", ", selected.Take(10))}{(selected.Count > 10 ? ", ..." : string.Empty)}");
        }

        var all = schema.ToDataset(table);
        Dataset train, test;
        if (testPath is not null)
        {
            train = all;
            var testTable = CsvTableReader.Read(testPath, fileSchema, header, requireLabel: true, say);
            test = schema.ToDataset(selected is null ? testTable : testTable.SelectFeatures(selected));
        }
        else
        {
            (train, test) = HoldOut(all, run.Get(ValidationSplit), run.Get(Seed));
        }

        if (resumed is not null && resumed.Network.InputSize != train.FeatureCount)
        {
            throw new UserError($"{resumePath}: the model takes {resumed.Network.InputSize} features, {trainPath} has {train.FeatureCount}.");
        }

        return new TrainData(schema, train, test);
    }
}
