using BenchmarkDotNet.Running;
using Sparse.Bench;

if (args is ["quick", .. var shapes])
{
    QuickKernels.Run(shapes.Length > 0 ? shapes : ["784->1000", "1000->1000"]);
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
