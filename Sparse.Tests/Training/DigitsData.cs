using Sparse.Training;

namespace Sparse.Tests.Training;

/// <summary>The bundled 8x8 digits set, loaded once, split 80/20 with a fixed seed.</summary>
internal static class DigitsData
{
    private static readonly Lazy<(Dataset Train, Dataset Test)> Split = new(() =>
    {
        var all = CsvDataset.LoadClassification(Path.Combine(AppContext.BaseDirectory, "data", "digits.csv.gz")).Data;
        return all.Split(0.2, seed: 42);
    });

    public static Dataset Train => Split.Value.Train;

    public static Dataset Test => Split.Value.Test;
}
