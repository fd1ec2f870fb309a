using BenchmarkDotNet.Running;
using Sparse.Bench;

if (args is ["quick", .. var shapes])
{
    QuickKernels.Run(shapes.Length > 0 ? shapes : ["784->1000", "1000->1000"]);
    return;
}

if (args is ["epoch", .. var rest])
{
    QuickEpoch.Run(rest.Length > 0 ? int.Parse(rest[0], System.Globalization.CultureInfo.InvariantCulture) : 5, rest.Contains("set"));
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
