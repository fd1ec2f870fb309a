namespace Sparse.Core;

/// <summary>How the values of new stored entries are drawn.</summary>
public readonly record struct ValueDistribution
{
    private ValueDistribution(ValueDistributionKind kind, float scale)
    {
        Kind = kind;
        Scale = scale;
    }

    /// <summary>The family of the distribution.</summary>
    public ValueDistributionKind Kind { get; }

    /// <summary>Standard deviation (normal), half-width (uniform) or the value itself (constant).</summary>
    public float Scale { get; }

    /// <summary>Normal with mean 0 and standard deviation <paramref name="standardDeviation"/>.</summary>
    public static ValueDistribution Normal(float standardDeviation) => new(ValueDistributionKind.Normal, standardDeviation);

    /// <summary>Uniform on <c>[-limit, limit)</c>.</summary>
    public static ValueDistribution Uniform(float limit) => new(ValueDistributionKind.Uniform, limit);

    /// <summary>Every value equal to <paramref name="value"/>.</summary>
    public static ValueDistribution Constant(float value) => new(ValueDistributionKind.Constant, value);

    /// <summary>
    /// Fills <paramref name="destination"/> with independent draws; a normal distribution draws by the ziggurat
    /// method (<see cref="SparseRandom.NextNormal"/>), several times faster than <see cref="Sample"/>. The same
    /// generator state gives other values here than through <see cref="Sample"/>: the two consume its bits differently.
    /// </summary>
    // Fully optimised from the first call: it runs once per evolution step, too rarely for tiered compilation.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public void Fill(Span<float> destination, ref SparseRandom random)
    {
        if (Kind != ValueDistributionKind.Normal)
        {
            for (var n = 0; n < destination.Length; n++)
            {
                destination[n] = Sample(ref random);
            }

            return;
        }

        for (var n = 0; n < destination.Length; n++)
        {
            destination[n] = (float)(random.NextNormal() * Scale);
        }
    }

    /// <summary>Draws one value.</summary>
    public float Sample(ref SparseRandom random) => Kind switch
    {
        ValueDistributionKind.Normal => (float)(random.NextGaussian() * Scale),
        ValueDistributionKind.Uniform => (float)((random.NextDouble() * 2.0 - 1.0) * Scale),
        _ => Scale,
    };
}

/// <summary>The families a <see cref="ValueDistribution"/> can be.</summary>
public enum ValueDistributionKind
{
    /// <summary>Every value is <see cref="ValueDistribution.Scale"/>.</summary>
    Constant,

    /// <summary>Normal with mean 0.</summary>
    Normal,

    /// <summary>Uniform on a symmetric interval.</summary>
    Uniform,
}
