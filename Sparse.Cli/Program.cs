using System.CommandLine;
using Sparse.Cli;

// sparse: train, evaluate and use truly sparse networks on CSV files from the shell.
var quiet = new Option<bool>("--quiet") { Description = "Print only results and errors.", Recursive = true };
var verbose = new Option<bool>("--verbose") { Description = "Also log every epoch and every topology change.", Recursive = true };
var root = new RootCommand("sparse: train truly sparse neural networks on CSV files.")
{
    TrainCommand.Create(quiet, verbose),
    SweepCommand.Create(quiet),
    ModelCommands.Evaluate(),
    ModelCommands.Predict(),
    ModelCommands.Info(verbose),
    ModelCommands.Export(),
    ModelCommands.Features(),
};
root.Options.Add(quiet);
root.Options.Add(verbose);
return root.Parse(args).Invoke();
