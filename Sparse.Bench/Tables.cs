using System.Text;

namespace Sparse.Bench;

/// <summary>
/// <c>tables DIR</c>: writes the generated tables that <c>scripts/check-defaults</c> trains on, seeded so every run
/// writes the same files: <c>reg0.csv</c> and <c>reg50.csv</c> (3,000 rows, five features, target
/// <c>(3a - 2b + cd + noise) / 4</c>, plus 50 in the second) and <c>wide.csv</c> (300 rows of 5,000 features in
/// three classes; 300 features are shifted by 0.8 standard deviations for one class each).
/// </summary>
internal static class Tables
{
    public static void Write(string directory)
    {
        Directory.CreateDirectory(directory);
        Regression(Path.Combine(directory, "reg0.csv"), 0);
        Regression(Path.Combine(directory, "reg50.csv"), 50);
        Wide(Path.Combine(directory, "wide.csv"));
    }

    private static void Regression(string path, double offset)
    {
        var random = new Random(7);
        var text = new StringBuilder("a,b,c,d,e,y\n");
        for (var n = 0; n < 3000; n++)
        {
            var v = Enumerable.Range(0, 5).Select(_ => (random.NextDouble() * 2) - 1).ToArray();
            var y = (((3 * v[0]) - (2 * v[1]) + (v[2] * v[3]) + (0.1 * Normal(random))) / 4) + offset;
            text.AppendJoin(',', v.Select(x => x.ToString("F5", CultureInfo.InvariantCulture))).Append(',').Append(y.ToString("F5", CultureInfo.InvariantCulture)).Append('\n');
        }

        File.WriteAllText(path, text.ToString());
        Console.WriteLine($"{path}: 3000 rows, 5 features, regression target around {offset}");
    }

    private static void Wide(string path)
    {
        var random = new Random(8);
        var text = new StringBuilder(string.Join(",", Enumerable.Range(0, 5000).Select(c => $"g{c}")) + ",class\n");
        for (var r = 0; r < 300; r++)
        {
            var k = r % 3;
            text.AppendJoin(',', Enumerable.Range(0, 5000).Select(i => (Normal(random) + (i < 300 && i % 3 == k ? 0.8 : 0)).ToString("F3", CultureInfo.InvariantCulture)))
                .Append(",c").Append(k).Append('\n');
        }

        File.WriteAllText(path, text.ToString());
        Console.WriteLine($"{path}: 300 rows, 5000 features, 3 classes");
    }

    /// <summary>A standard normal draw (Box-Muller), for the generated tables of Sparse.Bench.</summary>
    internal static double Normal(Random random) => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
}
