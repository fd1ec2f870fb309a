using Sparse.Core;

namespace Sparse.Topology;

/// <summary>Scores every position of one row: <c>scores[i]</c> for column <c>i</c>. Rows are scored on several threads at once.</summary>
internal interface IBlockScorer
{
    /// <summary>Rows a worker scores in one call (<see cref="ScoreRows"/>), for scorers that share reads across rows.</summary>
    int RowsPerTask => 1;

    void ScoreRow(int row, Span<float> scores);

    /// <summary>Rows <c>first .. first + count - 1</c>, one after another in <paramref name="scores"/> (<c>count x columns</c>).</summary>
    void ScoreRows(int first, int count, Span<float> scores)
    {
        var columns = scores.Length / count;
        for (var r = 0; r < count; r++)
        {
            ScoreRow(first + r, scores.Slice(r * columns, columns));
        }
    }
}

/// <summary>
/// The <c>k</c> best-scoring positions missing from a sparse structure, found a block of rows at a time, so the dense
/// score matrix never exists. Candidates go into a buffer of <c>2k</c>; when it fills, a radix select finds the k-th
/// best score, the buffer keeps the k best (in position order) and later candidates must beat that score to enter:
/// O(1) for the many that do not, no heap. Peak extra memory: <c>4 x blockRows x columns</c> bytes for the block of
/// scores plus 12 bytes per buffered candidate (<c>2k</c>); the default block holds 2^18 scores (1 MiB). Ties go to
/// the lower (row, column), and the result comes in (row, column) order.
/// </summary>
internal static class MissingTopK
{
    /// <summary>
    /// Scratch per selected candidate: the buffer of twice as many (24 bytes) and the returned list (12).
    /// EvolverTests measures a step against it.
    /// </summary>
    public const long BytesPerSelected = 36;

    /// <summary>Scores per block when the caller does not choose.</summary>
    public const int DefaultBlockScores = 1 << 18;

    public static List<(int Row, int Column, float Score)> Select(Sparse.Core.CsrMatrix kept, int k, IBlockScorer scorer, ComputeOptions options, int blockRows = 0)
    {
        var columns = kept.Columns;
        if (k <= 0)
        {
            return [];
        }

        if (blockRows <= 0)
        {
            blockRows = Math.Max(1, DefaultBlockScores / Math.Max(1, columns));
        }

        var buffer = new Candidates(2 * k);
        var scores = new float[Math.Min(blockRows, Math.Max(1, kept.Rows)) * (long)columns];
        for (var first = 0; first < kept.Rows; first += blockRows)
        {
            var rows = Math.Min(blockRows, kept.Rows - first);
            var block = scores.AsSpan(0, rows * columns);
            var perTask = Math.Max(1, scorer.RowsPerTask);
            var action = new ScoreRows(scorer, first, rows, perTask, columns, scores);
            SparseParallel.Run(ref action, (rows + perTask - 1) / perTask, options);
            for (var r = 0; r < rows; r++)
            {
                var row = first + r;
                var next = (int)kept.RowPointers[row];
                var end = (int)kept.RowPointers[row + 1];
                var line = block.Slice(r * columns, columns);
                for (var column = 0; column < columns; column++)
                {
                    // Walk the sorted row alongside: stored positions are not candidates.
                    if (next < end && kept.ColumnIndices[next] == column)
                    {
                        next++;
                        continue;
                    }

                    // A later position with an equal score loses the tie, so only a better one enters.
                    var score = line[column];
                    if (buffer.Full ? score > buffer.Threshold : true)
                    {
                        buffer.Add(row, column, float.IsNaN(score) ? float.NegativeInfinity : score, k);
                    }
                }
            }
        }

        buffer.KeepBest(k);
        var result = new List<(int Row, int Column, float Score)>(buffer.Count);
        for (var n = 0; n < buffer.Count; n++)
        {
            result.Add((buffer.Rows[n], buffer.Columns[n], buffer.Scores[n]));
        }

        return result;
    }

    // A few rows of a block per chunk, on the kernels' worker threads; each row is written by one thread.
    private readonly struct ScoreRows(IBlockScorer scorer, int first, int rows, int perTask, int columns, float[] scores) : IChunkAction
    {
        public void Execute(int task)
        {
            var r = task * perTask;
            var count = Math.Min(perTask, rows - r);
            scorer.ScoreRows(first + r, count, scores.AsSpan(r * columns, count * columns));
        }
    }

    /// <summary>Buffered candidates in position order, cut back to the best k whenever the buffer fills.</summary>
    private sealed class Candidates(int capacity)
    {
        public readonly int[] Rows = new int[capacity];
        public readonly int[] Columns = new int[capacity];
        public readonly float[] Scores = new float[capacity];

        public int Count { get; private set; }

        /// <summary>Whether a cut has happened: then <see cref="Threshold"/> is the k-th best score so far.</summary>
        public bool Full { get; private set; }

        public float Threshold { get; private set; } = float.NegativeInfinity;

        public void Add(int row, int column, float score, int k)
        {
            if (Count == Rows.Length)
            {
                KeepBest(k);
            }

            Rows[Count] = row;
            Columns[Count] = column;
            Scores[Count] = score;
            Count++;
        }

        // Keeps the k best (score, then lower position), in position order.
        public void KeepBest(int k)
        {
            if (Count <= k)
            {
                return;
            }

            var threshold = KthLargest(Scores.AsSpan(0, Count), k, out var above);
            var ties = k - above;
            var kept = 0;
            for (var n = 0; n < Count; n++)
            {
                var score = Scores[n];
                if (score > threshold || (score == threshold && ties-- > 0))
                {
                    Rows[kept] = Rows[n];
                    Columns[kept] = Columns[n];
                    Scores[kept] = score;
                    kept++;
                }
            }

            Count = kept;
            Threshold = threshold;
            Full = true;
        }
    }

    // The k-th largest of `scores` (no NaN), by a radix select on keys that order like the floats: three passes of
    // 11-, 11- and 10-bit buckets over a histogram on the stack. `above` counts the scores strictly larger.
    internal static float KthLargest(ReadOnlySpan<float> scores, int k, out int above)
    {
        static uint Key(float value)
        {
            var bits = BitConverter.SingleToUInt32Bits(value == 0 ? 0f : value); // -0 ties with +0
            return (bits & 0x80000000) != 0 ? ~bits : bits | 0x80000000;
        }

        Span<int> histogram = stackalloc int[1 << 11];
        var seen = 0;
        uint prefix = 0;
        var known = 0; // high bits of the answer fixed so far
        foreach (var (shift, width) in new[] { (21, 11), (10, 11), (0, 10) })
        {
            histogram.Clear();
            var mask = (1u << width) - 1;
            foreach (var score in scores)
            {
                var key = Key(score);
                if (known == 0 || key >> (32 - known) == prefix)
                {
                    histogram[(int)((key >> shift) & mask)]++;
                }
            }

            var bucket = (int)mask;
            for (; seen + histogram[bucket] < k; bucket--)
            {
                seen += histogram[bucket];
            }

            prefix = (prefix << width) | (uint)bucket;
            known += width;
        }

        above = seen;
        return BitConverter.UInt32BitsToSingle((prefix & 0x80000000) != 0 ? prefix & 0x7FFFFFFF : ~prefix);
    }
}
