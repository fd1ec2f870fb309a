using BenchmarkDotNet.Running;
using Sparse.Bench;

if (args is ["quick", .. var shapes])
{
    QuickKernels.Run(shapes.Length > 0 ? shapes : ["784->1000", "1000->1000"]);
    return 0;
}

if (args is ["perf-check", .. var options])
{
    return PerfCheck.Run(options);
}

if (args is ["scale", .. var scale] && scale.Length >= 3)
{
    // scale IN H.. OUT SAMPLES [batch]: a trailing "bN" sets the batch size (default 128).
    var batch = scale[^1].StartsWith('b') ? int.Parse(scale[^1][1..], System.Globalization.CultureInfo.InvariantCulture) : 128;
    var numbers = scale.Where(a => !a.StartsWith('b')).Select(a => int.Parse(a, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
    QuickEpoch.RunScale(numbers[..^1], numbers[^1], batch);
    return 0;
}

if (args is ["epoch-w2", .. var wide])
{
    QuickEpoch.RunWide(wide.Length > 0 ? int.Parse(wide[0], System.Globalization.CultureInfo.InvariantCulture) : 2);
    return 0;
}

if (args is ["epoch", .. var rest])
{
    QuickEpoch.Run(rest.Length > 0 ? int.Parse(rest[0], System.Globalization.CultureInfo.InvariantCulture) : 5, rest.Contains("set"));
    return 0;
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;
