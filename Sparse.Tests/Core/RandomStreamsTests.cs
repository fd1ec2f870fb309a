using Sparse.Core;

namespace Sparse.Tests.Core;

/// <summary>The one derivation of a run's random streams (docs/reproducibility.md).</summary>
[TestFixture]
public class RandomStreamsTests
{
    // The formula docs/reproducibility.md writes down, evaluated outside .NET (Python's integers, masked to 64 bits).
    [TestCase(1UL, RandomPurpose.Split, 0UL, 0x9b21d47f99269247UL)]
    [TestCase(1UL, RandomPurpose.Initialization, 3UL, 0xfafd5ab11b83f4d7UL)]
    [TestCase(42UL, RandomPurpose.Shuffle, 7UL, 0x8147c7050bcbe675UL)]
    public void Streams_follow_the_documented_formula(ulong seed, RandomPurpose purpose, ulong index, ulong expected) =>
        Assert.That(RandomStreams.Derive(seed, purpose, index), Is.EqualTo(expected));

    [Test]
    public void Streams_of_neighbouring_seeds_purposes_and_indices_are_distinct_and_unrelated()
    {
        var seen = new HashSet<ulong>();
        var firstDraws = new List<(double A, double B)>();
        foreach (var purpose in Enum.GetValues<RandomPurpose>())
        {
            for (var seed = 0UL; seed < 20; seed++)
            {
                for (var index = 0UL; index < 200; index++)
                {
                    Assert.That(seen.Add(RandomStreams.Derive(seed, purpose, index)), $"{purpose} {seed} {index} repeats a stream");

                    // What offsets made alike before: seed s's layer n + 1 against seed s + 1's layer n.
                    var a = new SparseRandom(RandomStreams.Derive(seed, purpose, index + 1)).NextDouble();
                    var b = new SparseRandom(RandomStreams.Derive(seed + 1, purpose, index)).NextDouble();
                    firstDraws.Add((a, b));
                }
            }
        }

        var (meanA, meanB) = (firstDraws.Average(d => d.A), firstDraws.Average(d => d.B));
        var covariance = firstDraws.Average(d => (d.A - meanA) * (d.B - meanB));
        var correlation = covariance / Math.Sqrt(firstDraws.Average(d => Math.Pow(d.A - meanA, 2)) * firstDraws.Average(d => Math.Pow(d.B - meanB, 2)));
        TestContext.Out.WriteLine($"{firstDraws.Count} pairs of first draws: correlation {correlation:F4}");
        Assert.That(Math.Abs(correlation), Is.LessThan(0.03), "28,000 pairs: 5 standard errors");
        Assert.That(firstDraws.Count(d => d.A == d.B), Is.Zero);
    }
}
