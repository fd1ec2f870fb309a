namespace Sparse.Core;

/// <summary>What a stream of random numbers in a run is for; with an index, it names one stream of a run's seed.</summary>
public enum RandomPurpose
{
    /// <summary>The rows held out for validation.</summary>
    Split = 1,

    /// <summary>A sparse layer's initial connections and weights; the index is the layer's position.</summary>
    Initialization = 2,

    /// <summary>A dropout layer's masks; the index is the layer's position, then the call.</summary>
    Dropout = 3,

    /// <summary>The order of the training rows; the index is the epoch.</summary>
    Shuffle = 4,

    /// <summary>Topology evolution's random choices (SET's new positions and weights, CTRE's random growth).</summary>
    Regrowth = 5,

    /// <summary>The subset of training rows an evolution step scores on; the index is the training step.</summary>
    Sample = 6,

    /// <summary>Noise added to inputs (QuickSelection's denoising autoencoder).</summary>
    Noise = 7,
}

/// <summary>
/// The one derivation of a run's random streams from its seed: stream (purpose, index) starts from
/// <c>Mix(Mix(Mix(seed) ^ purpose x K1) ^ (index + 1) x K2)</c>, where <c>Mix</c> is SplitMix64's finalizer (a bijection
/// of 64-bit words that spreads every input bit over every output bit) and K1, K2 are odd constants. So the validation
/// split, each layer's initialization, each epoch's shuffle and evolution's choices are unrelated streams of one seed,
/// none the shifted copy of another, and each is fixed by the seed alone: the same on every machine, for any
/// thread count. docs/reproducibility.md lists who draws from which.
/// </summary>
public static class RandomStreams
{
    private const ulong PurposeKey = 0x9E3779B97F4A7C15UL;
    private const ulong IndexKey = 0xD6E8FEB86659FD93UL;

    /// <summary>The seed of stream <paramref name="purpose"/>, number <paramref name="index"/>, of a run seeded with <paramref name="seed"/>.</summary>
    public static ulong Derive(ulong seed, RandomPurpose purpose, ulong index = 0) =>
        Mix(Mix(Mix(seed) ^ ((ulong)purpose * PurposeKey)) ^ ((index + 1) * IndexKey));

    // SplitMix64's output function (Steele, Lea and Flood, 2014).
    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
