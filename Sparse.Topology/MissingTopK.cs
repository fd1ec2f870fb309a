namespace Sparse.Topology;

/// <summary>Scores the positions of a block of rows: <c>scores[r * columns + i]</c> for row <c>first + r</c>, column <c>i</c>.</summary>
internal interface IBlockScorer
{
    void Score(int first, int rows, Span<float> scores);
}

/// <summary>
/// The <c>k</c> best-scoring positions missing from a sparse structure, found a block of rows at a time
/// with a running top-k, so the dense score matrix never exists. Peak extra memory:
/// <c>4 x blockRows x columns</c> bytes for the block of scores plus about 24 bytes per kept candidate
/// (<c>k</c> entries); the default block holds 2^18 scores (1 MiB). Ties go to the lower (row, column).
/// </summary>
internal static class MissingTopK
{
    /// <summary>
    /// Scratch per selected candidate: the heap's element and priority (about 32 bytes), the returned list (12), and
    /// the evolver's counting sort of the unordered result (16). EvolverTests measures a step against it.
    /// </summary>
    public const long BytesPerSelected = 64;

    /// <summary>Scores per block when the caller does not choose.</summary>
    public const int DefaultBlockScores = 1 << 18;

    public static List<(int Row, int Column, float Score)> Select(Sparse.Core.CsrMatrix kept, int k, IBlockScorer scorer, int blockRows = 0)
    {
        var columns = kept.Columns;
        if (blockRows <= 0)
        {
            blockRows = Math.Max(1, DefaultBlockScores / Math.Max(1, columns));
        }

        // A min-heap on "worse first": lower score, then higher position, is worse.
        var heap = new PriorityQueue<(int Row, int Column, float Score), (float Score, long Position)>(k + 1, WorseFirst.Instance);
        var scores = new float[Math.Min(blockRows, Math.Max(1, kept.Rows)) * (long)columns];
        for (var first = 0; first < kept.Rows && k > 0; first += blockRows)
        {
            var rows = Math.Min(blockRows, kept.Rows - first);
            var block = scores.AsSpan(0, rows * columns);
            scorer.Score(first, rows, block);
            for (var r = 0; r < rows; r++)
            {
                var row = first + r;
                var next = (int)kept.RowPointers[row];
                var end = (int)kept.RowPointers[row + 1];
                for (var column = 0; column < columns; column++)
                {
                    // Walk the sorted row alongside: stored positions are not candidates.
                    if (next < end && kept.ColumnIndices[next] == column)
                    {
                        next++;
                        continue;
                    }

                    var score = block[(r * columns) + column];
                    var priority = (score, ((long)row * columns) + column);
                    if (heap.Count < k)
                    {
                        heap.Enqueue((row, column, score), priority);
                    }
                    else if (WorseFirst.Instance.Compare(PeekPriority(heap), priority) < 0)
                    {
                        heap.EnqueueDequeue((row, column, score), priority);
                    }
                }
            }
        }

        var result = new List<(int Row, int Column, float Score)>(heap.Count);
        while (heap.Count > 0)
        {
            result.Add(heap.Dequeue());
        }

        result.Reverse();
        return result;
    }

    private static (float Score, long Position) PeekPriority(PriorityQueue<(int Row, int Column, float Score), (float Score, long Position)> heap)
    {
        heap.TryPeek(out _, out var priority);
        return priority;
    }

    private sealed class WorseFirst : IComparer<(float Score, long Position)>
    {
        public static readonly WorseFirst Instance = new();

        public int Compare((float Score, long Position) x, (float Score, long Position) y)
        {
            var byScore = x.Score.CompareTo(y.Score);
            return byScore != 0 ? byScore : y.Position.CompareTo(x.Position);
        }
    }
}
