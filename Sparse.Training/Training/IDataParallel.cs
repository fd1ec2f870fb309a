namespace Sparse.Training;

/// <summary>
/// How a <see cref="Trainer"/> shares its steps with the other processes (ranks) that train the same network on other
/// parts of every batch. Every rank holds the same network and the whole dataset, shuffles it the same way, and
/// trains each step on its slice of the step's global batch (<see cref="BatchLoader.Shard"/>); the implementation
/// makes every rank's update the global batch's. Sparse.Distributed implements it over MPI. The Trainer calls these
/// members at the same points on every rank, so each may be a collective operation.
/// </summary>
public interface IDataParallel
{
    /// <summary>This process's rank, 0 to <see cref="Size"/> - 1; rank 0 writes checkpoints.</summary>
    int Rank { get; }

    /// <summary>The number of ranks.</summary>
    int Size { get; }

    /// <summary>Whether any rank wants to stop (<paramref name="stopHere"/> on this rank; true on every rank if one asks): called before every step, so all ranks stop after the same step.</summary>
    bool AnyStops(bool stopHere);

    /// <summary>
    /// After the backward pass of a step in which this rank trained on <paramref name="localSamples"/> of the step's
    /// <paramref name="globalSamples"/> (its gradients are the mean over its own samples, or zero when it had none):
    /// leaves on every rank the gradients the step would have on one process, or leaves them local (local SGD).
    /// <paramref name="signals"/> is the step's recording when a topology hook reads it, to be made the global batch's.
    /// </summary>
    void AfterBackward(SparseNetwork network, int localSamples, int globalSamples, SignalRecorder? signals);

    /// <summary>After the optimizer step numbered <paramref name="stepNumber"/> (1 for the first of the run).</summary>
    void AfterStep(SparseNetwork network, long stepNumber);

    /// <summary>Before the hooks of a step or an epoch end that will change the topology: every rank's weights must be equal.</summary>
    void BeforeRewiring(SparseNetwork network);

    /// <summary>After hooks changed the topology, and at every epoch end (<paramref name="moment"/> names it for an error): checks that every rank holds the same network.</summary>
    void AfterRewiring(SparseNetwork network, string moment);

    /// <summary>The epoch's loss sum, correct count and samples summed over the ranks.</summary>
    (double Loss, long Correct, long Seen) SumOverRanks(double loss, long correct, long seen);
}
