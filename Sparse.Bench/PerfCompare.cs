using System.Text.Json;
using System.Text.Json.Nodes;

namespace Sparse.Bench;

/// <summary>
/// <c>perf-compare</c>: the regression gate against another build (the per-commit check) and, when given, an anchor
/// build (the drift check), measured in the same job. Each round is one <c>perf-pair</c> process that loads every build
/// and times their calls in rotating blocks, so all see the same machine within a fraction of a second (a build
/// without that mode is timed in alternating <c>perf-check</c> processes instead). Per figure, reference build and
/// round, the candidate's seconds over the reference's; the change is the median over rounds, with a one-sided 95 %
/// bootstrap bound. The rounds come in three stages: after the first few, a figure whose every round is below half the
/// threshold against a reference is cleared against it; the others get the rest of the rounds; a figure those leave
/// undecided (<see cref="Undecided"/>) gets as many rounds again. A figure is flagged when the change is beyond the
/// threshold and the bound is above zero, and fails only when a second series of rounds of that figure alone flags it
/// again.
/// </summary>
internal static class PerfCompare
{
    private const int Resamples = 4000;

    // Rounds of the second series that a flagged figure must fail again.
    private const int ConfirmationRounds = 8;

    // Rounds compile every method fully optimized at its first call, as the CLI ships (TieredCompilation off in
    // Sparse.Cli.csproj): with tiering, a figure timed soon after its warm-up (a filtered round: the second stage, the
    // confirmation) ran partly before its methods reached their last tier: six such rounds of three identical builds
    // put w1.train_step's round ratios between -42.7 % and +27.9 %, and compiled once between -8.7 % and +1.4 %.
    private static readonly Dictionary<string, string?> FullyOptimized = new(StringComparer.Ordinal) { ["DOTNET_TieredCompilation"] = "0" };

    // Whether rounds run all builds in one process (perf-pair); off for good once a build turns out to predate it.
    private static bool _paired = true;

    // The user-figures file every round times, or null.
    private static string? _userFigures;

    public static int Run(string[] args)
    {
        var dlls = new Dictionary<string, string>(StringComparer.Ordinal);
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        string? filter = null, output = null;
        var userFigures = File.Exists(PerfCheck.UserFiguresFile) ? PerfCheck.UserFiguresFile : null;
        var slowdowns = new Dictionary<string, string>(StringComparer.Ordinal);
        var rounds = 6;
        var earlyRounds = 3;
        var threshold = 0.05;
        for (var n = 0; n < args.Length; n++)
        {
            switch (args[n])
            {
                case "--base" or "--candidate" or "--anchor":
                    dlls[args[n][2..]] = args[++n];
                    break;
                case "--base-label" or "--anchor-label":
                    labels[args[n][2..^6]] = args[++n];
                    break;
                case "--rounds":
                    rounds = int.Parse(args[++n], CultureInfo.InvariantCulture);
                    break;
                case "--early-rounds":
                    earlyRounds = int.Parse(args[++n], CultureInfo.InvariantCulture);
                    break;
                case "--threshold":
                    threshold = double.Parse(args[++n], CultureInfo.InvariantCulture);
                    break;
                case "--filter":
                    filter = args[++n];
                    break;
                case "--output":
                    output = args[++n];
                    break;
                case "--figures":
                    userFigures = args[++n];
                    break;
                case "--separate-processes":
                    _paired = false;
                    break;
                case "--inject-slowdown":
                    slowdowns["candidate"] = args[++n];
                    break;
                case "--inject-base-slowdown":
                    slowdowns["base"] = args[++n];
                    break;
                default:
                    Console.Error.WriteLine($"perf-compare: unknown option '{args[n]}'. Options: --base DLL --candidate DLL [--anchor DLL] [--base-label TEXT] [--anchor-label TEXT] [--rounds 6] [--early-rounds 3] [--threshold 0.05] [--filter NAME[,NAME...]] [--figures FILE] [--output FILE] [--inject-slowdown FIGURE:FRACTION] [--inject-base-slowdown FIGURE:FRACTION] [--separate-processes]");
                    return 2;
            }
        }

        if (!dlls.ContainsKey("base") || !dlls.TryGetValue("candidate", out var candidateDll) || rounds < 2)
        {
            Console.Error.WriteLine("perf-compare: give --base and --candidate (Sparse.Bench.dll of each build) and at least 2 --rounds.");
            return 2;
        }

        // A mistake in the user's figures stops the gate before any build is timed.
        if (userFigures is not null)
        {
            try
            {
                PerfCheck.ReadUserFigures(userFigures);
                _userFigures = Path.GetFullPath(userFigures);
            }
            catch (Exception e) when (e is InvalidDataException or IOException)
            {
                Console.Error.WriteLine($"perf-compare: {e.Message}");
                return 2;
            }
        }

        earlyRounds = Math.Clamp(earlyRounds, 2, rounds);
        var references = PerfPair.BuildNames.Where(b => b != "candidate" && dlls.ContainsKey(b)).ToArray();
        string Label(string reference) => labels.GetValueOrDefault(reference, reference);

        // Stage one: every figure, every build. A figure whose early rounds clear it against a reference (Clears) is
        // not measured further against it.
        var samples = Sample(dlls, 0, earlyRounds, filter, slowdowns);
        var cleared = new HashSet<(string Figure, string Reference)>();
        if (earlyRounds < rounds)
        {
            foreach (var (name, builds) in samples)
            {
                foreach (var reference in references)
                {
                    if (builds.TryGetValue(reference, out var values) && values.Count == earlyRounds &&
                        Clears([.. values.Zip(builds["candidate"], (r, c) => c / r)], ThresholdOf(name, threshold)))
                    {
                        cleared.Add((name, reference));
                    }
                }
            }

            // Stage two: the rest of the rounds, for the figures some reference has not cleared.
            var pending = samples.Keys.Where(name => references.Any(r => !cleared.Contains((name, r)) && samples[name].ContainsKey(r))).ToList();
            MoreRounds(earlyRounds, rounds - earlyRounds, pending);
        }

        // Stage three: a figure undecided against some reference takes as many rounds again, all of them judged together.
        var undecided = samples.Where(s => references.Any(r => !cleared.Contains((s.Key, r)) && s.Value.TryGetValue(r, out var values) &&
            values.Count == s.Value["candidate"].Count && Undecided([.. values.Zip(s.Value["candidate"], (b, c) => c / b)], ThresholdOf(s.Key, threshold))))
            .Select(s => s.Key).ToList();
        MoreRounds(rounds, rounds, undecided);

        // Rounds first..first + count - 1 of the named figures, appended to their samples.
        void MoreRounds(int first, int count, List<string> names)
        {
            if (names.Count == 0)
            {
                return;
            }

            foreach (var (name, builds) in Sample(dlls, first, count, string.Join(',', names), slowdowns))
            {
                foreach (var (build, values) in builds)
                {
                    samples[name][build].AddRange(values);
                }
            }
        }

        Console.WriteLine(_paired
            ? $"Each round is one process timing {string.Join(", ", dlls.Keys.Order(StringComparer.Ordinal))} in rotating blocks of calls; per round, the candidate's seconds over the reference's (the median ratio of their calls paired in turn, or with fewer than {PerfCheck.PairedCalls} calls the ratio of their 10th percentiles);"
            : "Each round times the builds in processes of their own, back to back; per round, the candidate's seconds over the reference's (the 10th percentile of each process's timed calls);");
        Console.WriteLine($"change: the median over rounds; lower: its one-sided 95 % bootstrap bound; rounds: the lowest and highest round. A figure is slower when change > {threshold:P0} and lower > 0 %;");
        Console.WriteLine($"it is cleared after {earlyRounds} rounds when each of them is below {threshold / 2:P1}, and otherwise takes {rounds} rounds, {2 * rounds} when the change is beyond the threshold and the bound is not above 0 %; it fails when a second series of {Math.Max(rounds, ConfirmationRounds)} rounds of the flagged figures says so again.");
        Console.WriteLine($"Figures with a threshold of their own: {string.Join(", ", CoarseFigures.Select(f => $"{f.Key} {Math.Max(threshold, f.Value):P0}"))}.");
        var failed = new List<string>();
        foreach (var reference in references)
        {
            Console.WriteLine();
            Console.WriteLine($"against {Label(reference)}:");
            var flagged = Judge(samples, reference, threshold, "", cleared, earlyRounds);

            // Noise between processes has heavier tails than the bootstrap assumes, so one series can flag an unchanged
            // figure; a real slowdown is flagged again by a second, independent series of the flagged figures, with the
            // candidate and this reference alone.
            if (flagged.Count > 0)
            {
                var pair = new Dictionary<string, string>(StringComparer.Ordinal) { ["candidate"] = candidateDll, [reference] = dlls[reference] };
                var again = Sample(pair, 0, Math.Max(rounds, ConfirmationRounds), string.Join(',', flagged), slowdowns)
                    .Where(s => flagged.Contains(s.Key)).ToDictionary(s => s.Key, s => s.Value, StringComparer.Ordinal);
                failed.AddRange(Judge(again, reference, threshold, "confirmation: ", null).Select(name => $"{name} (against {Label(reference)})"));
            }
        }

        if (output is not null)
        {
            var json = new JsonObject(samples.Select(s => new KeyValuePair<string, JsonNode?>(s.Key,
                new JsonObject(s.Value.Select(b => new KeyValuePair<string, JsonNode?>(b.Key, new JsonArray([.. b.Value.Select(v => JsonValue.Create(v))])))))));
            AtomicFile.Write(output, stream => JsonSerializer.Serialize(stream, new JsonObject { ["threshold"] = threshold, ["figures"] = json }));
        }

        if (failed.Count > 0)
        {
            Console.Error.WriteLine($"perf-compare: slower by more than {threshold:P0} in two series: {string.Join(", ", failed)}.");
            return 1;
        }

        return 0;
    }

    /// <summary>
    /// Whether the early rounds' ratios clear a figure: every round below half the threshold. A slowdown of twice the
    /// threshold is cleared only when all three rounds come out faster than it by 1.5 thresholds (7.5 % at the
    /// default): for a figure whose rounds spread by 5 % (standard deviation, normal), about 1 in 3,400 comparisons, and
    /// by 10 % (the wide kernels on a busy 2-core AMD EPYC) about 1 in 85. On that machine a median below half the
    /// threshold cleared a 10 % slowdown in 2 of 20 proof runs (rounds -5.6 % to +8.8 % and -5.5 % to +7.8 %,
    /// docs/proof-logs/combined-3stage/run-6.txt and run-13.txt), and with no round beyond the threshold as well, in the
    /// first run of the next proof (-5.7 % to +3.6 %, docs/proof-logs/earlyclear-max/run-1.txt).
    /// </summary>
    internal static bool Clears(double[] ratios, double threshold) => ratios.Max() - 1 < threshold / 2;

    /// <summary>
    /// The threshold a figure is held to: the gate's, or the figure's own where its rounds spread too far for it.
    /// </summary>
    internal static double ThresholdOf(string figure, double threshold) =>
        CoarseFigures.TryGetValue(figure, out var own) ? Math.Max(threshold, own) : threshold;

    // cli.first_epoch: 40-60 ms of training in a fresh process, whose rounds of identical builds spread by 13 % (standard
    // deviation; up to -44 % and +88 % on a loaded machine). It is there to catch the warm-up tax coming back, a first
    // epoch several times longer (docs/performance.md, "The first epoch"), and is held to that.
    private static readonly Dictionary<string, double> CoarseFigures = new(StringComparer.Ordinal) { ["cli.first_epoch"] = 0.5 };

    /// <summary>Per figure and build, one value per round: rounds <paramref name="first"/> to first + count - 1.</summary>
    internal static Dictionary<string, Dictionary<string, List<double>>> Sample(Dictionary<string, string> dlls, int first, int count, string? filter, Dictionary<string, string> slowdowns)
    {
        var samples = new Dictionary<string, Dictionary<string, List<double>>>(StringComparer.Ordinal);
        void Add(string name, string build, double seconds)
        {
            var builds = samples.TryGetValue(name, out var b) ? b : samples[name] = new(StringComparer.Ordinal);
            (builds.TryGetValue(build, out var values) ? values : builds[build] = []).Add(seconds);
        }

        var directory = Directory.CreateTempSubdirectory("perf-compare-").FullName;
        var what = filter is null ? string.Empty : (filter.Length > 60 ? filter[..57] + "..." : filter) + ": ";
        try
        {
            for (var round = first; round < first + count; round++)
            {
                if (_paired && MeasurePair(dlls, round, Path.Combine(directory, $"{round}-pair.json"), filter, slowdowns) is { } figures)
                {
                    foreach (var (name, build, seconds) in figures)
                    {
                        Add(name, build, seconds);
                    }

                    Console.Error.WriteLine($"perf-compare: {what}round {round + 1} done (one process)");
                    continue;
                }

                // Rotate which build goes first, so none always runs on the warmer (or colder) machine.
                var order = dlls.Keys.Order(StringComparer.Ordinal).ToArray();
                for (var k = 0; k < order.Length; k++)
                {
                    var build = order[(k + round) % order.Length];
                    foreach (var (name, seconds) in Measure(dlls[build], Path.Combine(directory, $"{round}-{build}.json"), filter, slowdowns.GetValueOrDefault(build)))
                    {
                        Add(name, build, seconds);
                    }
                }

                Console.Error.WriteLine($"perf-compare: {what}round {round + 1} done");
            }
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }

        return samples;
    }

    // Prints a row per figure against one reference and returns the figures whose slowdown is beyond the threshold
    // with a bound above zero.
    private static List<string> Judge(Dictionary<string, Dictionary<string, List<double>>> samples, string reference, double threshold, string prefix, HashSet<(string, string)>? cleared, int earlyRounds = 0)
    {
        Console.WriteLine($"{prefix}{"figure",-28} {reference,9} {"candidate",9} {"change",8} {"lower",8} {"rounds",15}  status");
        var slower = new List<string>();
        var random = new Random(20261201);
        foreach (var (name, builds) in samples.OrderBy(s => s.Key, StringComparer.Ordinal))
        {
            var referenceSamples = builds.GetValueOrDefault(reference) ?? [];
            var candidateSamples = builds.GetValueOrDefault("candidate") ?? [];
            if (referenceSamples.Count == 0 || referenceSamples.Count != candidateSamples.Count)
            {
                Console.WriteLine($"{prefix}{name,-28} {"-",9} {"-",9} {"-",8} {"-",8} {"-",15}  only in the {(referenceSamples.Count == 0 ? "candidate" : reference)}");
                continue;
            }

            // Paired by round: a change of machine speed between rounds (another tenant, the clock) cancels out. A
            // figure cleared against this reference is shown with the rounds that cleared it (it may have more, taken
            // for the other reference).
            var isCleared = cleared?.Contains((name, reference)) == true;
            var ratios = referenceSamples.Zip(candidateSamples, (b, c) => c / b).Take(isCleared ? earlyRounds : int.MaxValue).ToArray();
            var change = PerfCheck.Median(ratios) - 1;
            var lower = LowerBound(ratios, random) - 1;
            var isSlower = !isCleared && change > ThresholdOf(name, threshold) && lower > 0;
            if (isSlower)
            {
                slower.Add(name);
            }

            var status = isSlower ? "SLOWER" : isCleared ? $"ok (cleared after {ratios.Length} rounds)" : "ok";
            Console.WriteLine($"{prefix}{name,-28} {Duration(PerfCheck.Median([.. referenceSamples])),9} {Duration(PerfCheck.Median([.. candidateSamples])),9} {Percent(change),8} {Percent(lower),8} {Percent(ratios.Min() - 1) + ".." + Percent(ratios.Max() - 1),15}  {status}");
        }

        return slower;
    }

    /// <summary>
    /// Whether a figure's rounds leave it undecided: their median beyond the threshold, the bound not above zero. One round
    /// in six far off (another tenant, a pause) is enough for that, and it is how a real 10 % slowdown of a memory-bound
    /// figure went unflagged in 2 of 20 combined proof runs (kernel.wide_untiled_step_bf16, docs/performance.md); as many
    /// rounds again decide it.
    /// </summary>
    internal static bool Undecided(double[] ratios, double threshold) =>
        PerfCheck.Median(ratios) - 1 > threshold && LowerBound(ratios, new Random(20261201)) - 1 <= 0;

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

    // One perf-pair process: every build's figures, timed in rotating blocks of calls; null when a build predates the
    // paired mode (after which every round times whole processes).
    private static List<(string Name, string Build, double Seconds)>? MeasurePair(Dictionary<string, string> dlls, int round, string output, string? filter, Dictionary<string, string> slowdowns)
    {
        // This process's own bench runs the round, so one timing harness serves every pair of builds it compares
        // (perf-history and bisect drive builds older than the harness); each build's figures come from its own bench.
        var arguments = new List<string> { typeof(PerfCompare).Assembly.Location, "perf-pair", "--round", round.ToString(CultureInfo.InvariantCulture), "--output", output };
        foreach (var (build, dll) in dlls)
        {
            arguments.AddRange(["--" + build, dll]);
        }

        if (filter is not null)
        {
            arguments.AddRange(["--filter", filter]);
        }

        if (_userFigures is not null)
        {
            arguments.AddRange(["--figures", _userFigures]);
        }

        foreach (var (build, slowdown) in slowdowns)
        {
            arguments.AddRange([build == "candidate" ? "--inject-slowdown" : "--inject-base-slowdown", slowdown]);
        }

        var (exitCode, text) = DotnetProcess.Run(arguments, FullyOptimized);
        if (exitCode == PerfPair.NoPairedMode)
        {
            Console.Error.WriteLine("perf-compare: a build has no paired mode; each round times the builds in processes of their own.");
            _paired = false;
            return null;
        }

        if (exitCode != 0 || !File.Exists(output))
        {
            throw new InvalidOperationException($"perf-pair failed (exit {exitCode}): {text}");
        }

        var figures = JsonNode.Parse(File.ReadAllText(output))!["figures"]!.AsObject();
        return [.. figures.SelectMany(f => dlls.Keys.Select(build => (f.Key, build, f.Value![build]!.GetValue<double>())))];
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

        var environment = new Dictionary<string, string?>(FullyOptimized);
        if (inject is not null)
        {
            environment[PerfCheck.SlowdownVariable] = inject;
        }

        var (exitCode, text) = DotnetProcess.Run(arguments, environment);
        if (exitCode != 0 || !File.Exists(output))
        {
            throw new InvalidOperationException($"{dll} perf-check failed (exit {exitCode}): {text}");
        }

        var figures = JsonNode.Parse(File.ReadAllText(output))!["figures"]!.AsObject();
        return [.. figures.Select(f => (f.Key, f.Value!["seconds"]!.GetValue<double>()))];
    }
}
