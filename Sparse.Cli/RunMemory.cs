namespace Sparse.Cli;

/// <summary>
/// The memory of a whole <c>sparse train</c> process, estimated before the first epoch and measured after the last:
/// the resident set once the rows are read and the network built (measured: the runtime, the rows and whatever the
/// reader left for the collector), the collector's headroom, and what training adds (<see cref="MemoryEstimate"/>:
/// optimizer state, gradients, activations, the evolution step's scratch); against the peak resident set the operating
/// system reports. The headroom is the garbage a run lets grow before a collection, measured on a 2-core AVX2 machine:
/// <c>sparse train --epochs 3</c> on the digits peaks 9-11 MiB above its resident set before training (1.3 MiB of training
/// estimate), with <c>--hidden 512,512,512,512,512,512,512,512</c> 22-27 MiB (3.4 MiB); 16 MiB lies between. RunMemoryTests
/// holds the estimate within 25 % of the peak on the digits, that deep network and a 100,000-column file.
/// </summary>
internal sealed class RunMemory
{
    private const long CollectorHeadroomBytes = 16L << 20;

    private long _built;

    /// <summary>What training adds, from the trainer's estimate.</summary>
    public long TrainingBytes { get; private set; }

    /// <summary>What the process is estimated to peak at (at least the peak before training).</summary>
    public long EstimatedPeak { get; private set; }

    /// <summary>The peak resident set so far, as the operating system reports it.</summary>
    public static long MeasuredPeak
    {
        get
        {
            using var process = System.Diagnostics.Process.GetCurrentProcess();
            return process.PeakWorkingSet64;
        }
    }

    /// <summary>Takes the resident set now (rows read, network built) and adds what training will.</summary>
    public void Training(MemoryBreakdown estimate)
    {
        _built = Environment.WorkingSet;
        TrainingBytes = estimate.TotalBytes;
        EstimatedPeak = Math.Max(MeasuredPeak, _built + CollectorHeadroomBytes + TrainingBytes);
    }

    /// <summary>One line: measured against estimated, and the estimate's parts.</summary>
    public string Describe() =>
        $"memory: peak {MemoryEstimate.Gib(MeasuredPeak)} measured, {MemoryEstimate.Gib(EstimatedPeak)} estimated before training " +
        $"(resident with the rows read and the network built {MemoryEstimate.Gib(_built)}, collector headroom {MemoryEstimate.Gib(CollectorHeadroomBytes)}, training {MemoryEstimate.Gib(TrainingBytes)})";
}
