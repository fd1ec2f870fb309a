using System.Text.Json;
using System.Text.Json.Nodes;

namespace Sparse.Bench;

// Timing a figure: warming it, its calls in blocks, and the quantiles that stand for it.
internal static partial class PerfCheck
{
    // The least number of calls of each of two builds that PairedRatio pairs.
    internal const int PairedCalls = 6;

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

        /// <summary>
        /// Times calls for one block: of about <see cref="BlockSeconds"/>, at least one call and none once the figure has
        /// enough; a single call for a figure of a fixed number of calls (no budget of seconds), so the builds' k-th calls
        /// are timed next to each other.
        /// </summary>
        public void Block(Func<double> call)
        {
            var block = Stopwatch.StartNew();
            do
            {
                var seconds = call();
                Seconds.Add(seconds);
                _spent += seconds;
            }
            while (budgetSeconds > 0 && block.Elapsed.TotalSeconds < BlockSeconds && More);
        }

        /// <summary>Adds one call's seconds, timed elsewhere (the sum of its parts, <see cref="TimeInTurns"/>).</summary>
        public void Add(double seconds)
        {
            Seconds.Add(seconds);
            _spent += seconds;
        }
    }

    /// <summary>
    /// Times one figure of several builds (perf-pair) until each has its calls, in turns whose opener rotates from
    /// <paramref name="opener"/>, so none always follows another. When every build splits a call into the same number
    /// of parts (a wide layer's three kernels), each part runs build after build and a call's seconds are the sum of its
    /// parts: the builds' k-th calls then meet the machine within a part's 0.1 s rather than a whole call's 0.3-0.5 s.
    /// Three identical builds on a shared 2-core AMD EPYC (AVX2), 20 calls each, three processes: the paired ratios of
    /// kernel.wide_layer_step's calls spread by 7.7-11.5 % (standard deviation) timed by parts, 11.2-29.8 % by whole
    /// calls in the same processes (docs/performance.md, "The regression gate"). Otherwise each turn is one build's
    /// block of whole calls (<see cref="CallTimes.Block"/>).
    /// </summary>
    internal static void TimeInTurns(IReadOnlyList<Func<double>> calls, IReadOnlyList<Func<double>[]> parts, CallTimes[] times, int opener)
    {
        var builds = calls.Count;
        var count = parts[0].Length;
        if (count > 1 && parts.All(p => p.Length == count))
        {
            var sums = new double[builds];
            for (var turn = opener % builds; times.Any(t => t.More); turn = (turn + 1) % builds)
            {
                Array.Clear(sums);
                for (var p = 0; p < count; p++)
                {
                    for (var k = 0; k < builds; k++)
                    {
                        var b = (turn + k) % builds;
                        sums[b] += parts[b][p]();
                    }
                }

                for (var b = 0; b < builds; b++)
                {
                    times[b].Add(sums[b]);
                }
            }

            return;
        }

        for (var turn = opener % builds; times.Any(t => t.More); turn = (turn + 1) % builds)
        {
            times[turn].Block(calls[turn]);
        }
    }

    /// <summary>
    /// Runs a figure's call until compilation has settled: short calls for three samples of up to 0.1 s (one of 0.05 s
    /// when every method is compiled once, fully optimized, at its first call: nothing is left to settle but caches and
    /// buffers), long calls (budget 0) once, which compiles them and touches their memory; a figure whose call is a
    /// child process (a negative budget) not at all.
    /// </summary>
    internal static void Warm(Action call, double budgetSeconds)
    {
        if (budgetSeconds < 0)
        {
            return;
        }

        if (budgetSeconds > 0)
        {
            Repeat(call, CompiledOnce ? 1 : 3, Math.Min(budgetSeconds / 4, CompiledOnce ? 0.05 : 0.1));
        }
        else
        {
            call();
        }
    }

    // Whether this process runs without tiered compilation (perf-compare starts its rounds so).
    private static bool CompiledOnce => Environment.GetEnvironmentVariable("DOTNET_TieredCompilation") == "0";

    /// <summary>
    /// The candidate's seconds over a reference's from their calls paired by index: the median over k of the ratio of
    /// their k-th calls, or null when either has fewer than <see cref="PairedCalls"/>. The k-th calls run within one
    /// rotation of the blocks, so a change of machine speed between blocks cancels out, and an evolution step's k-th
    /// call starts from the same topology in both builds (its time follows that topology, not only the code). Over
    /// eight rounds of three identical builds in one process (2-core AVX-512 Xeon), the round ratios' standard
    /// deviation was 0.8 % paired against 3.6 % from the 10th percentiles for w1.set_step, 1.5 % against 4.2 % for
    /// kernel.forward, 1.8 % against 10.8 % for the example user figure's evolution step; a figure of a few long calls
    /// (w1.epoch, 6) pairs no better than it takes its 10th percentile.
    /// </summary>
    internal static double? PairedRatio(IReadOnlyList<double> candidate, IReadOnlyList<double> reference)
    {
        var count = Math.Min(candidate.Count, reference.Count);
        if (count < PairedCalls)
        {
            return null;
        }

        var ratios = new double[count];
        for (var k = 0; k < count; k++)
        {
            ratios[k] = candidate[k] / reference[k];
        }

        return Median(ratios);
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
