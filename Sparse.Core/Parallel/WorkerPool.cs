using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace Sparse.Core;

/// <summary>
/// Long-lived worker threads that run the chunks of one kernel call at a time, with no allocation per
/// call: the action stays on the caller's stack and workers reach it through a pointer and a static
/// generic function pointer. Workers spin briefly after a call (kernels come in quick succession during
/// training), then sleep.
/// </summary>
internal sealed unsafe class WorkerPool
{
    // 1 ms: the gaps between a training step's kernels (activations, loss, optimizer) run to a few hundred
    // microseconds, and a worker asleep in one costs a wake-up ('Sparse.Bench epoch 6' compares spins).
    private static readonly long SpinTicks = Stopwatch.Frequency / 1000;

    public static readonly WorkerPool Shared = new();

    private readonly Lock _runLock = new();
    private readonly object _wakeGate = new();
    private Thread[] _threads = [];

    // The current job, published before _generation is bumped.
    private delegate*<void*, int, void> _invoke;
    private void* _action;
    private int _chunkCount;
    private int _participants;
    private int _nextChunk;
    private int _running;
    private long _generation;
    private int _sleepers;

    /// <summary>Calls that ran on more than the calling thread since the process started: a test sees from it whether work stayed on one thread.</summary>
    public long ParallelCalls => Volatile.Read(ref _generation);

    /// <summary>
    /// Runs <c>action.Execute(c)</c> for every <c>c</c> in <c>[0, chunkCount)</c> on up to
    /// <paramref name="threads"/> threads (the caller included) and returns when all are done.
    /// Runs inline when one thread is asked for, or when another call is already using the pool.
    /// </summary>
    public void Run<TAction>(ref TAction action, int chunkCount, int threads)
        where TAction : struct, IChunkAction
    {
        threads = Math.Min(threads, chunkCount);
        if (threads <= 1 || !_runLock.TryEnter())
        {
            for (var c = 0; c < chunkCount; c++)
            {
                action.Execute(c);
            }

            return;
        }

        try
        {
            EnsureWorkers(threads - 1);
            _invoke = &Invoke<TAction>;
            _action = Unsafe.AsPointer(ref action);
            _chunkCount = chunkCount;
            _participants = threads - 1;
            _nextChunk = 0;
            _running = threads - 1;
            Interlocked.Increment(ref _generation);
            if (Volatile.Read(ref _sleepers) > 0)
            {
                lock (_wakeGate)
                {
                    Monitor.PulseAll(_wakeGate);
                }
            }

            int chunk;
            while ((chunk = Interlocked.Increment(ref _nextChunk) - 1) < chunkCount)
            {
                action.Execute(chunk);
            }

            var spinner = default(SpinWait);
            while (Volatile.Read(ref _running) != 0)
            {
                spinner.SpinOnce(sleep1Threshold: -1);
            }

            _action = null;
        }
        finally
        {
            _runLock.Exit();
        }
    }

    private static void Invoke<TAction>(void* action, int chunk)
        where TAction : struct, IChunkAction => Unsafe.AsRef<TAction>(action).Execute(chunk);

    private void EnsureWorkers(int count)
    {
        if (_threads.Length < count)
        {
            AddWorkers(count);
        }
    }

    // Kept apart from EnsureWorkers: the lambda's captured variables live in a closure object that C#
    // allocates on entry to the method declaring them, which cost 32 bytes on every kernel call.
    private void AddWorkers(int count)
    {
        var threads = new Thread[count];
        Array.Copy(_threads, threads, _threads.Length);

        // A new worker must treat the job about to be published as new, however late the thread starts.
        var seen = Volatile.Read(ref _generation);
        for (var i = _threads.Length; i < count; i++)
        {
            var index = i;
            threads[i] = new Thread(() => WorkerLoop(index, seen))
            {
                IsBackground = true,
                Name = $"Sparse kernel worker {index}",
            };
            threads[i].Start();
        }

        _threads = threads;
    }

    private void WorkerLoop(int index, long seen)
    {
        while (true)
        {
            seen = WaitForJob(seen);
            if (index >= _participants)
            {
                continue;
            }

            var chunkCount = _chunkCount;
            int chunk;
            while ((chunk = Interlocked.Increment(ref _nextChunk) - 1) < chunkCount)
            {
                _invoke(_action, chunk);
            }

            Interlocked.Decrement(ref _running);
        }
    }

    private long WaitForJob(long seen)
    {
        var start = Stopwatch.GetTimestamp();
        var spinner = default(SpinWait);
        while (Stopwatch.GetTimestamp() - start < SpinTicks)
        {
            var generation = Volatile.Read(ref _generation);
            if (generation != seen)
            {
                return generation;
            }

            spinner.SpinOnce(sleep1Threshold: -1);
        }

        // Announce the sleep before the last look at the generation, so a job published after that look
        // sees a sleeper and pulses; the caller bumps the generation before it reads _sleepers.
        lock (_wakeGate)
        {
            Interlocked.Increment(ref _sleepers);
            try
            {
                long generation;
                while ((generation = Volatile.Read(ref _generation)) == seen)
                {
                    Monitor.Wait(_wakeGate);
                }

                return generation;
            }
            finally
            {
                Interlocked.Decrement(ref _sleepers);
            }
        }
    }
}
