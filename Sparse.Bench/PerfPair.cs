using System.Reflection;
using System.Runtime.Loader;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Sparse.Bench;

/// <summary>
/// <c>perf-pair</c>: one round of <c>perf-compare</c> in one process. Loads the base build's and the candidate
/// build's benches side by side, each in an <see cref="AssemblyLoadContext"/> of its own (so each runs its own
/// Sparse.Core, Training and Topology), and times every figure in alternating blocks of calls, base then candidate
/// then base, so both builds see the machine within the same tenth of a second: another tenant, the clock or the
/// shared cache slows both alike. Each build's figure is the 10th percentile of its calls. Writes both per figure.
/// Exits 3 when a build has no <see cref="PerfCheck.Load"/> (an older build): perf-compare then times whole
/// processes.
/// </summary>
internal static class PerfPair
{
    public const int NoPairedMode = 3;

    public static int Run(string[] args)
    {
        string? baseDll = null, candidateDll = null, filter = null, inject = null, output = null;
        var round = 0;
        for (var n = 0; n < args.Length; n++)
        {
            switch (args[n])
            {
                case "--base": baseDll = args[++n]; break;
                case "--candidate": candidateDll = args[++n]; break;
                case "--filter": filter = args[++n]; break;
                case "--inject-slowdown": inject = args[++n]; break;
                case "--output": output = args[++n]; break;
                case "--round": round = int.Parse(args[++n], CultureInfo.InvariantCulture); break;
                default:
                    Console.Error.WriteLine($"perf-pair: unknown option '{args[n]}'. Options: --base DLL --candidate DLL --output FILE [--round N] [--filter TEXT] [--inject-slowdown FIGURE:FRACTION]");
                    return 2;
            }
        }

        if (baseDll is null || candidateDll is null || output is null)
        {
            Console.Error.WriteLine("perf-pair: give --base, --candidate and --output.");
            return 2;
        }

        // Which build loads (and allocates its workloads) first moves its figures by a percent or two: with the base
        // always first, identical builds measured the candidate 1.2-1.8 % faster in kernel.forward. So the order
        // alternates with the round, and the median over rounds cancels it.
        var builds = new List<(string Name, Func<double> Call, double BudgetSeconds, int Calls, IDisposable? Resources)>[2];
        foreach (var b in round % 2 == 0 ? new[] { 0, 1 } : [1, 0])
        {
            var load = new BuildContext(b == 0 ? baseDll : candidateDll).LoadFromAssemblyPath(Path.GetFullPath(b == 0 ? baseDll : candidateDll))
                .GetType("Sparse.Bench.PerfCheck")?.GetMethod(nameof(PerfCheck.Load), BindingFlags.Static | BindingFlags.NonPublic | BindingFlags.Public);
            if (load is null)
            {
                Console.Error.WriteLine($"perf-pair: {(b == 0 ? baseDll : candidateDll)} has no paired mode.");
                return NoPairedMode;
            }

            builds[b] = (List<(string, Func<double>, double, int, IDisposable?)>)load.Invoke(null, [filter, b == 1 ? inject : null])!;
        }

        // Warm every figure of both builds first, as perf-check does, and let the runtime's background compilation
        // settle, so no timed call shares the cores with the compiler.
        foreach (var build in builds)
        {
            foreach (var figure in build)
            {
                PerfCheck.Warm(() => figure.Call(), figure.BudgetSeconds);
            }
        }

        Thread.Sleep(300);
        var figures = new JsonObject();
        foreach (var figure in builds[0])
        {
            var other = builds[1].FindIndex(f => f.Name == figure.Name);
            if (other < 0)
            {
                continue;
            }

            var candidate = builds[1][other];
            var calls = new[] { figure.Call, candidate.Call };
            var times = calls.Select(_ => new PerfCheck.CallTimes(Math.Max(figure.Calls, candidate.Calls), Math.Max(figure.BudgetSeconds, candidate.BudgetSeconds))).ToArray();

            // Alternate which build opens, so neither always follows the other's (cache-evicting) block.
            for (var turn = round % 2; times[0].More || times[1].More; turn ^= 1)
            {
                times[turn].Block(calls[turn]);
            }

            figures[figure.Name] = new JsonObject
            {
                ["base"] = times[0].Fast,
                ["candidate"] = times[1].Fast,
                ["calls"] = times[0].Seconds.Count,
            };
        }

        foreach (var build in builds)
        {
            foreach (var figure in build)
            {
                figure.Resources?.Dispose();
            }
        }

        File.WriteAllText(output, new JsonObject { ["figures"] = figures }.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        return 0;
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
