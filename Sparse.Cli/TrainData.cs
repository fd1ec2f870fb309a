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
    /// <param name="run">The run's options.</param>
    /// <param name="trainPath">The training file.</param>
    /// <param name="testPath">The test file, or null for a validation split.</param>
    /// <param name="resumed">The checkpoint a resumed run continues, or null.</param>
    /// <param name="resumePath">Its file.</param>
    /// <param name="say">Progress lines and notes.</param>
    /// <param name="announce">The inferred task and its classes, a line a user must see (a log event in JSON logs too).</param>
    public static TrainData Read(RunOptions run, string trainPath, string? testPath, Checkpoint? resumed, string? resumePath, Action<string> say, Action<string> announce)
    {
        if (IsSvmLight(trainPath, run.Get(DataFormat)))
        {
            if (run.Get(SelectFeatures) is not null)
            {
                throw new UserError("--select-features picks CSV columns by name; it does not apply to svmlight files.");
            }

            var (svmSchema, rows, heldOut, labels) = ReadSvmLight(trainPath, testPath, run.Get(DataFormat), resumed?.Schema, run.Get(ZeroBased), run.Get(FeatureCount),
                run.Get(TaskName), run.Get(RawTargets), say);
            if (resumed is null)
            {
                announce(TaskLine(svmSchema, labels, run.Get(TaskName) is not null));
            }

            return Checked(run, svmSchema, rows, heldOut, trainPath, testPath, resumed, resumePath, say);
        }

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
            announce(TaskLine(schema, table.Labels!, run.Get(TaskName) is not null));
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
        var test = testPath is null ? null : schema.ToDataset(selected is null
            ? CsvTableReader.Read(testPath, fileSchema, header, requireLabel: true, say)
            : CsvTableReader.Read(testPath, fileSchema, header, requireLabel: true, say).SelectFeatures(selected));
        return Checked(run, schema, all, test, trainPath, testPath, resumed, resumePath, say);
    }

    // The training rows and the test rows (or a validation split of the training rows), checked against a resumed model and for what a model cannot learn.
    private static TrainData Checked(RunOptions run, TabularSchema schema, Dataset all, Dataset? test, string trainPath, string? testPath, Checkpoint? resumed, string? resumePath, Action<string> say)
    {
        Dataset train;
        (train, test) = test is not null ? (all, test) : HoldOut(all, run.Get(ValidationSplit), run.Get(Seed));
        if (resumed is not null && resumed.Network.InputSize != train.FeatureCount)
        {
            throw new UserError($"{resumePath}: the model takes {resumed.Network.InputSize} features, {trainPath} has {train.FeatureCount}.");
        }

        CheckLearnable(schema, train, trainPath, testPath is null, say);
        return new TrainData(schema, train, test);
    }

    /// <summary>The task, why it was chosen, the flag that changes it, and the classes.</summary>
    private static string TaskLine(TabularSchema schema, string[] labels, bool given)
    {
        var label = schema.SvmLight is null ? $"the label column '{schema.LabelName}' holds" : "the labels hold";
        string reason;
        if (given)
        {
            reason = "as --task says";
        }
        else if (!ClassLabels.AreNumbers(labels))
        {
            reason = $"{label} text; --task regression would refuse it";
        }
        else
        {
            var values = labels.Select(l => ClassLabels.Key(l, numeric: true)).Distinct(StringComparer.Ordinal).Count();
            reason = schema.IsClassification
                ? $"{label} {values} distinct whole numbers, 50 or fewer; --task regression to predict it as a number"
                : labels.All(l => ClassLabels.TryNumber(l, out var v) && v == Math.Floor(v))
                    ? $"{label} {values} distinct whole numbers, more than 50; --task classification to treat each as a class"
                    : $"{label} numbers that are not whole; --task classification to treat each value as a class";
        }

        return schema.IsClassification
            ? $"task: classification of {schema.ClassNames.Count} classes ({reason}): {string.Join(", ", schema.ClassNames.Take(20))}{(schema.ClassNames.Count > 20 ? ", ..." : string.Empty)}"
            : $"task: regression ({reason})";
    }

    // Data a model cannot learn from is refused, each with one line naming the column or class; constant feature columns are noted.
    private static void CheckLearnable(TabularSchema schema, Dataset train, string trainPath, bool split, Action<string> say)
    {
        if (schema.IsClassification)
        {
            var classes = schema.ClassNames;
            if (classes.Count < 2)
            {
                throw new UserError($"{trainPath}: the label column '{schema.LabelName}' holds one class ('{classes[0]}'): a classifier needs rows of two classes or more.");
            }

            var counts = new int[classes.Count];
            foreach (var label in train.Labels!)
            {
                counts[label]++;
            }

            var missing = Enumerable.Range(0, counts.Length).Where(c => counts[c] == 0).Select(c => $"'{classes[c]}'").ToList();
            if (missing.Count > 0)
            {
                throw new UserError($"{trainPath}: {(missing.Count == 1 ? "class" : "classes")} {string.Join(", ", missing.Take(10))}{(missing.Count > 10 ? ", ..." : string.Empty)} " +
                    $"{(missing.Count == 1 ? "has" : "have")} no row among the {train.Count} training rows" +
                    (split ? "; the validation split held out every row of it: more rows of it, a smaller --validation-split, or --test FILE." : "."));
            }
        }
        else if (train.Count > 0 && train.Targets!.All(t => t == train.Targets![0]))
        {
            throw new UserError($"{trainPath}: the target column '{schema.LabelName}' is {schema.ToTargetUnits(train.Targets![0]).ToString("G6", CultureInfo.InvariantCulture)} " +
                $"in every one of the {train.Count} training rows: there is nothing to learn, and R² would be undefined.");
        }

        if (train.SparseFeatures is { } rows)
        {
            var seen = new bool[train.FeatureCount];
            foreach (var column in rows.ColumnIndices.AsSpan(0, (int)rows.NonZeroCount))
            {
                seen[column] = true;
            }

            var never = Enumerable.Range(0, seen.Length).Where(f => !seen[f]).ToList();
            if (never.Count > 0)
            {
                say($"note: {never.Count:N0} of {seen.Length:N0} features never occur in the {train.Count:N0} training rows and carry no information: " +
                    $"{string.Join(", ", never.Take(10).Select(f => schema.FeatureNames[f]))}{(never.Count > 10 ? ", ..." : string.Empty)}");
            }

            return;
        }

        var constant = ConstantColumns(train);
        if (constant.Count > 0)
        {
            say($"note: {constant.Count} feature column{(constant.Count == 1 ? " holds" : "s hold")} one value in every training row and carry no information: " +
                $"{string.Join(", ", constant.Take(10).Select(c => schema.FeatureNames[c]))}{(constant.Count > 10 ? ", ..." : string.Empty)}");
        }
    }

    // The features whose value is the same in every training row.
    private static List<int> ConstantColumns(Dataset train)
    {
        var width = train.FeatureCount;
        var same = new bool[width];
        Array.Fill(same, train.Count > 1);
        var features = train.Features.AsSpan();
        var first = features[..width];
        for (var row = 1; row < train.Count; row++)
        {
            var values = features.Slice(row * width, width);
            for (var c = 0; c < width; c++)
            {
                same[c] &= values[c] == first[c];
            }
        }

        return [.. Enumerable.Range(0, width).Where(c => same[c])];
    }
}
