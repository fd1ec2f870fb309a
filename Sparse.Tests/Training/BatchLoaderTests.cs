using Sparse.Training;

namespace Sparse.Tests.Training;

[TestFixture]
public class BatchLoaderTests
{
    // Feature counts and batch sizes on and off the 8 x 8 transpose blocks, a short last batch, and batches
    // large enough (200 x 100) for the gather to be split between threads.
    [Test]
    public void Batches_hold_every_sample_once_feature_major_and_normalised(
        [Values(1, 7, 8, 13, 64, 200)] int featureCount,
        [Values(1, 8, 13, 16, 100)] int batchSize,
        [Values] bool normalise)
    {
        const int samples = 245;
        var random = new Random(featureCount * 100 + batchSize);
        var features = new float[samples * featureCount];
        for (var k = 0; k < features.Length; k++)
        {
            features[k] = (float)(random.NextDouble() * 10) - 3;
        }

        var labels = Enumerable.Range(0, samples).ToArray();
        var data = Dataset.ForClassification(features, featureCount, labels, samples);
        var normalization = normalise ? InputNormalization.Fit(data, NormalizationKind.Standardize) : null;
        var loader = new BatchLoader(data, batchSize, normalization, shuffle: true, seed: 4);
        var seen = new List<int>();
        while (loader.Next())
        {
            var batch = loader.Batch;
            for (var b = 0; b < batch.Size; b++)
            {
                var sample = batch.Labels[b];
                seen.Add(sample);
                var expected = features.AsSpan(sample * featureCount, featureCount).ToArray();
                normalization?.Apply(expected);
                for (var f = 0; f < featureCount; f++)
                {
                    if (batch.Features[(f * batch.Size) + b] != expected[f])
                    {
                        Assert.Fail($"sample {sample} feature {f}: {batch.Features[(f * batch.Size) + b]}, expected {expected[f]}");
                    }
                }
            }
        }

        Assert.That(seen, Is.EquivalentTo(labels), "each sample once per epoch");
        Assert.That(seen, Is.Not.EqualTo(labels), "shuffled");
    }

    [Test]
    public void Regression_targets_follow_their_samples()
    {
        const int samples = 21, featureCount = 9;
        var features = Enumerable.Range(0, samples * featureCount).Select(k => (float)k).ToArray();
        var targets = Enumerable.Range(0, samples * 2).Select(k => (float)-k).ToArray();
        var loader = new BatchLoader(Dataset.ForRegression(features, featureCount, targets, 2), 10, null, shuffle: true, seed: 2);
        while (loader.Next())
        {
            var batch = loader.Batch;
            for (var b = 0; b < batch.Size; b++)
            {
                var sample = (int)batch.Features[b] / featureCount; // feature 0 of sample s is s * featureCount
                Assert.That(batch.Targets[b], Is.EqualTo(-2f * sample));
                Assert.That(batch.Targets[batch.Size + b], Is.EqualTo((-2f * sample) - 1));
            }
        }
    }
}
