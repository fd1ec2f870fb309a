using System.Reflection;
using System.Runtime.Loader;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Sparse.Bench;

/// <summary>
/// <c>perf-pair</c>: one round of <c>perf-compare</c> in one process. Loads the base build's, the candidate build's
/// and, for the drift check, the anchor build's benches side by side, each in an <see cref="AssemblyLoadContext"/> of
/// its own (so each runs its own Sparse.Core, Training and Topology), and times every figure in rotating blocks of
/// calls (a long figure with parts, part by part: <see cref="PerfCheck.TimeInTurns"/>), one build after the other, so
/// all see the machine within the same fraction of a second: another tenant, the
/// clock or the shared cache slows them alike. The candidate's value is the 10th percentile of its calls, a
/// reference's that over their paired ratio (<see cref="PerfCheck.PairedRatio"/>; a figure of few calls, its own 10th
/// percentile). Writes every build's value per figure, and where the round's seconds went. Exits 3 when a build has no
/// <see cref="PerfCheck.Load"/> (an older build): perf-compare then times whole processes.
/// </summary>
internal static class PerfPair
{
    public const int NoPairedMode = 3;

    /// <summary>The builds a round can time, in the order their names appear in the output.</summary>
    public static readonly string[] BuildNames = ["base", "candidate", "anchor"];

    public static int Run(string[] args)
    {
        var dlls = new Dictionary<string, string>(StringComparer.Ordinal);
        var slowdowns = new Dictionary<string, string>(StringComparer.Ordinal);
        string? filter = null, output = null, userFigures = null;
        var round = 0;
        for (var n = 0; n < args.Length; n++)
        {
            switch (args[n])
            {
                case "--base" or "--candidate" or "--anchor": dlls[args[n][2..]] = args[++n]; break;
                case "--filter": filter = args[++n]; break;
                case "--figures": userFigures = args[++n]; break;
                case "--inject-slowdown": slowdowns["candidate"] = args[++n]; break;
                case "--inject-base-slowdown": slowdowns["base"] = args[++n]; break;
                case "--output": output = args[++n]; break;
                case "--round": round = int.Parse(args[++n], CultureInfo.InvariantCulture); break;
                default:
                    Console.Error.WriteLine($"perf-pair: unknown option '{args[n]}'. Options: --candidate DLL [--base DLL] [--anchor DLL] --output FILE [--round N] [--filter NAME[,NAME...]] [--figures FILE] [--inject-slowdown FIGURE:FRACTION] [--inject-base-slowdown FIGURE:FRACTION]");
                    return 2;
            }
        }

        if (!dlls.ContainsKey("candidate") || dlls.Count < 2 || output is null)
        {
            Console.Error.WriteLine("perf-pair: give --candidate, --base or --anchor or both, and --output.");
            return 2;
        }

        var names = BuildNames.Where(dlls.ContainsKey).ToArray();
        var spent = new JsonObject();
        var phase = Stopwatch.StartNew();

        // The builds load side by side (a wide layer's seeded initialisation is serial, so three builds' take a core
        // each), started in an order that rotates with the round: which build allocates first moves its figures by a
        // percent or two (with the base always first, identical builds measured the candidate 1.2-1.8 % faster in
        // kernel.forward), and the median over rounds cancels it.
        var builds = new List<BuildFigure>[names.Length];
        var loading = new Task<bool>[names.Length];
        for (var k = 0; k < names.Length; k++)
        {
            var b = (k + round) % names.Length;
            loading[b] = Task.Factory.StartNew(() =>
            {
                var dll = dlls[names[b]];
                var bench = new BuildContext(dll).LoadFromAssemblyPath(Path.GetFullPath(dll)).GetType("Sparse.Bench.PerfCheck");
                const BindingFlags Static = BindingFlags.Static | BindingFlags.NonPublic | BindingFlags.Public;
                var load = bench?.GetMethod(nameof(PerfCheck.LoadWithParts), Static) ?? bench?.GetMethod(nameof(PerfCheck.Load), Static);
                if (load is null)
                {
                    return false;
                }

                builds[b] = Load(load, filter, slowdowns.GetValueOrDefault(names[b]));
                if (userFigures is not null)
                {
                    builds[b].AddRange(LoadUser(dll, userFigures, filter, slowdowns.GetValueOrDefault(names[b])));
                }

                return true;
            }, TaskCreationOptions.LongRunning);
        }

        Task.WaitAll(loading);
        if (Array.FindIndex(loading, t => !t.Result) is var missing and >= 0)
        {
            Console.Error.WriteLine($"perf-pair: {dlls[names[missing]]} has no paired mode.");
            return NoPairedMode;
        }

        spent["load"] = phase.Elapsed.TotalSeconds;

        // Warm every figure of every build first, as perf-check does, and let the runtime's background compilation
        // settle, so no timed call shares the cores with the compiler. The order rotates with the round, as the loading
        // does: the builds' first calls allocate their lazily made buffers, and the physical memory they get (huge
        // pages or not) depends on what was allocated before.
        for (var k = 0; k < names.Length; k++)
        {
            foreach (var figure in builds[(k + round) % names.Length])
            {
                phase.Restart();
                PerfCheck.Warm(() => figure.Call(), figure.BudgetSeconds);
                spent["warm." + figure.Name] = (spent["warm." + figure.Name]?.GetValue<double>() ?? 0) + phase.Elapsed.TotalSeconds;
            }
        }

        Thread.Sleep(300);
        var figures = new JsonObject();
        foreach (var figure in builds[0])
        {
            var all = builds.Select(build => build.Find(f => f.Name == figure.Name)).OfType<BuildFigure>().ToArray();
            if (all.Length < builds.Length)
            {
                continue;
            }

            // The candidate's definition decides the calls of every build: an evolution step's figure takes a fixed
            // number of calls (its state moves with each), which an older build's budget of seconds would override.
            var c = Array.IndexOf(names, "candidate");
            var times = all.Select(_ => new PerfCheck.CallTimes(all[c].Calls, all[c].BudgetSeconds)).ToArray();

            // Each figure starts on a collected heap, so no build's calls pay for garbage another figure left; the
            // collections during its calls are written beside its seconds.
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
            var collections = Enumerable.Range(0, GC.MaxGeneration + 1).Select(GC.CollectionCount).ToArray();
            phase.Restart();

            // Rotate which build opens, so none always follows another's (cache-evicting) block.
            PerfCheck.TimeInTurns([.. all.Select(f => f.Call)], [.. all.Select(f => f.Parts)], times, round);

            // A reference's value is the candidate's over their paired ratio (PerfCheck.PairedRatio) when both took
            // enough calls to pair, so the round's ratio that perf-compare takes is that median; otherwise each build's
            // own 10th percentile.
            var result = new JsonObject();
            var paired = true;
            for (var b = 0; b < names.Length; b++)
            {
                var ratio = b == c ? null : PerfCheck.PairedRatio(times[c].Seconds, times[b].Seconds);
                paired &= b == c || ratio is not null;
                result[names[b]] = ratio is { } r ? times[c].Fast / r : times[b].Fast;
            }

            result["paired"] = paired;
            result["call_seconds"] = new JsonObject(names.Select((name, b) => KeyValuePair.Create(name, (JsonNode?)new JsonArray([.. times[b].Seconds.Select(s => JsonValue.Create(s))]))));
            result["calls"] = times[0].Seconds.Count;
            result["collections"] = new JsonArray([.. Enumerable.Range(0, GC.MaxGeneration + 1).Select(g => JsonValue.Create(GC.CollectionCount(g) - collections[g]))]);
            figures[figure.Name] = result;
            spent["timed." + figure.Name] = phase.Elapsed.TotalSeconds;
        }

        foreach (var build in builds)
        {
            foreach (var figure in build)
            {
                figure.Resources?.Dispose();
            }
        }

        File.WriteAllText(output, new JsonObject { ["figures"] = figures, ["seconds_spent"] = spent }.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        return 0;
    }

    // A build's figures for a filter of parts separated by commas. A part that is a figure's whole name takes that
    // figure alone; any other part takes every figure whose name contains it, as perf-check's --filter does (a build's
    // Load takes one substring, so "w1.epoch" also brings w1.epoch_bf16). A figure matched twice is kept once.
    private static List<BuildFigure> Load(MethodInfo load, string? filter, string? slowdown)
    {
        var figures = new List<BuildFigure>();
        foreach (var part in filter?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) ?? [null!])
        {
            var loaded = BuildFigure.From(load.Invoke(null, [part, slowdown])!);
            var exact = loaded.Exists(f => f.Name == part);
            foreach (var figure in loaded)
            {
                if ((exact && figure.Name != part) || figures.Exists(f => f.Name == figure.Name))
                {
                    figure.Resources?.Dispose();
                }
                else
                {
                    figures.Add(figure);
                }
            }
        }

        return figures;
    }

    // The user figures of a file, timed on a build's libraries: this process's bench, loaded in a context whose
    // libraries come from the build's directory, builds them through the public API. A build whose API lacks what
    // the description needs has none of them, and the comparison says "only in the candidate".
    private static List<BuildFigure> LoadUser(string buildDll, string path, string? filter, string? slowdown)
    {
        var harness = typeof(PerfPair).Assembly.Location;
        var load = new LibraryContext(harness, buildDll).LoadFromAssemblyPath(harness)
            .GetType("Sparse.Bench.PerfCheck")!.GetMethod(nameof(PerfCheck.LoadUser), BindingFlags.Static | BindingFlags.NonPublic)!;
        try
        {
            return BuildFigure.From(load.Invoke(null, [path, filter, slowdown])!);
        }
        catch (TargetInvocationException e) when (e.InnerException is MissingMemberException or TypeLoadException or FileNotFoundException or InvalidDataException)
        {
            Console.Error.WriteLine($"perf-pair: the user figures of {path} do not build on {Path.GetDirectoryName(buildDll)}: {e.InnerException.Message}");
            return [];
        }
    }

    /// <summary>A figure of one build, as its bench's <see cref="PerfCheck.LoadWithParts"/> or (before parts) <see cref="PerfCheck.Load"/> gives it.</summary>
    private sealed record BuildFigure(string Name, Func<double> Call, double BudgetSeconds, int Calls, IDisposable? Resources, Func<double>[] Parts)
    {
        public static List<BuildFigure> From(object loaded) => loaded switch
        {
            List<(string Name, Func<double> Call, double BudgetSeconds, int Calls, IDisposable? Resources, Func<double>[] Parts)> parted =>
                [.. parted.Select(f => new BuildFigure(f.Name, f.Call, f.BudgetSeconds, f.Calls, f.Resources, f.Parts))],
            List<(string Name, Func<double> Call, double BudgetSeconds, int Calls, IDisposable? Resources)> whole =>
                [.. whole.Select(f => new BuildFigure(f.Name, f.Call, f.BudgetSeconds, f.Calls, f.Resources, []))],
            _ => throw new InvalidOperationException($"perf-pair: a build's figures came as {loaded.GetType()}."),
        };
    }

    /// <summary>This process's bench on another build's libraries: every assembly the build has comes from its directory.</summary>
    private sealed class LibraryContext(string harnessDll, string buildDll) : AssemblyLoadContext("user figures on " + Path.GetFullPath(buildDll))
    {
        private readonly AssemblyDependencyResolver _build = new(Path.GetFullPath(buildDll));
        private readonly AssemblyDependencyResolver _harness = new(Path.GetFullPath(harnessDll));

        protected override Assembly? Load(AssemblyName assemblyName) =>
            assemblyName.Name != "Sparse.Bench" && _build.ResolveAssemblyToPath(assemblyName) is { } path ? LoadFromAssemblyPath(path)
            : _harness.ResolveAssemblyToPath(assemblyName) is { } own ? LoadFromAssemblyPath(own) : null;

        protected override IntPtr LoadUnmanagedDll(string unmanagedDllName) =>
            (_build.ResolveUnmanagedDllToPath(unmanagedDllName) ?? _harness.ResolveUnmanagedDllToPath(unmanagedDllName)) is { } path ? LoadUnmanagedDllFromPath(path) : IntPtr.Zero;
    }

    /// <summary>One build's bench and its own dependencies; the runtime's library comes from the default context.</summary>
    private sealed class BuildContext(string benchDll) : AssemblyLoadContext(Path.GetFullPath(benchDll))
    {
        private readonly AssemblyDependencyResolver _resolver = new(Path.GetFullPath(benchDll));

        protected override Assembly? Load(AssemblyName assemblyName) =>
            _resolver.ResolveAssemblyToPath(assemblyName) is { } path ? LoadFromAssemblyPath(path) : null;

        protected override IntPtr LoadUnmanagedDll(string unmanagedDllName) =>
            _resolver.ResolveUnmanagedDllToPath(unmanagedDllName) is { } path ? LoadUnmanagedDllFromPath(path) : IntPtr.Zero;
    }
}
