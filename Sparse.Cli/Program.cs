using Sparse.Core;

// The command-line trainer grows here (train, evaluate, predict, info). For now it reports what the
// kernels will run on, which is what a user asks first when comparing machines.
if (args is ["--version"] or ["version"])
{
    Console.WriteLine($"sparse {typeof(CsrMatrix).Assembly.GetName().Version}");
    Console.WriteLine($"kernels: {KernelDispatch.Best}, {SparseParallel.MaxDegreeOfParallelism} threads");
    return 0;
}

Console.Error.WriteLine("usage: sparse --version");
return 2;
