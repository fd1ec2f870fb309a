using System.Globalization;
using Sparse.Training;

namespace Sparse.Cli;

/// <summary>Turns CSV tables into datasets: the task, the class names and the label encoding.</summary>
internal static class DataPreparation
{
    /// <summary>Classification when asked, when a label is not a number, or when labels are few whole numbers.</summary>
    public static bool InferClassification(CsvTable table, string? task)
    {
        switch (task)
        {
            case "classification":
                return true;
            case "regression":
                var bad = Array.FindIndex(table.Labels!, l => !double.TryParse(l, NumberStyles.Float, CultureInfo.InvariantCulture, out _));
                if (bad >= 0)
                {
                    throw new UserError($"{table.Path}:{table.FirstDataLine + bad}: regression target '{table.Labels![bad]}' in column '{table.LabelName}' is not a number.");
                }

                return false;
        }

        var numbers = new HashSet<double>();
        foreach (var label in table.Labels!)
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

    /// <summary>A dataset of <paramref name="table"/> under <paramref name="metadata"/>'s task and classes.</summary>
    public static Dataset ToDataset(CsvTable table, ModelMetadata metadata)
    {
        if (table.Labels is null)
        {
            throw new UserError($"{table.Path}: has no label column.");
        }

        if (metadata.Classification)
        {
            return Dataset.ForClassification(table.Features, table.FeatureNames.Length, metadata.ClassIndices(table), metadata.Classes.Length);
        }

        var targets = new float[table.Rows];
        for (var n = 0; n < targets.Length; n++)
        {
            if (!float.TryParse(table.Labels[n], NumberStyles.Float, CultureInfo.InvariantCulture, out targets[n]) || !float.IsFinite(targets[n]))
            {
                throw new UserError($"{table.Path}:{table.FirstDataLine + n}: target '{table.Labels[n]}' in column '{table.LabelName}' is not a finite number.");
            }
        }

        return Dataset.ForRegression(table.Features, table.FeatureNames.Length, targets, 1);
    }

    /// <summary>Features only (for predict), as a dataset with dummy labels.</summary>
    public static Dataset FeaturesOnly(CsvTable table) =>
        Dataset.ForClassification(table.Features, table.FeatureNames.Length, new int[table.Rows], 1);
}
