using System.Text.Json.Nodes;

namespace Sparse.Bench;

/// <summary>
/// <c>perf-compare</c>: the regression gate against another build, measured in the same job. Each round is one
/// <c>perf-pair</c> process that loads both builds and times their calls in alternating blocks, so both see the same
/// machine within a tenth of a second (a base build without that mode is timed in alternating <c>perf-check</c>
/// processes instead). Per figure and round, the candidate's seconds over the base's; the change is the median over
/// rounds, with a one-sided 95 % bootstrap bound. A figure is flagged when the change is beyond the threshold and the
/// bound is above zero, and fails only when a second series of rounds of that figure alone flags it again.
/// </summary>
internal static class PerfCompare
{
    private const int Resamples = 4000;

    // Rounds of the second series that a flagged figure must fail again.
    private const int ConfirmationRounds = 8;

    // Whether rounds run both builds in one process (perf-pair); off for good once a build turns out to predate it.
    private static bool _paired = true;

    public static int Run(string[] args)
    {
        string? baseDll = null, candidateDll = null, filter = null, inject = null;
        var rounds = 5;
        var threshold = 0.05;
        for (var n = 0; n < args.Length; n++)
        {
            switch (args[n])
            {
                case "--base":
                    baseDll = args[++n];
                    break;
                case "--candidate":
                    candidateDll = args[++n];
                    break;
                case "--rounds":
                    rounds = int.Parse(args[++n], CultureInfo.InvariantCulture);
                    break;
                case "--threshold":
                    threshold = double.Parse(args[++n], CultureInfo.InvariantCulture);
                    break;
                case "--filter":
                    filter = args[++n];
                    break;
                case "--separate-processes":
                    _paired = false;
                    break;
                case "--inject-slowdown":
                    inject = args[++n];
                    break;
                default:
                    Console.Error.WriteLine($"perf-compare: unknown option '{args[n]}'. Options: --base DLL --candidate DLL [--rounds 5] [--threshold 0.05] [--filter TEXT] [--inject-slowdown FIGURE:FRACTION] [--separate-processes]");
                    return 2;
            }
        }

        if (baseDll is null || candidateDll is null || rounds < 2)
        {
            Console.Error.WriteLine("perf-compare: give --base and --candidate (Sparse.Bench.dll of each build) and at least 2 --rounds.");
            return 2;
        }

        var samples = Sample(baseDll, candidateDll, rounds, filter, inject);
        Console.WriteLine(_paired
            ? $"{rounds} rounds, each one process timing both builds in alternating blocks of calls; per round, the candidate's seconds over the base's (the 10th percentile of each build's calls);"
            : $"{rounds} alternating rounds; per round, the candidate's seconds over the base's (the 10th percentile of each process's timed calls; the two processes ran back to back);");
        Console.WriteLine($"change: the median over rounds; lower: its one-sided 95 % bootstrap bound; rounds: the lowest and highest round. A figure is slower when change > {threshold:P0} and lower > 0 %;");
        Console.WriteLine($"it fails when a second series of {Math.Max(rounds, ConfirmationRounds)} rounds of that figure alone says so again.");
        var flagged = Judge(samples, rounds, threshold, "");

        // Noise between processes has heavier tails than the bootstrap assumes, so one series can flag an unchanged
        // figure; a real slowdown is flagged again by a second, independent series.
        var failed = new List<string>();
        foreach (var name in flagged)
        {
            var again = Sample(baseDll, candidateDll, Math.Max(rounds, ConfirmationRounds), name, inject)
                .Where(s => s.Key == name).ToDictionary(s => s.Key, s => s.Value, StringComparer.Ordinal);
            if (Judge(again, Math.Max(rounds, ConfirmationRounds), threshold, "confirmation: ").Count > 0)
            {
                failed.Add(name);
            }
        }

        if (failed.Count > 0)
        {
            Console.Error.WriteLine($"perf-compare: slower than the base build by more than {threshold:P0} in two series: {string.Join(", ", failed)}.");
            return 1;
        }

        return 0;
    }

    // Per figure, the base's and the candidate's values, one per process, in alternating rounds.
    private static Dictionary<string, (List<double> Base, List<double> Candidate)> Sample(string baseDll, string candidateDll, int rounds, string? filter, string? inject)
    {
        var samples = new Dictionary<string, (List<double> Base, List<double> Candidate)>(StringComparer.Ordinal);
        (List<double> Base, List<double> Candidate) Lists(string name) =>
            samples.TryGetValue(name, out var lists) ? lists : samples[name] = ([], []);
        var directory = Directory.CreateTempSubdirectory("perf-compare-").FullName;
        try
        {
            for (var round = 0; round < rounds; round++)
            {
                if (_paired && MeasurePair(baseDll, candidateDll, round, Path.Combine(directory, $"{round}-pair.json"), filter, inject) is { } pairs)
                {
                    foreach (var (name, b, c) in pairs)
                    {
                        Lists(name).Base.Add(b);
                        Lists(name).Candidate.Add(c);
                    }

                    Console.Error.WriteLine($"perf-compare: {(filter is null ? string.Empty : filter + ": ")}round {round + 1}/{rounds} done (paired in one process)");
                    continue;
                }

                // Alternate which build goes first, so neither always runs on the warmer (or colder) machine.
                var order = round % 2 == 0 ? new[] { false, true } : [true, false];
                foreach (var candidate in order)
                {
                    var figures = Measure(candidate ? candidateDll : baseDll, Path.Combine(directory, $"{round}-{(candidate ? "candidate" : "base")}.json"), filter, candidate ? inject : null);
                    foreach (var (name, seconds) in figures)
                    {
                        (candidate ? Lists(name).Candidate : Lists(name).Base).Add(seconds);
                    }
                }

                Console.Error.WriteLine($"perf-compare: {(filter is null ? string.Empty : filter + ": ")}round {round + 1}/{rounds} done");
            }
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }

        return samples;
    }

    // Prints a row per figure and returns the figures whose slowdown is beyond the threshold with a bound above zero.
    private static List<string> Judge(Dictionary<string, (List<double> Base, List<double> Candidate)> samples, int rounds, double threshold, string prefix)
    {
        Console.WriteLine($"{prefix}{"figure",-28} {"base",9} {"candidate",9} {"change",8} {"lower",8} {"rounds",15}  status");
        var slower = new List<string>();
        var random = new Random(20261201);
        foreach (var (name, (baseSamples, candidateSamples)) in samples.OrderBy(s => s.Key, StringComparer.Ordinal))
        {
            if (baseSamples.Count != rounds || candidateSamples.Count != rounds)
            {
                Console.WriteLine($"{prefix}{name,-28} {"-",9} {"-",9} {"-",8} {"-",8} {"-",15}  only in the {(baseSamples.Count == 0 ? "candidate" : "base")}");
                continue;
            }

            // Paired by round: a change of machine speed between rounds (another tenant, the clock) cancels out.
            var ratios = baseSamples.Zip(candidateSamples, (b, c) => c / b).ToArray();
            var change = PerfCheck.Median(ratios) - 1;
            var lower = LowerBound(ratios, random) - 1;
            var isSlower = change > threshold && lower > 0;
            if (isSlower)
            {
                slower.Add(name);
            }

            Console.WriteLine($"{prefix}{name,-28} {Duration(PerfCheck.Median([.. baseSamples])),9} {Duration(PerfCheck.Median([.. candidateSamples])),9} {Percent(change),8} {Percent(lower),8} {Percent(ratios.Min() - 1) + ".." + Percent(ratios.Max() - 1),15}  {(isSlower ? "SLOWER" : "ok")}");
        }

        return slower;
    }

    // The 5th percentile of the median ratio over bootstrap resamples of the rounds.
    private static double LowerBound(double[] ratios, Random random)
    {
        var medians = new double[Resamples];
        var resample = new double[ratios.Length];
        for (var r = 0; r < Resamples; r++)
        {
            for (var k = 0; k < resample.Length; k++)
            {
                resample[k] = ratios[random.Next(ratios.Length)];
            }

            medians[r] = PerfCheck.Median(resample);
        }

        return PerfCheck.Quantile(medians, 0.05);
    }

    private static string Duration(double seconds) => seconds switch
    {
        < 1e-3 => (seconds * 1e6).ToString("F1", CultureInfo.InvariantCulture) + " us",
        < 1 => (seconds * 1e3).ToString("F2", CultureInfo.InvariantCulture) + " ms",
        _ => seconds.ToString("F3", CultureInfo.InvariantCulture) + " s",
    };

    private static string Percent(double value) => (value >= 0 ? "+" : string.Empty) + (value * 100).ToString("F1", CultureInfo.InvariantCulture) + "%";

    // One perf-pair process: both builds' figures, timed in alternating blocks of calls; null when a build predates
    // the paired mode (after which every round times whole processes).
    private static List<(string Name, double Base, double Candidate)>? MeasurePair(string baseDll, string candidateDll, int round, string output, string? filter, string? inject)
    {
        var arguments = new List<string> { candidateDll, "perf-pair", "--base", baseDll, "--candidate", candidateDll, "--round", round.ToString(CultureInfo.InvariantCulture), "--output", output };
        if (filter is not null)
        {
            arguments.AddRange(["--filter", filter]);
        }

        if (inject is not null)
        {
            arguments.AddRange(["--inject-slowdown", inject]);
        }

        var (exitCode, text) = DotnetProcess.Run(arguments);
        if (exitCode == PerfPair.NoPairedMode)
        {
            Console.Error.WriteLine("perf-compare: the base build has no paired mode; each round times the two builds in processes of their own.");
            _paired = false;
            return null;
        }

        if (exitCode != 0 || !File.Exists(output))
        {
            throw new InvalidOperationException($"perf-pair failed (exit {exitCode}): {text}");
        }

        var figures = JsonNode.Parse(File.ReadAllText(output))!["figures"]!.AsObject();
        return [.. figures.Select(f => (f.Key, f.Value!["base"]!.GetValue<double>(), f.Value!["candidate"]!.GetValue<double>()))];
    }

    // One perf-check process of one build; its figures' seconds. The threshold is set out of
    // reach: here a build is compared with the other build, not with its own committed baseline.
    private static List<(string Name, double Seconds)> Measure(string dll, string output, string? filter, string? inject)
    {
        var arguments = new List<string> { dll, "perf-check", "--threshold", "1000", "--output", output };
        if (filter is not null)
        {
            arguments.AddRange(["--filter", filter]);
        }

        var (exitCode, text) = DotnetProcess.Run(arguments, inject is null ? null : new Dictionary<string, string?> { [PerfCheck.SlowdownVariable] = inject });
        if (exitCode != 0 || !File.Exists(output))
        {
            throw new InvalidOperationException($"{dll} perf-check failed (exit {exitCode}): {text}");
        }

        var figures = JsonNode.Parse(File.ReadAllText(output))!["figures"]!.AsObject();
        return [.. figures.Select(f => (f.Key, f.Value!["seconds"]!.GetValue<double>()))];
    }
}
