namespace Sparse.Bench;

/// <summary>
/// <c>feature-recall [--tables shift,correlated,regression,madelon] [--methods model,model-paths,set-paths,ctre-paths,quickselection,univariate]
/// [--seeds 3] [--weight-decay 0.0001] [--csv DIR]</c>: how many of a generated table's informative columns each ranking puts in its top K (K =
/// their count), on tables of several kinds: <c>shift</c> (600 rows, 4,000 columns, 40 of them shifted by 0.8
/// deviations for one of three classes each), <c>correlated</c> (600 rows, 2,000 columns, two classes: 20 columns share a
/// factor and are shifted by 0.5 for one class, among 1,980 distractors that are mixtures of 10 other shared factors),
/// <c>regression</c> (600 rows, 2,000 columns; the target is a linear function of 20 of them plus two products and
/// noise), <c>madelon</c> (MADELON's 20 relevant columns among 1,980 distractors mixed from 10 shared factors). Rankings:
/// <c>model</c> and <c>model-paths</c> (node and path strength of a classifier or regressor trained as <c>sparse
/// train</c> does by default: 512-512 ReLU at epsilon 8, RigL twice an epoch, Adam with decoupled weight decay
/// <c>--weight-decay</c>, 40 epochs), <c>set-paths</c> and
/// <c>ctre-paths</c> (the same network with SET or CTRE after every epoch), <c>quickselection</c>
/// (<see cref="QuickSelection"/> with the reference's settings) and <c>univariate</c> (the ANOVA F statistic of each
/// column for classes, |Pearson correlation| with a regression target). <c>--csv DIR</c> writes the tables (seed 1) for
/// the CLI.
/// </summary>
internal static class FeatureRecall
{
    public static int Run(string[] args)
    {
        string Option(string name, string fallback)
        {
            var at = Array.IndexOf(args, name);
            return at >= 0 && at + 1 < args.Length ? args[at + 1] : fallback;
        }

        var tables = Option("--tables", "shift,correlated,regression").Split(',');
        var methods = Option("--methods", "model,model-paths,set-paths,ctre-paths,quickselection,univariate").Split(',');
        var seeds = int.Parse(Option("--seeds", "3"), CultureInfo.InvariantCulture);
        var weightDecay = float.Parse(Option("--weight-decay", "0.0001"), CultureInfo.InvariantCulture);
        if (Option("--csv", string.Empty) is { Length: > 0 } directory)
        {
            Directory.CreateDirectory(directory);
            foreach (var kind in tables)
            {
                var (data, relevant) = Table(kind, 1);
                var path = Path.Combine(directory, $"{kind}.csv");
                WriteCsv(path, data);
                File.WriteAllText(Path.Combine(directory, $"{kind}.relevant"), string.Join(",", relevant.Select(c => $"c{c}")) + "\n");
                Console.WriteLine($"{path}: {data.Count} rows, {data.FeatureCount} columns, {relevant.Length} informative (listed in {kind}.relevant)");
            }

            return 0;
        }

        Console.WriteLine("| table | columns | informative | ranking | recall in the top K (mean ± sd over seeds) | seconds |");
        Console.WriteLine("|---|---|---|---|---|---|");
        foreach (var kind in tables)
        {
            foreach (var method in methods)
            {
                var recalls = new List<double>();
                var watch = Stopwatch.StartNew();
                var (columns, informative) = (0, 0);
                for (var seed = 1; seed <= seeds; seed++)
                {
                    var (data, relevant) = Table(kind, seed);
                    (columns, informative) = (data.FeatureCount, relevant.Length);
                    var order = Rank(method, data, (ulong)seed, weightDecay);
                    recalls.Add(order.Take(relevant.Length).Count(relevant.Contains) / (double)relevant.Length);
                }

                var mean = recalls.Average();
                var sd = recalls.Count > 1 ? Math.Sqrt(recalls.Sum(r => (r - mean) * (r - mean)) / (recalls.Count - 1)) : 0;
                Console.WriteLine($"| {kind} | {columns:N0} | {informative} | {method} | {mean * 100:F1} ± {sd * 100:F1} % | {watch.Elapsed.TotalSeconds / seeds:F1} |");
            }
        }

        return 0;
    }

    private static IEnumerable<int> Rank(string method, Dataset data, ulong seed, float weightDecay) => method switch
    {
        "model" => FeatureRanking.Rank(Model(data, seed, "rigl", weightDecay), measure: FeatureMeasure.NodeStrength).Select(f => f.Index),
        "model-paths" => FeatureRanking.Rank(Model(data, seed, "rigl", weightDecay), measure: FeatureMeasure.PathStrength).Select(f => f.Index),
        "set-paths" => FeatureRanking.Rank(Model(data, seed, "set", weightDecay), measure: FeatureMeasure.PathStrength).Select(f => f.Index),
        "ctre-paths" => FeatureRanking.Rank(Model(data, seed, "ctre", weightDecay), measure: FeatureMeasure.PathStrength).Select(f => f.Index),
        "quickselection" => QuickSelection.Rank(data, new QuickSelectionOptions { Seed = seed }).Select(f => f.Index),
        "univariate" => Univariate(data),
        _ => throw new ArgumentException($"unknown ranking {method}: model, model-paths, set-paths, ctre-paths, quickselection or univariate"),
    };

    // As `sparse train --weight-decay DECAY` trains it with its other defaults (docs/defaults.md), with RigL (the default) or SET or CTRE after every epoch.
    private static SparseNetwork Model(Dataset data, ulong seed, string evolve, float weightDecay)
    {
        var network = SparseNetwork.CreateMlp([data.FeatureCount, 512, 512, data.OutputCount], ActivationKind.Relu, 8, seed,
            normalization: InputNormalization.Fit(data, NormalizationKind.Standardize));
        var trainer = new Trainer(network, data.IsClassification ? new SoftmaxCrossEntropy() : new MeanSquaredError(), new Adam(0.003f, weightDecay, decoupled: true),
            new TrainerOptions { Epochs = 40, BatchSize = 32, Seed = seed, Schedule = LearningRateSchedule.Cosine(0.003f / 50) });
        trainer.Hooks.Add(evolve switch
        {
            "ctre" => new EvolutionHook(TopologyEvolver.Ctre(seed: seed), EvolutionSchedule.EveryEpoch(0.3)),
            "set" => new EvolutionHook(TopologyEvolver.Set(seed), EvolutionSchedule.EveryEpoch(0.3)),
            _ => new EvolutionHook(TopologyEvolver.RigL()),
        });
        trainer.Fit(data);
        return network;
    }

    // ANOVA F for classes; |Pearson r| with the target for regression (the same ordering as scikit-learn's f_regression).
    private static IEnumerable<int> Univariate(Dataset data)
    {
        var n = data.Count;
        var d = data.FeatureCount;
        var scores = new double[d];
        for (var f = 0; f < d; f++)
        {
            var column = new double[n];
            for (var r = 0; r < n; r++)
            {
                column[r] = data.Features[(r * d) + f];
            }

            var mean = column.Average();
            if (data.IsClassification)
            {
                var k = data.ClassCount;
                var sums = new double[k];
                var counts = new int[k];
                for (var r = 0; r < n; r++)
                {
                    sums[data.Labels![r]] += column[r];
                    counts[data.Labels[r]]++;
                }

                double between = 0, within = 0;
                for (var c = 0; c < k; c++)
                {
                    if (counts[c] > 0)
                    {
                        between += counts[c] * Math.Pow((sums[c] / counts[c]) - mean, 2);
                    }
                }

                for (var r = 0; r < n; r++)
                {
                    within += Math.Pow(column[r] - (sums[data.Labels![r]] / counts[data.Labels[r]]), 2);
                }

                scores[f] = within > 0 ? between / (k - 1) / (within / (n - k)) : 0;
            }
            else
            {
                var targetMean = Enumerable.Range(0, n).Average(r => (double)data.Targets![r]);
                double xy = 0, xx = 0, yy = 0;
                for (var r = 0; r < n; r++)
                {
                    var dx = column[r] - mean;
                    var dy = data.Targets![r] - targetMean;
                    xy += dx * dy;
                    xx += dx * dx;
                    yy += dy * dy;
                }

                scores[f] = xx > 0 && yy > 0 ? Math.Abs(xy) / Math.Sqrt(xx * yy) : 0;
            }
        }

        return Enumerable.Range(0, d).OrderByDescending(f => scores[f]).ThenBy(f => f);
    }

    internal static (Dataset Data, int[] Relevant) Table(string kind, int seed) => kind switch
    {
        "shift" => Shift(600, 4000, 40, seed),
        "correlated" => Correlated(600, 2000, 20, seed),
        "madelon" => Madelon.Generate(600, 2000, 100 + seed, probeFactors: 10),
        "regression" => Regression(600, 2000, 20, seed),
        _ => throw new ArgumentException($"unknown table {kind}: shift, correlated, regression or madelon"),
    };

    // Three classes; informative column i (at a random place) is shifted by 0.8 for the rows of class i mod 3.
    private static (Dataset, int[]) Shift(int rows, int columns, int informative, int seed)
    {
        var random = new Random(seed);
        var relevant = Enumerable.Range(0, columns).OrderBy(_ => random.Next()).Take(informative).ToArray();
        var x = new float[rows * columns];
        var labels = new int[rows];
        for (var r = 0; r < rows; r++)
        {
            labels[r] = random.Next(3);
            for (var c = 0; c < columns; c++)
            {
                x[(r * columns) + c] = (float)Tables.Normal(random);
            }

            for (var i = 0; i < informative; i++)
            {
                if (i % 3 == labels[r])
                {
                    x[(r * columns) + relevant[i]] += 0.8f;
                }
            }
        }

        return (Dataset.ForClassification(x, columns, labels, 3), relevant);
    }

    // Two classes. 20 informative columns share one factor and are shifted by 0.5 for class 1; the 1,980 distractors are
    // mixtures of 10 other shared factors (loadings uniform in [-1, 1]) plus their own noise: correlated with each other,
    // and wider (deviation about 2) than the informative columns (about 1.1), so neither variance nor shared structure
    // points at the signal.
    private static (Dataset, int[]) Correlated(int rows, int columns, int informative, int seed)
    {
        var random = new Random(seed);
        var relevant = Enumerable.Range(0, columns).OrderBy(_ => random.Next()).Take(informative).ToArray();
        var isRelevant = new bool[columns];
        foreach (var c in relevant)
        {
            isRelevant[c] = true;
        }

        var loadings = new double[columns, 10];
        for (var c = 0; c < columns; c++)
        {
            for (var f = 0; f < 10; f++)
            {
                loadings[c, f] = (2 * random.NextDouble()) - 1;
            }
        }

        var x = new float[rows * columns];
        var labels = new int[rows];
        for (var r = 0; r < rows; r++)
        {
            labels[r] = random.Next(2);
            var shared = Tables.Normal(random);
            var factors = Enumerable.Range(0, 10).Select(_ => Tables.Normal(random)).ToArray();
            for (var c = 0; c < columns; c++)
            {
                double value;
                if (isRelevant[c])
                {
                    value = Tables.Normal(random) + (0.5 * shared) + (labels[r] == 1 ? 0.5 : 0);
                }
                else
                {
                    value = Tables.Normal(random);
                    for (var f = 0; f < 10; f++)
                    {
                        value += loadings[c, f] * factors[f];
                    }
                }

                x[(r * columns) + c] = (float)value;
            }
        }

        return (Dataset.ForClassification(x, columns, labels, 2), relevant);
    }

    // y = sum of w_i x_i over the informative columns (w uniform in +-[0.5, 1.5]) + x_a x_b + x_c x_d + noise (sd 0.5).
    private static (Dataset, int[]) Regression(int rows, int columns, int informative, int seed)
    {
        var random = new Random(seed);
        var relevant = Enumerable.Range(0, columns).OrderBy(_ => random.Next()).Take(informative).ToArray();
        var weights = relevant.Select(_ => (0.5 + random.NextDouble()) * (random.Next(2) == 0 ? -1 : 1)).ToArray();
        var x = new float[rows * columns];
        var y = new float[rows];
        for (var r = 0; r < rows; r++)
        {
            for (var c = 0; c < columns; c++)
            {
                x[(r * columns) + c] = (float)Tables.Normal(random);
            }

            double target = 0;
            for (var i = 0; i < informative; i++)
            {
                target += weights[i] * x[(r * columns) + relevant[i]];
            }

            target += (x[(r * columns) + relevant[0]] * x[(r * columns) + relevant[1]]) + (x[(r * columns) + relevant[2]] * x[(r * columns) + relevant[3]]);
            y[r] = (float)(target + (0.5 * Tables.Normal(random)));
        }

        return (Dataset.ForRegression(x, columns, y, 1), relevant);
    }

    private static void WriteCsv(string path, Dataset data)
    {
        using var writer = new StreamWriter(path);
        writer.WriteLine(string.Join(",", Enumerable.Range(0, data.FeatureCount).Select(c => $"c{c}").Append(data.IsClassification ? "class" : "y")));
        for (var r = 0; r < data.Count; r++)
        {
            for (var c = 0; c < data.FeatureCount; c++)
            {
                writer.Write(data.Features[(r * data.FeatureCount) + c].ToString("G6", CultureInfo.InvariantCulture));
                writer.Write(',');
            }

            writer.WriteLine(data.IsClassification ? $"k{data.Labels![r]}" : data.Targets![r].ToString("G6", CultureInfo.InvariantCulture));
        }
    }
}
