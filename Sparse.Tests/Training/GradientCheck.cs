using Sparse.Training;

namespace Sparse.Tests.Training;

/// <summary>
/// Central-difference gradient checks. The kernels are single precision, so the differences use a step
/// of 1e-2 on a smooth projection of the output and accumulate the objective in double; the tolerance
/// is relative to the gradient's scale.
/// </summary>
internal static class GradientCheck
{
    public const double Step = 1e-2;

    /// <summary>sum(output * projection), accumulated in double.</summary>
    public static double Project(ReadOnlySpan<float> output, float[] projection)
    {
        double sum = 0;
        for (var k = 0; k < output.Length; k++)
        {
            sum += (double)output[k] * projection[k];
        }

        return sum;
    }

    /// <summary>Checks analytic against numeric derivatives of <paramref name="objective"/> for every entry of <paramref name="values"/>.</summary>
    public static void Check(float[] values, ReadOnlySpan<float> analytic, Func<double> objective, string what, double tolerance = 2e-2)
    {
        var expected = new double[values.Length];
        for (var k = 0; k < values.Length; k++)
        {
            var saved = values[k];
            values[k] = (float)(saved + Step);
            var plus = objective();
            values[k] = (float)(saved - Step);
            var minus = objective();
            values[k] = saved;
            expected[k] = (plus - minus) / (2 * Step);
        }

        var scale = Math.Max(1e-3, expected.Max(Math.Abs));
        for (var k = 0; k < values.Length; k++)
        {
            Assert.That(analytic[k], Is.EqualTo(expected[k]).Within(tolerance * scale), $"{what}: entry {k}");
        }
    }

    public static float[] Random(int length, int seed, float low = -1, float high = 1)
    {
        var random = new Random(seed);
        var a = new float[length];
        for (var k = 0; k < a.Length; k++)
        {
            a[k] = (float)(low + ((high - low) * random.NextDouble()));
        }

        return a;
    }
}
