namespace Sparse.Bench;

/// <summary>
/// A table generated as Guyon generated MADELON (NIPS 2003 feature selection challenge; scikit-learn's
/// <c>make_classification</c> follows the same recipe): two classes made of 2 x <see cref="ClustersPerClass"/> Gaussian
/// clusters, one on each vertex of a hypercube in <see cref="Informative"/> dimensions with sides of length 2, each
/// cluster's points mixed by its own random matrix; <see cref="Redundant"/> random linear combinations of the
/// informative columns; the rest pure noise ("probes"); 1 % of the labels flipped; rows and columns shuffled. The
/// class is a parity-like function of the informative columns, so a model that weighs every column alike sees mostly
/// noise: the setting of CTRE's reference script (<c>run.sbatch</c>: madelon, epsilon 1, 1,000-neuron layers).
/// </summary>
internal static class Madelon
{
    public const int Informative = 5;
    public const int Redundant = 15;
    public const int ClustersPerClass = 16;

    /// <summary>
    /// <paramref name="rows"/> rows of <paramref name="features"/> columns, seeded; also the positions of the 20
    /// informative and redundant columns after the column shuffle.
    /// </summary>
    /// <param name="rows">Rows.</param>
    /// <param name="features">Columns, at least 20.</param>
    /// <param name="seed">Seeds everything.</param>
    /// <param name="probeFactors">0: the distractors are independent noise (MADELON); otherwise each is a random mixture
    /// of this many shared noise factors plus its own noise, so the distractors correlate with each other.</param>
    public static (Dataset Data, int[] Relevant) Generate(int rows, int features, int seed, int probeFactors = 0)
    {
        var random = new Random(seed);
        double Normal() => Tables.Normal(random);
        const int clusters = 2 * ClustersPerClass;
        var x = new double[rows, features];
        var y = new int[rows];

        // Every vertex of the 5-cube is a cluster centre (32 vertices, 32 clusters), in a random order.
        var vertices = Enumerable.Range(0, 1 << Informative).OrderBy(_ => random.Next()).Take(clusters).ToArray();
        var row = 0;
        for (var k = 0; k < clusters; k++)
        {
            var count = (rows / clusters) + (k < rows % clusters ? 1 : 0);
            var mix = new double[Informative, Informative];
            for (var a = 0; a < Informative; a++)
            {
                for (var b = 0; b < Informative; b++)
                {
                    mix[a, b] = (2 * random.NextDouble()) - 1;
                }
            }

            for (var n = 0; n < count; n++, row++)
            {
                var z = Enumerable.Range(0, Informative).Select(_ => Normal()).ToArray();
                for (var b = 0; b < Informative; b++)
                {
                    var sum = 0.0;
                    for (var a = 0; a < Informative; a++)
                    {
                        sum += z[a] * mix[a, b];
                    }

                    x[row, b] = sum + (((vertices[k] >> b) & 1) == 1 ? 1 : -1);
                }

                y[row] = k % 2;
            }
        }

        var combine = new double[Informative, Redundant];
        for (var a = 0; a < Informative; a++)
        {
            for (var b = 0; b < Redundant; b++)
            {
                combine[a, b] = (2 * random.NextDouble()) - 1;
            }
        }

        // Each distractor's loadings on the shared noise factors, uniform in [-1, 1].
        var loadings = probeFactors > 0 ? new double[features, probeFactors] : null;
        for (var c = Informative + Redundant; c < features && loadings is not null; c++)
        {
            for (var f = 0; f < probeFactors; f++)
            {
                loadings[c, f] = (2 * random.NextDouble()) - 1;
            }
        }

        for (var r = 0; r < rows; r++)
        {
            for (var b = 0; b < Redundant; b++)
            {
                var sum = 0.0;
                for (var a = 0; a < Informative; a++)
                {
                    sum += x[r, a] * combine[a, b];
                }

                x[r, Informative + b] = sum;
            }

            var factors = Enumerable.Range(0, probeFactors).Select(_ => Normal()).ToArray();
            for (var c = Informative + Redundant; c < features; c++)
            {
                x[r, c] = Normal();
                for (var f = 0; f < probeFactors; f++)
                {
                    x[r, c] += loadings![c, f] * factors[f];
                }
            }

            if (random.NextDouble() < 0.01)
            {
                y[r] = random.Next(2);
            }
        }

        var columnOrder = Enumerable.Range(0, features).OrderBy(_ => random.Next()).ToArray(); // new column c is old columnOrder[c]
        var rowOrder = Enumerable.Range(0, rows).OrderBy(_ => random.Next()).ToArray();
        var values = new float[rows * features];
        var labels = new int[rows];
        for (var r = 0; r < rows; r++)
        {
            labels[r] = y[rowOrder[r]];
            for (var c = 0; c < features; c++)
            {
                values[(r * features) + c] = (float)x[rowOrder[r], columnOrder[c]];
            }
        }

        var relevant = Enumerable.Range(0, features).Where(c => columnOrder[c] < Informative + Redundant).ToArray();
        return (Dataset.ForClassification(values, features, labels, 2), relevant);
    }
}
