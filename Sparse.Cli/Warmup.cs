namespace Sparse.Cli;

/// <summary>
/// Compiles the code a run will execute before its first epoch needs it: one short epoch of a small network of the
/// run's kind (activation, dropout, batch size, optimizer, topology method, threads) on random data, with an
/// evaluation. Started on a thread pool thread while the data files are read, it takes the just-in-time compilation
/// (about 200 methods compiled fully optimized, since the tool runs without tiered compilation) out of the first
/// epoch. Nothing it builds is shared with the run; evolver and random streams are its own.
/// </summary>
internal static class Warmup
{
    /// <summary>Starts the warm-up of <paramref name="recipe"/>'s run; a failure only costs time and is passed to <paramref name="note"/>.</summary>
    public static Task Start(TrainingRecipe recipe, Action<string> note) => Task.Run(() =>
    {
        try
        {
            // Small layers: the compiled methods are the same at any width.
            const int Inputs = 64, Classes = 10;
            var batch = Math.Min(recipe.BatchSize, 256);
            var rows = (2 * batch) + 1; // two full batches and a short one
            var random = new SparseRandom(recipe.Seed);
            var features = new float[rows * Inputs];
            for (var k = 0; k < features.Length; k++)
            {
                features[k] = (float)random.NextDouble();
            }

            var data = Dataset.ForClassification(features, Inputs, [.. Enumerable.Range(0, rows).Select(r => r % Classes)], Classes);
            var small = recipe with
            {
                Hidden = [.. recipe.Hidden.Select(h => Math.Min(h, 256))],
                Epsilon = 2,
                Density = null,
                Erk = null,
                Epochs = 2,
                BatchSize = batch,
                EvolveEvery = 0,
                PruneNeurons = false,
            };
            small.CreateTrainer(data).Fit(data, data);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Only time is at stake: the run compiles whatever the warm-up did not.
            note($"warm-up skipped: {e.Message}");
        }
    });
}
