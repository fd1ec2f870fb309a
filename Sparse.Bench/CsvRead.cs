namespace Sparse.Bench;

/// <summary>
/// <c>csv FILE [REPEATS]</c>: reads a CSV file with <see cref="CsvTableReader"/>, or a svmlight file (by its name) with
/// <see cref="SvmLightReader"/> (warm-up, then REPEATS timed reads), and prints MB/s of text and the peak managed heap
/// growth against the arrays read (the float array; for svmlight the sparse rows' pointers, indices and values).
/// </summary>
internal static class CsvRead
{
    public static void Run(string path, int repeats)
    {
        // Throughput counts the CSV text: for a .gz file, the uncompressed size its trailer records (mod 4 GiB).
        var bytes = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? GzipSize(path) : new FileInfo(path).Length;
        var svmlight = SvmLightReader.IsSvmLightPath(path);
        (int Rows, int Features, long Bytes, object Table) Read()
        {
            if (svmlight)
            {
                var rows = SvmLightReader.Read(path);
                return (rows.Rows, rows.FeatureCount, (rows.Features.NonZeroCount * 8) + ((rows.Rows + 1L) * 8), rows);
            }

            var csv = CsvTableReader.Read(path, null, null);
            return (csv.Rows, csv.FeatureNames.Length, csv.Features.Length * 4L, csv);
        }

        _ = Read();
        for (var r = 0; r < repeats; r++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            var before = GC.GetTotalMemory(forceFullCollection: true);
            using var sampler = new PeakSampler();
            var watch = Stopwatch.StartNew();
            var table = Read();
            var seconds = watch.Elapsed.TotalSeconds;
            var peak = sampler.Stop() - before;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{path}: {table.Rows:N0} x {table.Features:N0} in {seconds:F3} s = {bytes / seconds / 1e6:F1} MB/s; managed peak {peak / 1048576.0:F0} MiB = " +
                $"{(double)peak / table.Bytes:F2}x the {table.Bytes / 1048576.0:F0} MiB {(svmlight ? "of sparse rows" : "float array")}"));
            GC.KeepAlive(table.Table);
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
