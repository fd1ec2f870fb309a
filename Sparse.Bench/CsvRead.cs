namespace Sparse.Bench;

/// <summary>
/// <c>csv FILE [REPEATS]</c>: reads a CSV file with <see cref="CsvTableReader"/> (warm-up, then REPEATS timed
/// reads) and prints MB/s of CSV text and the peak managed heap growth against the final float array.
/// </summary>
internal static class CsvRead
{
    public static void Run(string path, int repeats)
    {
        // Throughput counts the CSV text: for a .gz file, the uncompressed size its trailer records (mod 4 GiB).
        var bytes = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? GzipSize(path) : new FileInfo(path).Length;
        _ = CsvTableReader.Read(path, null, null);
        for (var r = 0; r < repeats; r++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            var before = GC.GetTotalMemory(forceFullCollection: true);
            using var sampler = new PeakSampler();
            var watch = Stopwatch.StartNew();
            var table = CsvTableReader.Read(path, null, null);
            var seconds = watch.Elapsed.TotalSeconds;
            var peak = sampler.Stop() - before;
            var floats = table.Features.Length * 4L;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{path}: {table.Rows:N0} x {table.FeatureNames.Length:N0} in {seconds:F3} s = {bytes / seconds / 1e6:F1} MB/s; managed peak {peak / 1048576.0:F0} MiB = {(double)peak / floats:F2}x the {floats / 1048576.0:F0} MiB float array"));
            GC.KeepAlive(table);
        }
    }

    private static long GzipSize(string path)
    {
        using var file = File.OpenRead(path);
        file.Seek(-4, SeekOrigin.End);
        Span<byte> size = stackalloc byte[4];
        file.ReadExactly(size);
        return System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(size);
    }

    /// <summary>Samples the managed heap size every millisecond on a background thread.</summary>
    private sealed class PeakSampler : IDisposable
    {
        private readonly Thread _thread;
        private volatile bool _stop;
        private long _peak;

        public PeakSampler()
        {
            _thread = new Thread(() =>
            {
                while (!_stop)
                {
                    _peak = Math.Max(_peak, GC.GetTotalMemory(false));
                    Thread.Sleep(1);
                }
            })
            { IsBackground = true };
            _thread.Start();
        }

        public long Stop()
        {
            _stop = true;
            _thread.Join();
            return Math.Max(_peak, GC.GetTotalMemory(false));
        }

        public void Dispose() => _stop = true;
    }
}
