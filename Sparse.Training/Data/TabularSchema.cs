using System.Globalization;
using System.Text.Json;

namespace Sparse.Training;

/// <summary>
/// What a model expects of a table, saved with it: the feature columns by name and order, the label
/// column, the task, the class names and, for regression, the scale the targets were standardized with.
/// Files are read against it by <see cref="CsvTableReader.Read(string, TabularSchema, bool?, bool, Action{string})"/>,
/// which matches columns by name. A schema of svmlight files (<see cref="SvmLight"/>) names its features by their index
/// as the files write it, and keeps no list of names. (Input normalization belongs to the network:
/// <see cref="SparseNetwork.Normalization"/>.)
/// </summary>
public sealed class TabularSchema
{
    /// <summary>The label's name in a schema of svmlight files, whose labels stand first on each line.</summary>
    public const string SvmLightLabel = "label";

    private readonly Dictionary<string, int>? _featureIndex;

    /// <summary>Creates a schema, checking that names are unique and the target scale usable.</summary>
    /// <param name="featureNames">The feature columns in the order the network reads them.</param>
    /// <param name="labelName">The label column.</param>
    /// <param name="labelIndex">The label's 0-based column in the training file (for header-less files), or -1.</param>
    /// <param name="classNames">The class names by output index (classification), or empty (regression).</param>
    /// <param name="targetMean">Regression: subtracted from targets before training.</param>
    /// <param name="targetScale">Regression: targets are divided by it after the mean is removed.</param>
    /// <exception cref="ArgumentException">Duplicate or empty names, or a non-finite or non-positive scale.</exception>
    public TabularSchema(IReadOnlyList<string> featureNames, string labelName, int labelIndex, IReadOnlyList<string> classNames, double targetMean = 0, double targetScale = 1)
    {
        ArgumentNullException.ThrowIfNull(featureNames);
        ArgumentNullException.ThrowIfNull(classNames);
        ArgumentException.ThrowIfNullOrEmpty(labelName);
        if (featureNames.Count == 0)
        {
            throw new ArgumentException("A schema needs at least one feature.", nameof(featureNames));
        }

        _featureIndex = new Dictionary<string, int>(featureNames.Count, StringComparer.Ordinal);
        for (var f = 0; f < featureNames.Count; f++)
        {
            if (string.IsNullOrEmpty(featureNames[f]) || !_featureIndex.TryAdd(featureNames[f], f))
            {
                throw new ArgumentException($"Feature name '{featureNames[f]}' (feature {f}) is empty or not unique.", nameof(featureNames));
            }
        }

        if (_featureIndex.ContainsKey(labelName))
        {
            throw new ArgumentException($"The label '{labelName}' is also a feature name.", nameof(labelName));
        }

        CheckClassesAndTargets(classNames, targetMean, targetScale);
        ArgumentOutOfRangeException.ThrowIfLessThan(labelIndex, -1);
        FeatureNames = [.. featureNames];
        LabelName = labelName;
        LabelIndex = labelIndex;
        ClassNames = [.. classNames];
        TargetMean = targetMean;
        TargetScale = targetScale;
    }

    private TabularSchema(SvmLightFeatures features, IReadOnlyList<string> classNames, double targetMean, double targetScale)
    {
        CheckClassesAndTargets(classNames, targetMean, targetScale);
        SvmLight = features;
        FeatureNames = features;
        LabelName = SvmLightLabel;
        LabelIndex = -1;
        ClassNames = [.. classNames];
        TargetMean = targetMean;
        TargetScale = targetScale;
    }

    /// <summary>
    /// The schema of svmlight files of <paramref name="featureCount"/> features whose indices count from 1 when
    /// <paramref name="oneBased"/> (else from 0); the other parameters as the constructor's.
    /// </summary>
    public static TabularSchema ForSvmLight(int featureCount, bool oneBased, IReadOnlyList<string> classNames, double targetMean = 0, double targetScale = 1)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(featureCount);
        ArgumentNullException.ThrowIfNull(classNames);
        return new TabularSchema(new SvmLightFeatures(featureCount, oneBased), classNames, targetMean, targetScale);
    }

    private static void CheckClassesAndTargets(IReadOnlyList<string> classNames, double targetMean, double targetScale)
    {
        if (classNames.Distinct(StringComparer.Ordinal).Count() != classNames.Count || classNames.Any(string.IsNullOrEmpty))
        {
            throw new ArgumentException("Class names must be unique and not empty.", nameof(classNames));
        }

        if (!double.IsFinite(targetMean) || !double.IsFinite(targetScale) || targetScale <= 0)
        {
            throw new ArgumentException($"Target mean {targetMean} and scale {targetScale} must be finite, the scale positive.", nameof(targetScale));
        }
    }

    /// <summary>
    /// The features of svmlight files: named by their index as the files write it (from 1 when <see cref="OneBased"/>),
    /// computed when asked, so a million features take no memory here.
    /// </summary>
    public sealed class SvmLightFeatures : IReadOnlyList<string>
    {
        internal SvmLightFeatures(int count, bool oneBased) => (Count, OneBased) = (count, oneBased);

        /// <summary>Features per row.</summary>
        public int Count { get; }

        /// <summary>Whether the files' indices count from 1.</summary>
        public bool OneBased { get; }

        /// <summary>The index of feature <paramref name="index"/> as the files write it.</summary>
        public string this[int index] => (uint)index < (uint)Count
            ? (index + (OneBased ? 1L : 0L)).ToString(CultureInfo.InvariantCulture)
            : throw new ArgumentOutOfRangeException(nameof(index), index, $"A feature is in [0, {Count}).");

        /// <summary>The feature a file's index names, or -1.</summary>
        public int IndexOf(string name) =>
            long.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out var written) && written - (OneBased ? 1 : 0) is >= 0 and var f && f < Count ? (int)f : -1;

        /// <inheritdoc/>
        public IEnumerator<string> GetEnumerator()
        {
            for (var f = 0; f < Count; f++)
            {
                yield return this[f];
            }
        }

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }

    /// <summary>The features of svmlight files, or null for a table of named columns.</summary>
    public SvmLightFeatures? SvmLight { get; }

    /// <summary>The feature columns, in the order the network reads them.</summary>
    public IReadOnlyList<string> FeatureNames { get; }

    /// <summary>The label column's name.</summary>
    public string LabelName { get; }

    /// <summary>The label's 0-based column in the training file, used only for files without a header; -1 when unknown.</summary>
    public int LabelIndex { get; }

    /// <summary>Class names by output index; empty for regression.</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>Whether the model classifies (else it regresses one target).</summary>
    public bool IsClassification => ClassNames.Count > 0;

    /// <summary>Regression: the mean removed from targets before training (0 when not standardized).</summary>
    public double TargetMean { get; }

    /// <summary>Regression: the standard deviation targets were divided by (1 when not standardized).</summary>
    public double TargetScale { get; }

    /// <summary>The network's output count this schema needs: one per class, or one target.</summary>
    public int OutputSize => IsClassification ? ClassNames.Count : 1;

    /// <summary>The position of the feature named <paramref name="name"/>, or -1.</summary>
    public int FeatureIndex(string name) => SvmLight?.IndexOf(name) ?? (_featureIndex!.TryGetValue(name, out var index) ? index : -1);

    /// <summary>
    /// The schema of a training table: classification when <paramref name="task"/> says so, when a label is not
    /// a number, or when labels are at most 50 distinct whole numbers; regression targets are standardized
    /// (mean 0, standard deviation 1) when <paramref name="standardizeTargets"/>.
    /// </summary>
    /// <exception cref="DataFormatException">The table has no label, or regression was asked for and a label is not a finite number.</exception>
    public static TabularSchema Infer(CsvTable table, string? task = null, bool standardizeTargets = true)
    {
        ArgumentNullException.ThrowIfNull(table);
        if (table.Labels is null || table.LabelName is null)
        {
            throw new DataFormatException($"{table.Path}: has no label column.");
        }

        if (InferClassification(task, table.Labels))
        {
            return new TabularSchema(table.FeatureNames, table.LabelName, table.LabelIndex, table.ClassNames());
        }

        var (mean, scale) = TargetScaling(Targets(table.Path, table.Labels, CsvRow(table), table.LabelName), standardizeTargets);
        return new TabularSchema(table.FeatureNames, table.LabelName, table.LabelIndex, [], mean, scale);
    }

    private static bool InferClassification(string? task, string[] labels) => task switch
    {
        "classification" => true,
        "regression" => false,
        null => LooksCategorical(labels),
        _ => throw new ArgumentException($"Unknown task '{task}'.", nameof(task)),
    };

    // The mean and deviation targets are standardized with (0 and 1 when they are not).
    private static (double Mean, double Scale) TargetScaling(float[] targets, bool standardize)
    {
        if (!standardize || targets.Length == 0)
        {
            return (0, 1);
        }

        var mean = targets.Average(t => (double)t);
        var variance = targets.Sum(t => (t - mean) * (t - mean)) / targets.Length;
        return (mean, variance > 1e-24 ? Math.Sqrt(variance) : 1);
    }

    // A CSV row is named by its record number.
    private static Func<int, string> CsvRow(CsvTable table) => n => $":{table.FirstDataLine + n}";

    /// <summary>The schema of svmlight files read together (<paramref name="table"/> the training file), as <see cref="Infer(CsvTable, string?, bool)"/> infers a table's.</summary>
    /// <exception cref="DataFormatException">Regression was asked for and a label is not a finite number.</exception>
    public static TabularSchema Infer(SvmLightTable table, string? task = null, bool standardizeTargets = true)
    {
        ArgumentNullException.ThrowIfNull(table);
        var classification = InferClassification(task, table.Labels);
        if (classification)
        {
            return ForSvmLight(table.FeatureCount, table.OneBased, table.ClassNames());
        }

        var (mean, scale) = TargetScaling(Targets(table.Path, table.Labels, SvmLightRow, SvmLightLabel), standardizeTargets);
        return ForSvmLight(table.FeatureCount, table.OneBased, [], mean, scale);
    }

    /// <summary>The dataset of svmlight <paramref name="table"/> (read with this schema's feature count and index base): sparse rows, and class indices or standardized targets.</summary>
    /// <exception cref="DataFormatException">A label is not one of the classes, or a target is not a finite number; the message names the data line.</exception>
    public Dataset ToDataset(SvmLightTable table)
    {
        ArgumentNullException.ThrowIfNull(table);
        if (SvmLight is null || table.FeatureCount != SvmLight.Count || table.OneBased != SvmLight.OneBased)
        {
            throw new ArgumentException($"The table has {table.FeatureCount} {(table.OneBased ? "one" : "zero")}-based features; the schema {(SvmLight is null ? "is a CSV table's" : $"has {SvmLight.Count} {(SvmLight.OneBased ? "one" : "zero")}-based")}.", nameof(table));
        }

        return IsClassification
            ? Dataset.ForClassification(table.Features, Classes(table.Path, table.Labels, SvmLightRow), ClassNames.Count)
            : Dataset.ForRegression(table.Features, Standardized(Targets(table.Path, table.Labels, SvmLightRow, SvmLightLabel)), 1);
    }

    // svmlight rows are named by their place among the data lines (blank and comment lines are not counted).
    private static string SvmLightRow(int row) => $" data line {row + 1}";

    /// <summary>The dataset of <paramref name="table"/> (read against this schema): class indices, or standardized targets.</summary>
    /// <exception cref="DataFormatException">A label is not one of the classes, or a target is not a finite number; the message names the row.</exception>
    public Dataset ToDataset(CsvTable table)
    {
        ArgumentNullException.ThrowIfNull(table);
        if (table.Labels is null)
        {
            throw new DataFormatException($"{table.Path}: has no label column '{LabelName}'.");
        }

        if (table.FeatureNames.Length != FeatureNames.Count)
        {
            throw new ArgumentException($"The table has {table.FeatureNames.Length} features, the schema {FeatureNames.Count}.", nameof(table));
        }

        return IsClassification
            ? Dataset.ForClassification(table.Features, table.FeatureNames.Length, Classes(table.Path, table.Labels, CsvRow(table), $" in column '{LabelName}'"), ClassNames.Count)
            : Dataset.ForRegression(table.Features, table.FeatureNames.Length, Standardized(Targets(table.Path, table.Labels, CsvRow(table), LabelName)), 1);
    }

    // The class of each label; where names the row after the file's name, column the label's column.
    private int[] Classes(string path, string[] labels, Func<int, string> where, string column = "")
    {
        // Labels are compared as the classes are: by value when every class is a number (1, 1.0 and 1e0 are one), else as trimmed text.
        // A model saved before labels were compared by value may hold 1 and 1.0 as two classes: those keep exact text.
        var numeric = ClassLabels.AreNumbers(ClassNames) && ClassNames.Select(c => ClassLabels.Key(c, true)).Distinct(StringComparer.Ordinal).Count() == ClassNames.Count;
        var index = ClassNames.Select((name, i) => (name, i)).ToDictionary(p => ClassLabels.Key(p.name, numeric), p => p.i, StringComparer.Ordinal);
        var classes = new int[labels.Length];
        for (var n = 0; n < classes.Length; n++)
        {
            if (!index.TryGetValue(ClassLabels.Key(labels[n], numeric), out classes[n]))
            {
                throw new DataFormatException($"{path}{where(n)}: label '{CsvTableReader.Shorten(labels[n])}'{column} " +
                    $"is not one of the model's classes ({string.Join(", ", ClassNames.Take(20))}{(ClassNames.Count > 20 ? ", ..." : string.Empty)}).");
            }
        }

        return classes;
    }

    // Targets in the standardized units the network learns.
    private float[] Standardized(float[] targets)
    {
        for (var n = 0; n < targets.Length; n++)
        {
            targets[n] = (float)((targets[n] - TargetMean) / TargetScale);
        }

        return targets;
    }

    /// <summary>A network output in the target's original units.</summary>
    public double ToTargetUnits(float output) => (output * TargetScale) + TargetMean;

    /// <summary>Checks that <paramref name="network"/> fits this schema.</summary>
    /// <exception cref="InvalidDataException">Input or output counts differ; the message says which.</exception>
    public void Check(SparseNetwork network)
    {
        ArgumentNullException.ThrowIfNull(network);
        if (network.InputSize != FeatureNames.Count)
        {
            throw new InvalidDataException($"the schema names {FeatureNames.Count} features but the network takes {network.InputSize} inputs");
        }

        if (network.OutputSize != OutputSize)
        {
            throw new InvalidDataException(IsClassification
                ? $"the schema names {ClassNames.Count} classes but the network has {network.OutputSize} outputs"
                : $"a regression schema needs 1 output but the network has {network.OutputSize}");
        }
    }

    /// <summary>The schema as JSON, as it is saved in a model file.</summary>
    public string ToJson()
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream))
        {
            void Strings(string name, IReadOnlyList<string> values)
            {
                json.WriteStartArray(name);
                foreach (var value in values)
                {
                    json.WriteStringValue(value);
                }

                json.WriteEndArray();
            }

            json.WriteStartObject();
            json.WriteString("task", IsClassification ? "classification" : "regression");
            if (SvmLight is { } svm)
            {
                json.WriteStartObject("svmlight");
                json.WriteNumber("features", svm.Count);
                json.WriteBoolean("one_based", svm.OneBased);
                json.WriteEndObject();
            }
            else
            {
                Strings("features", FeatureNames);
            }

            json.WriteString("label", LabelName);
            json.WriteNumber("label_index", LabelIndex);
            Strings("classes", ClassNames);
            json.WriteNumber("target_mean", TargetMean);
            json.WriteNumber("target_scale", TargetScale);
            json.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }

    /// <summary>Reads <see cref="ToJson"/>'s output.</summary>
    /// <exception cref="InvalidDataException">Not a valid schema; the message says what is wrong.</exception>
    public static TabularSchema FromJson(string json)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            var root = document.RootElement;
            var task = root.GetProperty("task").GetString();
            var classes = Strings(root.GetProperty("classes"));
            if (task is not ("classification" or "regression") || (task == "classification") != (classes.Length > 0))
            {
                throw new InvalidDataException($"task '{task}' does not match {classes.Length} class names");
            }

            if (root.TryGetProperty("svmlight", out var svm))
            {
                return ForSvmLight(svm.GetProperty("features").GetInt32(), svm.GetProperty("one_based").GetBoolean(), classes,
                    root.GetProperty("target_mean").GetDouble(), root.GetProperty("target_scale").GetDouble());
            }

            return new TabularSchema(Strings(root.GetProperty("features")), root.GetProperty("label").GetString() ?? string.Empty, root.GetProperty("label_index").GetInt32(),
                classes, root.GetProperty("target_mean").GetDouble(), root.GetProperty("target_scale").GetDouble());
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException or ArgumentException)
        {
            throw new InvalidDataException($"bad table schema ({e.Message})", e);
        }
    }

    private static string[] Strings(JsonElement array) => [.. array.EnumerateArray().Select(e => e.GetString() ?? throw new InvalidDataException("a name is null"))];

    private static bool LooksCategorical(string[] labels)
    {
        var numbers = new HashSet<double>();
        foreach (var label in labels)
        {
            if (!double.TryParse(label, NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
            {
                return true;
            }

            if (value != Math.Floor(value))
            {
                return false;
            }

            numbers.Add(value);
        }

        return numbers.Count <= 50;
    }

    private static float[] Targets(string path, string[] labels, Func<int, string> where, string? labelName)
    {
        var targets = new float[labels.Length];
        for (var n = 0; n < targets.Length; n++)
        {
            if (!CsvNumber.TryParse(labels[n], out targets[n]) || !float.IsFinite(targets[n]))
            {
                throw new DataFormatException($"{path}{where(n)}: regression target '{CsvTableReader.Shorten(labels[n])}' " +
                    $"{(labelName == SvmLightLabel ? string.Empty : $"in column '{labelName}' ")}is not a finite number.");
            }
        }

        return targets;
    }
}
