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
    public static readonly Option<bool> RawTargets = new("--raw-targets") { Description = "Regression: train on the targets as they are (default: standardized to mean 0 and deviation 1; predictions are always in the original units)." };

    /// <summary>The <c>--validation-split</c> of <paramref name="all"/>: training and held-out rows, both non-empty.</summary>
    public static (Dataset Train, Dataset Test) HoldOut(Dataset all, double split, ulong seed)
    {
        var (train, test) = all.Split(split, RandomStreams.Derive(seed, RandomPurpose.Split));
        return train.Count == 0 || test.Count == 0
            ? throw new UserError($"--validation-split {split.ToString(CultureInfo.InvariantCulture)} of {all.Count} rows leaves {train.Count} to train and {test.Count} to test; both need at least one.")
            : (train, test);
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
