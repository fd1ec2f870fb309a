using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ScottPlot;

namespace Sparse.Bench;

/// <summary>
/// <c>perf-history</c>: the figures of a range of commits (what <c>scripts/perf-history</c> built), each measured
/// against one reference build in the gate's paired rounds, stored as JSON Lines and drawn as a report. The reference
/// is also measured against itself: those rounds are the noise band every commit is read against. Commits whose
/// sources build the same bench (one cache key) share one measurement.
/// </summary>
internal static class PerfHistory
{
    private const string HistoryFile = "history.jsonl";

    public static int Run(string[] args)
    {
        string? commitsFile = null, filter = null;
        var results = "perf-results";
        var rounds = 3;
        var reportOnly = false;
        for (var n = 0; n < args.Length; n++)
        {
            switch (args[n])
            {
                case "--commits-file": commitsFile = args[++n]; break;
                case "--results": results = args[++n]; break;
                case "--rounds": rounds = int.Parse(args[++n], CultureInfo.InvariantCulture); break;
                case "--filter": filter = args[++n]; break;
                case "--report-only": reportOnly = true; break;
                default:
                    Console.Error.WriteLine($"perf-history: unknown option '{args[n]}'. Options: --commits-file FILE --results DIR [--rounds 3] [--filter NAME[,NAME...]] [--report-only]");
                    return 2;
            }
        }

        if (commitsFile is null || rounds < 2)
        {
            Console.Error.WriteLine("perf-history: give --commits-file (lines of commit, key, bench dll, date, subject; tab-separated, oldest first, the reference last) and at least 2 --rounds.");
            return 2;
        }

        var commits = File.ReadAllLines(commitsFile).Where(l => l.Length > 0).Select(l => l.Split('\t')).Select(f => new Commit(f[0], f[1], f[2], f[3], f[4])).ToList();
        var reference = commits[^1];
        Directory.CreateDirectory(results);
        var history = Path.Combine(results, HistoryFile);
        var machine = $"{Environment.ProcessorCount} cores, {ComputeOptions.BestSimd}";
        if (!reportOnly)
        {
            // One measurement per key, against the reference's build; the reference's key against itself gives the band.
            var measured = new List<JsonObject>();
            foreach (var key in commits.Select(c => c.Key).Distinct())
            {
                var commit = commits.Last(c => c.Key == key);
                if (commit.Dll == "failed")
                {
                    Console.Error.WriteLine($"perf-history: {commit.Sha[..7]} did not build; its commits are left out.");
                    continue;
                }

                Console.Error.WriteLine($"perf-history: {commit.Sha[..7]} {commit.Subject[..Math.Min(60, commit.Subject.Length)]} against {reference.Sha[..7]}");
                var dlls = new Dictionary<string, string>(StringComparer.Ordinal) { ["base"] = reference.Dll, ["candidate"] = commit.Dll };
                foreach (var (figure, builds) in PerfCompare.Sample(dlls, 0, rounds, filter, []))
                {
                    if (builds.TryGetValue("base", out var referenceSeconds) && builds.TryGetValue("candidate", out var seconds) && seconds.Count == referenceSeconds.Count)
                    {
                        measured.Add(new JsonObject
                        {
                            ["key"] = key,
                            ["reference"] = reference.Sha,
                            ["reference_key"] = reference.Key,
                            ["figure"] = figure,
                            ["seconds"] = new JsonArray([.. seconds.Select(s => JsonValue.Create(s))]),
                            ["reference_seconds"] = new JsonArray([.. referenceSeconds.Select(s => JsonValue.Create(s))]),
                            ["machine"] = machine,
                            ["measured"] = DateTime.UtcNow.ToString("u", CultureInfo.InvariantCulture),
                        });
                    }
                }
            }

            // One line per commit and figure; commits of one key repeat its measurement, so every line stands alone.
            var lines = new StringBuilder();
            foreach (var commit in commits)
            {
                foreach (var m in measured.Where(m => (string)m["key"]! == commit.Key))
                {
                    var line = (JsonObject)m.DeepClone();
                    line.Insert(0, "commit", commit.Sha);
                    line.Insert(1, "date", commit.Date);
                    line.Insert(2, "subject", commit.Subject);
                    lines.Append(line.ToJsonString()).Append('\n');
                }
            }

            File.AppendAllText(history, lines.ToString());
            Console.Error.WriteLine($"perf-history: {measured.Count} measurements appended to {history}");
        }

        Report(history, commits, results);
        return 0;
    }

    // The newest measurement of each commit and figure against the given reference, a plot per figure, and a table of
    // the largest moves from one measured commit to the next.
    private static void Report(string history, List<Commit> commits, string results)
    {
        var reference = commits[^1];
        var lines = File.ReadAllLines(history).Select(l => JsonNode.Parse(l)!.AsObject())
            .Where(l => (string)l["reference_key"]! == reference.Key).ToList();
        var figures = lines.Select(l => (string)l["figure"]!).Distinct().Order(StringComparer.Ordinal).ToList();
        var markdown = new StringBuilder();
        markdown.Append(CultureInfo.InvariantCulture, $"# Performance history: {commits.Count} commits to {reference.Sha[..7]}\n\n");
        markdown.Append(CultureInfo.InvariantCulture, $"Each commit's figure over {reference.Sha[..7]}'s, timed in the gate's paired rounds (one process per round, both builds in rotating blocks); the dot is the median over rounds, the bar the lowest and highest round. The grey band is {reference.Sha[..7]} timed against itself: what noise alone moves. Commits that build the same code share one measurement. Made by `scripts/perf-history`; the rounds are in `{HistoryFile}`.\n\n");
        var moves = new List<(string Figure, Commit From, Commit To, double Change, bool BeyondNoise)>();
        foreach (var figure in figures)
        {
            var points = new List<(int Index, Commit Commit, double Median, double Low, double High)>();
            foreach (var (commit, index) in commits.Select((c, i) => (c, i)))
            {
                if (lines.LastOrDefault(l => (string)l["commit"]! == commit.Sha && (string)l["figure"]! == figure) is not { } line)
                {
                    continue;
                }

                var ratios = Ratios(line);
                points.Add((index, commit, PerfCheck.Median(ratios), ratios.Min(), ratios.Max()));
            }

            var self = points.LastOrDefault(p => p.Commit.Sha == reference.Sha);
            var noise = self.Commit is null ? (Low: 1.0, High: 1.0) : (self.Low, self.High);
            var referenceSeconds = lines.Where(l => (string)l["figure"]! == figure).SelectMany(l => l["reference_seconds"]!.AsArray().Select(v => v!.GetValue<double>())).ToArray();
            var unit = PerfCheck.Median(referenceSeconds);
            var png = $"{figure}.png";
            AtomicFile.Write(Path.Combine(results, png), stream => stream.Write(Plot(figure, commits, points, noise, unit)));
            markdown.Append(CultureInfo.InvariantCulture, $"## {figure}\n\n{reference.Sha[..7]}: {unit * 1e3:F3} ms; noise band {Percent(noise.Low - 1)} .. {Percent(noise.High - 1)}\n\n![{figure}]({png})\n\n");
            for (var k = 1; k < points.Count; k++)
            {
                var (from, to) = (points[k - 1], points[k]);
                if (from.Commit.Key == to.Commit.Key)
                {
                    continue;
                }

                // A move beyond noise: the two commits' ranges of rounds do not overlap.
                moves.Add((figure, from.Commit, to.Commit, (to.Median / from.Median) - 1, to.Low > from.High || to.High < from.Low));
            }
        }

        markdown.Append("## Largest moves between neighbouring commits that build different code\n\n");
        markdown.Append("| figure | from | to | change | beyond the rounds' range |\n|---|---|---|---:|---|\n");
        foreach (var move in moves.OrderByDescending(m => Math.Abs(m.Change)).Take(15))
        {
            markdown.Append(CultureInfo.InvariantCulture, $"| {move.Figure} | {move.From.Sha[..7]} | {move.To.Sha[..7]} {Escape(move.To.Subject)} | {Percent(move.Change)} | {(move.BeyondNoise ? "yes" : "no")} |\n");
        }

        AtomicFile.Write(Path.Combine(results, "report.md"), stream => stream.Write(Encoding.UTF8.GetBytes(markdown.ToString())));
        Console.WriteLine($"perf-history: report in {Path.Combine(results, "report.md")} ({figures.Count} figures)");
    }

    private static double[] Ratios(JsonObject line) =>
        [.. line["seconds"]!.AsArray().Zip(line["reference_seconds"]!.AsArray(), (c, r) => c!.GetValue<double>() / r!.GetValue<double>())];

    private static byte[] Plot(string figure, List<Commit> commits, List<(int Index, Commit Commit, double Median, double Low, double High)> points, (double Low, double High) noise, double unit)
    {
        var plot = new Plot();
        double Ms(double ratio) => ratio * unit * 1e3;
        var band = plot.Add.VerticalSpan(Ms(noise.Low), Ms(noise.High));
        band.FillStyle.Color = Colors.Gray.WithAlpha(0.25);
        band.LineStyle.Width = 0;
        foreach (var p in points)
        {
            var bar = plot.Add.Line(p.Index, Ms(p.Low), p.Index, Ms(p.High));
            bar.LineWidth = 2;
            bar.Color = Colors.SteelBlue;
        }

        var line = plot.Add.Scatter(points.Select(p => (double)p.Index).ToArray(), points.Select(p => Ms(p.Median)).ToArray());
        line.Color = Colors.SteelBlue;
        line.MarkerSize = 6;
        var ticks = commits.Select((c, i) => new Tick(i, c.Sha[..7])).Where((_, i) => i % Math.Max(1, commits.Count / 15) == 0 || i == commits.Count - 1).ToArray();
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(ticks);
        plot.Axes.Bottom.TickLabelStyle.Rotation = 45;
        plot.Axes.Bottom.TickLabelStyle.Alignment = Alignment.MiddleLeft;
        plot.Axes.Bottom.MinimumSize = 70;
        plot.Title(figure);
        plot.YLabel($"ms ({commits[^1].Sha[..7]}'s median x ratio to it)");
        return plot.GetImageBytes(900, 360, ImageFormat.Png);
    }

    private static string Percent(double value) => (value >= 0 ? "+" : string.Empty) + (value * 100).ToString("F1", CultureInfo.InvariantCulture) + " %";

    private static string Escape(string subject) => (subject.Length > 60 ? subject[..57] + "..." : subject).Replace("|", "\\|", StringComparison.Ordinal);

    private sealed record Commit(string Sha, string Key, string Dll, string Date, string Subject);
}
