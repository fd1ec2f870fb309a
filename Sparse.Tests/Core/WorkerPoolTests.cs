using Sparse.Core;

namespace Sparse.Tests.Core;

[TestFixture]
public class WorkerPoolTests
{
    private struct CountChunks(int[] hits) : IChunkAction
    {
        public readonly void Execute(int chunk) => Interlocked.Increment(ref hits[chunk]);
    }

    [Test]
    public void A_job_published_as_its_workers_start_still_runs_every_chunk()
    {
        // Regression: a worker thread that started after the first job was published used to miss it,
        // and the caller waited forever. Fresh pools make the start race happen every time.
        var run = Task.Run(() =>
        {
            for (var n = 0; n < 40; n++)
            {
                var pool = new WorkerPool();
                foreach (var chunks in new[] { 1, 2, 5, 64 })
                {
                    var hits = new int[chunks];
                    var action = new CountChunks(hits);
                    pool.Run(ref action, chunks, threads: 3);
                    Assert.That(hits, Is.All.EqualTo(1), $"pool {n}, {chunks} chunks");
                }
            }
        });
        Assert.That(run.Wait(TimeSpan.FromSeconds(60)), Is.True, "the pool deadlocked");
        run.GetAwaiter().GetResult();
    }
}
