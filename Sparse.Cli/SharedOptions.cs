using System.CommandLine;

namespace Sparse.Cli;

/// <summary>
/// The options <c>train</c> and <c>sweep</c> both read (the data, the task, momentum, threads, precision), declared once
/// so they mean the same in both, and the validation split they both draw.
/// </summary>
internal static class SharedOptions
{
    public static readonly Option<string?> TrainFile = new("--train") { Description = "Training CSV. Default: the bundled 8x8 digits set." };
    public static readonly Option<string?> TestFile = new("--test") { Description = "Held-out CSV with the same columns (default: a --validation-split of the training file)." };
    public static readonly Option<double> ValidationSplit = new("--validation-split") { Description = "Fraction of the training file held out when there is no --test.", DefaultValueFactory = _ => 0.2 };
    public static readonly Option<string?> Label = new("--label") { Description = "Label column: a header name or a 0-based index (default: the last column)." };
    public static readonly Option<string?> TaskName = OneOf(new Option<string?>("--task") { Description = "classification or regression (default: inferred from the labels)." }, "classification", "regression");
    public static readonly Option<bool> NoHeader = new("--no-header") { Description = "The first line is data (default: detected)." };
    public static readonly Option<float> Momentum = new("--momentum") { Description = "SGD momentum (with --optimizer sgd).", DefaultValueFactory = _ => 0.9f };
    public static readonly Option<int?> Threads = new("--threads") { Description = "Kernel threads (default: all cores)." };
    public static readonly Option<string> PrecisionName = OneOf(new Option<string>("--precision")
    {
        Description = "How the sparse kernels store the rows they gather: fp32, or bf16 (half the bytes, summed in fp32; faster on layers of 100,000 neurons and more, slower on small ones: docs/performance.md).",
        DefaultValueFactory = _ => "fp32",
    }, "fp32", "bf16");
    public static readonly Option<string?> DataFormat = OneOf(new Option<string?>("--format")
    {
        Description = "Data file format: csv, or svmlight (LIBSVM: 'label index:value ...', one row a line, only the non-zero features) " +
            "(default: svmlight for names ending in .svm, .svmlight or .libsvm, also with .gz; else csv).",
    }, "csv", "svmlight");
    public static readonly Option<bool> ZeroBased = new("--zero-based") { Description = "svmlight: the indices count from 0 (default: from 1, unless a file holds an index 0, as scikit-learn decides)." };
    public static readonly Option<int?> FeatureCount = new("--features") { Description = "svmlight: features per row (default: the largest index in the files), so that a test file with fewer columns lines up." };
    public static readonly Option<bool> RawTargets = new("--raw-targets") { Description = "Regression: train on the targets as they are (default: standardized to mean 0 and deviation 1; predictions are always in the original units)." };

    /// <summary>The <c>--validation-split</c> of <paramref name="all"/>: training and held-out rows, both non-empty.</summary>
    public static (Dataset Train, Dataset Test) HoldOut(Dataset all, double split, ulong seed)
    {
        var (train, test) = all.Split(split, RandomStreams.Derive(seed, RandomPurpose.Split));
        return train.Count == 0 || test.Count == 0
            ? throw new UserError($"--validation-split {split.ToString(CultureInfo.InvariantCulture)} of {all.Count} rows leaves {train.Count} to train and {test.Count} to test; both need at least one.")
            : (train, test);
    }

    /// <summary>Whether <paramref name="path"/> is read as svmlight: as <paramref name="format"/> says, else by its extension.</summary>
    public static bool IsSvmLight(string path, string? format) => format is null ? SvmLightReader.IsSvmLightPath(path) : format == "svmlight";

    /// <summary>
    /// The svmlight training file and the test file (read together, so they share the index base and the feature count)
    /// as datasets of sparse rows, their schema (<paramref name="saved"/>, a resumed run's, or the one inferred from the
    /// training file) and the training file's label text.
    /// </summary>
    /// <exception cref="UserError">The test file is not svmlight, the saved schema reads CSV columns, or --features is not positive.</exception>
    /// <exception cref="DataFormatException">A file's error, with its file, line, column and token.</exception>
    public static (TabularSchema Schema, Dataset All, Dataset? Test, string[] Labels) ReadSvmLight(string trainPath, string? testPath, string? format, TabularSchema? saved,
        bool zeroBased, int? features, string? task, bool rawTargets, Action<string> say)
    {
        if (testPath is not null && !IsSvmLight(testPath, format))
        {
            throw new UserError($"{testPath}: the training file {trainPath} is svmlight, so the test file must be too (a name ending in .svm, or --format svmlight).");
        }

        if (saved is not null && saved.SvmLight is null)
        {
            throw new UserError($"{trainPath}: is a svmlight file, but the model reads the CSV columns {string.Join(", ", saved.FeatureNames.Take(5))}{(saved.FeatureNames.Count > 5 ? ", ..." : string.Empty)}.");
        }

        if (features is <= 0)
        {
            throw new UserError($"--features must be a positive number of features, got {features}.");
        }

        var options = new SvmLightOptions
        {
            ZeroBased = saved?.SvmLight is { } svm ? !svm.OneBased : zeroBased ? true : null,
            FeatureCount = saved?.FeatureNames.Count ?? features,
        };
        var tables = SvmLightReader.Read(testPath is null ? [trainPath] : [trainPath, testPath], options, say);
        var schema = saved ?? TabularSchema.Infer(tables[0], task, standardizeTargets: !rawTargets);
        return (schema, schema.ToDataset(tables[0]), testPath is null ? null : schema.ToDataset(tables[1]), tables[0].Labels);
    }

    /// <summary>The activation the command line names (<see cref="NetworkConfig.ActivationName"/>), or null.</summary>
    public static ActivationKind? Activation(string name) =>
        Enum.GetValues<ActivationKind>().Where(k => NetworkConfig.ActivationName(k) == name).Select(k => (ActivationKind?)k).FirstOrDefault();

    // An option that takes only the listed values; set where it is declared, so every command that lists it agrees.
    private static Option<T> OneOf<T>(Option<T> option, params string[] values)
    {
        option.AcceptOnlyFromAmong(values);
        return option;
    }
}
