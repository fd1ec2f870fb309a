using System.Text.Json;
using System.Text.Json.Nodes;

namespace Sparse.Bench;

// Timing a figure: warming it, its calls in blocks, and the quantiles that stand for it.
internal static partial class PerfCheck
{
    /// <summary>
    /// A figure's timed calls: how many it still needs (<see cref="More"/>), blocks of them, and their 10th percentile.
    /// </summary>
    internal sealed class CallTimes(int calls, double budgetSeconds)
    {
        private double _spent;

        public List<double> Seconds { get; } = [];

        /// <summary>Whether the figure still lacks its least number of calls or its budget of seconds.</summary>
        public bool More => Seconds.Count < calls || _spent < budgetSeconds;

        /// <summary>The figure's value: the 10th percentile of its calls.</summary>
        public double Fast => Quantile([.. Seconds], FastQuantile);

        /// <summary>Times calls for one block of about <see cref="BlockSeconds"/>: at least one call, and none once the figure has enough.</summary>
        public void Block(Func<double> call)
        {
            var block = Stopwatch.StartNew();
            do
            {
                var seconds = call();
                Seconds.Add(seconds);
                _spent += seconds;
            }
            while (block.Elapsed.TotalSeconds < BlockSeconds && More);
        }
    }

    /// <summary>
    /// Runs a figure's call until compilation has settled: short calls for three samples of up to 0.1 s, long calls
    /// (budget 0) once, which compiles them (their loops run optimized from the first call on) and touches their memory;
    /// a figure whose call is a child process (a negative budget) not at all.
    /// </summary>
    internal static void Warm(Action call, double budgetSeconds)
    {
        if (budgetSeconds < 0)
        {
            return;
        }

        if (budgetSeconds > 0)
        {
            Repeat(call, 3, Math.Min(budgetSeconds / 4, 0.1));
        }
        else
        {
            call();
        }
    }

    internal static double TimeCall(Action call)
    {
        var start = Stopwatch.GetTimestamp();
        call();
        return Stopwatch.GetElapsedTime(start).TotalSeconds;
    }

    /// <summary>Warms <paramref name="call"/>: one call, then <paramref name="repeats"/> runs of calls, each at least <paramref name="minimumSeconds"/> long.</summary>
    private static void Repeat(Action call, int repeats, double minimumSeconds)
    {
        call();
        for (var r = 0; r < repeats; r++)
        {
            var watch = Stopwatch.StartNew();
            do
            {
                call();
            }
            while (watch.Elapsed.TotalSeconds < minimumSeconds);
        }
    }

    internal static double Quantile(double[] samples, double q)
    {
        var sorted = samples.Order().ToArray();
        var position = q * (sorted.Length - 1);
        var low = (int)Math.Floor(position);
        var high = Math.Min(sorted.Length - 1, low + 1);
        return sorted[low] + ((position - low) * (sorted[high] - sorted[low]));
    }

    internal static double Median(double[] samples)
    {
        var sorted = samples.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
