using Sparse.Core;

namespace Sparse.Training;

/// <summary>How input features are rescaled before the first layer.</summary>
public enum NormalizationKind
{
    /// <summary>Features pass unchanged.</summary>
    None,

    /// <summary>Zero mean and unit variance per feature (constant features are only centred).</summary>
    Standardize,

    /// <summary>Each feature mapped to [0, 1] by its minimum and maximum (constant features to 0).</summary>
    MinMax,

    /// <summary>
    /// Each feature divided by its largest absolute value, into [-1, 1] (features that are always 0 unchanged): the
    /// one fit here that keeps a zero zero, so sparse inputs stay sparse.
    /// </summary>
    MaxAbs,
}

/// <summary>
/// A per-feature affine map <c>x' = (x - Offset[f]) * Scale[f]</c>, fitted on the training split only and
/// stored with the model so predictions see inputs scaled the same way.
/// </summary>
public sealed class InputNormalization
{
    /// <summary>Creates the map from its arrays (one entry per feature).</summary>
    public InputNormalization(NormalizationKind kind, float[] offset, float[] scale)
    {
        if (offset.Length != scale.Length)
        {
            throw new ArgumentException("Offset and scale must have one entry per feature.", nameof(scale));
        }

        Kind = kind;
        Offset = offset;
        Scale = scale;
    }

    /// <summary>Which fit produced the map.</summary>
    public NormalizationKind Kind { get; }

    /// <summary>Subtracted from each feature.</summary>
    public float[] Offset { get; }

    /// <summary>Multiplies each feature after the offset.</summary>
    public float[] Scale { get; }

    /// <summary>Features the map expects.</summary>
    public int FeatureCount => Offset.Length;

    /// <summary>Fits the map of <paramref name="kind"/> on <paramref name="training"/>.</summary>
    public static InputNormalization Fit(Dataset training, NormalizationKind kind)
    {
        var features = training.FeatureCount;
        var offset = new float[features];
        var scale = new float[features];
        scale.AsSpan().Fill(1f);
        if (kind == NormalizationKind.None || training.Count == 0)
        {
            return new InputNormalization(kind, offset, scale);
        }

        if (training.SparseFeatures is { } rows)
        {
            if (kind != NormalizationKind.MaxAbs)
            {
                throw new ArgumentException($"{kind} moves a zero away from zero, so every sparse input would become dense (all {features:N0} features in every row); " +
                    "scale sparse inputs by their largest absolute value (MaxAbs) or not at all.", nameof(kind));
            }

            var largest = new float[features];
            var columns = rows.ColumnIndices;
            var values = rows.Values;
            for (long k = 0; k < rows.NonZeroCount; k++)
            {
                largest[columns[k]] = Math.Max(largest[columns[k]], Math.Abs(values[k]));
            }

            for (var f = 0; f < features; f++)
            {
                scale[f] = largest[f] > 0 ? 1 / largest[f] : 1f;
            }

            return new InputNormalization(kind, offset, scale);
        }

        for (var f = 0; f < features; f++)
        {
            double sum = 0, sumSquares = 0, min = double.PositiveInfinity, max = double.NegativeInfinity;
            for (var n = 0; n < training.Count; n++)
            {
                double x = training.Features[(n * features) + f];
                sum += x;
                sumSquares += x * x;
                min = Math.Min(min, x);
                max = Math.Max(max, x);
            }

            if (kind == NormalizationKind.MaxAbs)
            {
                var largest = Math.Max(Math.Abs(min), Math.Abs(max));
                scale[f] = largest > 0 ? (float)(1 / largest) : 1f;
            }
            else if (kind == NormalizationKind.Standardize)
            {
                var mean = sum / training.Count;
                var std = Math.Sqrt(Math.Max(0, (sumSquares / training.Count) - (mean * mean)));
                offset[f] = (float)mean;
                scale[f] = std > 1e-12 ? (float)(1 / std) : 1f;
            }
            else
            {
                offset[f] = (float)min;
                scale[f] = max > min ? (float)(1 / (max - min)) : 1f;
            }
        }

        return new InputNormalization(kind, offset, scale);
    }

    /// <summary>Applies the map to one sample's features in place, at the SIMD level of <paramref name="options"/> (<see cref="ComputeOptions.Default"/> when null).</summary>
    public void Apply(Span<float> sample, ComputeOptions? options = null)
    {
        options ??= ComputeOptions.Default;
        DenseOps.Subtract(sample, Offset, sample, options);
        DenseOps.Multiply(sample, Scale, sample, options);
    }

    /// <summary>The same map on a feature-major batch, shape (features, <paramref name="batch"/>), one feature row at a time.</summary>
    internal void ApplyFeatureMajor(Span<float> features, int batch, ComputeOptions options)
    {
        for (var f = 0; f < Offset.Length; f++)
        {
            var row = features.Slice(f * batch, batch);
            DenseOps.Subtract(row, Offset[f], row, options);
            DenseOps.Multiply(row, Scale[f], row, options);
        }
    }
}
