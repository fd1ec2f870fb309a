using System.Buffers;
using System.Diagnostics;
using System.Text;
using Sparse.Core;

namespace Sparse.Training;

/// <summary>
/// Reads svmlight / LIBSVM files (<c>label index:value index:value ... # comment</c>, one sample a line), the format
/// scikit-learn, XGBoost, LightGBM and LIBSVM read, into sparse rows whose memory is proportional to the values the
/// file holds. The rules are scikit-learn's: tokens are separated by ASCII whitespace, <c>#</c> starts a comment, blank
/// lines are skipped, indices increase strictly along a line, and indices count from 1 unless an index 0 occurs (or
/// <see cref="SvmLightOptions.ZeroBased"/> says). Labels are kept as text, as <see cref="CsvTableReader"/> keeps them, so
/// numbers and class names both work; a query id (<c>qid:</c>, for ranking) and multi-label lines are refused. Files
/// whose name ends in <c>.gz</c> are decompressed with their length and CRC-32 checked. Blocks of lines parse on all
/// cores. Every error names the file, the line, the column and the token.
/// </summary>
public static class SvmLightReader
{
    // Bytes of lines a block holds (a longer line makes its block longer), and blocks parsing at once per core.
    private const int BlockBytes = 1 << 20;
    private const int BlocksPerCore = 2;

    /// <summary>Whether <paramref name="path"/> names a svmlight file by its extension: <c>.svm</c>, <c>.svmlight</c> or <c>.libsvm</c>, optionally with <c>.gz</c>.</summary>
    public static bool IsSvmLightPath(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var name = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? path[..^3] : path;
        return name.EndsWith(".svm", StringComparison.OrdinalIgnoreCase) || name.EndsWith(".svmlight", StringComparison.OrdinalIgnoreCase) ||
            name.EndsWith(".libsvm", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>Reads one file.</summary>
    /// <exception cref="DataFormatException">The file is missing, empty, damaged or malformed; the message names the file, line, column and token.</exception>
    public static SvmLightTable Read(string path, SvmLightOptions? options = null, Action<string>? report = null) =>
        Read([path], options, report)[0];

    /// <summary>
    /// Reads files that describe the same features (a training and a test file), as scikit-learn's
    /// <c>load_svmlight_files</c> does: the index base is detected over all of them and they share one feature count.
    /// </summary>
    /// <exception cref="DataFormatException">A file is missing, empty, damaged or malformed, or holds an index at or beyond
    /// <see cref="SvmLightOptions.FeatureCount"/>; the message names the file, line, column and token.</exception>
    public static IReadOnlyList<SvmLightTable> Read(IReadOnlyList<string> paths, SvmLightOptions? options = null, Action<string>? report = null)
    {
        ArgumentNullException.ThrowIfNull(paths);
        options ??= new SvmLightOptions();
        if (options.FeatureCount is <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.FeatureCount, "The feature count must be positive.");
        }

        var watch = Stopwatch.StartNew();
        var files = paths.Select(path => ReadRaw(path, options.ZeroBased == false)).ToArray();

        // scikit-learn's rule: one-based unless an index 0 occurs (a file of no values says nothing either way).
        var oneBased = options.ZeroBased is { } zero ? !zero : files.All(f => !f.HasIndex || f.MinIndex > 0);
        var shift = oneBased ? 1 : 0;
        var largest = files.Max(f => f.HasIndex ? f.MaxIndex.Value - shift : -1);
        var width = options.FeatureCount ?? Math.Max(1, largest + 1);
        foreach (var file in files)
        {
            if (file.HasIndex && file.MaxIndex.Value - shift >= width)
            {
                var (value, line, column) = file.MaxIndex;
                throw new DataFormatException($"{file.Path}:{line}:{column}: index {value} is feature {value - shift + 1} " +
                    $"({(oneBased ? "one" : "zero")}-based), beyond the {width:N0} features{(options.FeatureCount is null ? string.Empty : " given")}.");
            }
        }

        var tables = new SvmLightTable[files.Length];
        for (var f = 0; f < files.Length; f++)
        {
            var file = files[f];
            if (shift != 0)
            {
                foreach (ref var index in file.Indices.AsSpan())
                {
                    index -= shift;
                }
            }

            tables[f] = new SvmLightTable(file.Path, new CsrMatrix(file.Labels.Length, width, file.RowPointers, file.Indices, file.Values), file.Labels, oneBased);
            report?.Invoke($"read {file.Labels.Length:N0} rows, {file.Values.Length:N0} values of {width:N0} features from {file.Path} " +
                $"({file.Bytes / Math.Max(1e-9, watch.Elapsed.TotalSeconds) / 1e6:F0} MB/s)");
        }

        return tables;
    }

    /// <summary>A file's rows with indices as written.</summary>
    private sealed record RawFile(string Path, long[] RowPointers, int[] Indices, float[] Values, string[] Labels, int MinIndex, Located MaxIndex, long Bytes)
    {
        /// <summary>Whether any index:value pair was read (explicit zeros included).</summary>
        public bool HasIndex => MaxIndex.Line > 0;
    }

    /// <summary>A value and where it was read.</summary>
    private readonly record struct Located(int Value, long Line, int Column);

    private static RawFile ReadRaw(string path, bool oneBased)
    {
        if (Directory.Exists(path))
        {
            throw new DataFormatException($"{path}: is a directory, not a svmlight file.");
        }

        if (!File.Exists(path))
        {
            throw new DataFormatException($"{path}: no such file.");
        }

        var blocks = new List<Block>();
        var pending = new Queue<Task<Block>>();
        try
        {
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
            using Stream stream = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? CheckedGZipStream.Open(path, file) : file;
            var carry = Array.Empty<byte>();
            var carried = 0;
            long bytes = 0;
            long lines = 0;
            var end = false;
            while (!end)
            {
                // A block: the carried partial line, then as much as fits; cut after its last newline, or grown until it
                // holds one (a line longer than a block), or the rest of the file.
                var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(BlockBytes, 2 * carried));
                carry.AsSpan(0, carried).CopyTo(buffer);
                var filled = carried;
                int cut;
                while (true)
                {
                    var read = stream.ReadAtLeast(buffer.AsSpan(filled), buffer.Length - filled, throwOnEndOfStream: false);
                    filled += read;
                    bytes += read;
                    end = filled < buffer.Length;
                    cut = end ? filled : buffer.AsSpan(0, filled).LastIndexOf((byte)'\n') + 1;
                    if (cut > 0 || end)
                    {
                        break;
                    }

                    var larger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                    buffer.AsSpan(0, filled).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }

                carried = filled - cut;
                if (carry.Length < carried)
                {
                    carry = new byte[Math.Max(carried, BlockBytes / 16)];
                }

                buffer.AsSpan(cut, carried).CopyTo(carry);
                var firstLine = lines + 1;
                lines += buffer.AsSpan(0, cut).Count((byte)'\n');
                var text = buffer;
                var length = cut;
                Block Parse()
                {
                    try
                    {
                        return Block.Parse(text.AsSpan(0, length), firstLine, oneBased);
                    }
                    finally
                    {
                        ArrayPool<byte>.Shared.Return(text);
                    }
                }

                if (end && blocks.Count == 0 && pending.Count == 0)
                {
                    // The whole file is one block: no task.
                    Collect(path, blocks, Parse());
                }
                else
                {
                    pending.Enqueue(Task.Run(Parse));
                }

                while (pending.Count > 0 && (end || pending.Count >= BlocksPerCore * Environment.ProcessorCount))
                {
                    Collect(path, blocks, pending.Dequeue().GetAwaiter().GetResult());
                }
            }

            return Join(path, blocks, bytes);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataFormatException($"{path}: cannot be read ({e.Message})");
        }
        catch (InvalidDataException e)
        {
            throw new DataFormatException($"{path}: not a valid gzip file ({e.Message})");
        }
        finally
        {
            // Blocks still parsing after an error return their buffers themselves; their results are dropped.
            foreach (var block in blocks)
            {
                block.Release();
            }
        }
    }

    // Keeps a block in file order, or throws its error (the first in the file, since blocks come in order).
    private static void Collect(string path, List<Block> blocks, Block block)
    {
        if (block.Error is { } error)
        {
            block.Release();
            throw new DataFormatException($"{path}:{error.Line}:{error.Column}: {error.Message}");
        }

        blocks.Add(block);
    }

    // The blocks' rows in one set of arrays, each of the final length.
    private static RawFile Join(string path, List<Block> blocks, long bytes)
    {
        var rows = blocks.Sum(b => (long)b.Rows);
        var values = blocks.Sum(b => (long)b.Count);
        if (rows == 0)
        {
            throw new DataFormatException($"{path}: {(bytes == 0 ? "the file is empty" : "no data lines (only blank lines and comments)")}.");
        }

        if (values > CsrMatrix.MaxNonZeros || rows > Array.MaxLength - 1)
        {
            throw new DataFormatException($"{path}: {values:N0} values in {rows:N0} rows, beyond the {CsrMatrix.MaxNonZeros:N0} one table holds; split the file.");
        }

        var rowPointers = new long[rows + 1];
        var indices = GC.AllocateUninitializedArray<int>((int)values);
        var numbers = GC.AllocateUninitializedArray<float>((int)values);
        var labels = new string[rows];
        int row = 0, at = 0;
        var min = int.MaxValue;
        Located max = default;
        foreach (var block in blocks)
        {
            block.Indices.AsSpan(0, block.Count).CopyTo(indices.AsSpan(at));
            block.Values.AsSpan(0, block.Count).CopyTo(numbers.AsSpan(at));
            block.Labels.AsSpan(0, block.Rows).CopyTo(labels.AsSpan(row));
            for (var r = 0; r < block.Rows; r++)
            {
                rowPointers[row + r + 1] = at + block.RowEnds[r];
            }

            row += block.Rows;
            at += block.Count;
            if (block.MaxIndex.Line > 0)
            {
                min = Math.Min(min, block.MinIndex);
                max = block.MaxIndex.Value > max.Value || max.Line == 0 ? block.MaxIndex : max;
            }

            block.Release();
        }

        blocks.Clear();
        return new RawFile(path, rowPointers, indices, numbers, labels, min, max, bytes);
    }

    /// <summary>The rows of one block of whole lines, in pooled arrays, or the first error in it.</summary>
    private sealed class Block
    {
        private static readonly SearchValues<byte> Space = SearchValues.Create(" \t\r\v\f"u8);

        private readonly Dictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> _labelLookup =
            new Dictionary<string, string>(StringComparer.Ordinal).GetAlternateLookup<ReadOnlySpan<char>>();

        // Whether the arrays are the pool's (until Compact).
        private bool _pooled = true;

        public int[] Indices { get; private set; } = [];

        public float[] Values { get; private set; } = [];

        public int Count { get; private set; }

        public int[] RowEnds { get; private set; } = [];

        public string[] Labels { get; private set; } = [];

        public int Rows { get; private set; }

        public int MinIndex { get; private set; } = int.MaxValue;

        public Located MaxIndex { get; private set; }

        public (long Line, int Column, string Message)? Error { get; private set; }

        public static Block Parse(ReadOnlySpan<byte> text, long firstLine, bool oneBased)
        {
            var block = new Block();
            // Every value takes at least 4 bytes (i:v and a separator) and every row 2 (a label and a newline).
            block.Indices = ArrayPool<int>.Shared.Rent(Math.Max(1, (text.Length / 4) + 1));
            block.Values = ArrayPool<float>.Shared.Rent(block.Indices.Length);
            block.RowEnds = ArrayPool<int>.Shared.Rent(Math.Max(1, (text.Length / 2) + 1));
            block.Labels = ArrayPool<string>.Shared.Rent(block.RowEnds.Length);
            var line = firstLine;
            if (firstLine == 1 && text.StartsWith("\uFEFF"u8))
            {
                // A UTF-8 byte order mark, as some editors write.
                text = text[3..];
            }

            while (text.Length > 0)
            {
                var newline = text.IndexOf((byte)'\n');
                var content = newline < 0 ? text : text[..newline];
                if (!block.ParseLine(content, line, oneBased))
                {
                    return block;
                }

                text = newline < 0 ? [] : text[(newline + 1)..];
                line++;
            }

            block.Compact();
            return block;
        }

        // The rows in arrays of their own length, the pooled ones returned: a block sized by its bytes holds several
        // times its values (a row's label slot for every two bytes), and the blocks of a file wait for each other.
        private void Compact()
        {
            var (indices, values, rowEnds, labels) = (Indices[..Count], Values[..Count], RowEnds[..Rows], Labels[..Rows]);
            Release();
            (Indices, Values, RowEnds, Labels) = (indices, values, rowEnds, labels);
            _pooled = false;
        }

        public void Release()
        {
            if (_pooled && Indices.Length > 0)
            {
                ArrayPool<int>.Shared.Return(Indices);
                ArrayPool<float>.Shared.Return(Values);
                ArrayPool<int>.Shared.Return(RowEnds);
                ArrayPool<string>.Shared.Return(Labels, clearArray: true);
                (Indices, Values, RowEnds, Labels) = ([], [], [], []);
            }
        }

        // One line; false (with Error set) at its first bad token.
        private bool ParseLine(ReadOnlySpan<byte> line, long number, bool oneBased)
        {
            var comment = line.IndexOf((byte)'#');
            var body = comment < 0 ? line : line[..comment];
            var rest = body;
            var label = NextToken(ref rest, body, out var labelColumn);
            if (label.IsEmpty)
            {
                return true;
            }

            if (label.IndexOf((byte)':') >= 0)
            {
                return Fail(number, labelColumn, $"'{Show(label)}' stands where the label should: every line starts with its label (a number or a class name), then index:value pairs.");
            }

            if (label.IndexOf((byte)',') >= 0)
            {
                return Fail(number, labelColumn, $"'{Show(label)}': multi-label lines (labels separated by commas) are not supported; give each line one label.");
            }

            Labels[Rows] = Intern(label);
            var previous = -1L;
            while (true)
            {
                var token = NextToken(ref rest, body, out var column);
                if (token.IsEmpty)
                {
                    break;
                }

                var colon = token.IndexOf((byte)':');
                if (token.StartsWith("qid:"u8))
                {
                    return Fail(number, column, $"'{Show(token)}': query ids (qid:, for ranking) are not supported; remove them to train on the features.");
                }

                if (colon <= 0 || !TryIndex(token[..colon], out var index))
                {
                    return Fail(number, column, colon <= 0
                        ? $"'{Show(token)}' is not an index:value pair."
                        : $"'{Show(token)}': the index '{Show(token[..colon])}' is not a whole number from 0 to {int.MaxValue - 1}.");
                }

                if (index <= previous)
                {
                    return Fail(number, column, $"'{Show(token)}': index {index} after {previous}; the indices of a line must increase (as scikit-learn and LIBSVM require).");
                }

                if (oneBased && index == 0)
                {
                    return Fail(number, column, $"'{Show(token)}': index 0 in a file read as one-based; say --zero-based if its indices count from 0.");
                }

                if (!CsvNumber.TryParse(token[(colon + 1)..], out var value) || !float.IsFinite(value))
                {
                    return Fail(number, column, $"'{Show(token)}': the value '{Show(token[(colon + 1)..])}' is not a finite number.");
                }

                previous = index;
                MinIndex = Math.Min(MinIndex, (int)index);
                if (index > MaxIndex.Value || MaxIndex.Line == 0)
                {
                    MaxIndex = new Located((int)index, number, column);
                }

                // An explicit zero adds nothing to a product; sparse rows keep only what is not zero. Its index still
                // counts for the index base and the feature count, as in scikit-learn.
                if (value != 0)
                {
                    Indices[Count] = (int)index;
                    Values[Count] = value;
                    Count++;
                }
            }

            RowEnds[Rows] = Count;
            Rows++;
            return true;
        }

        private bool Fail(long line, int column, string message)
        {
            Error = (line, column, message);
            return false;
        }

        // The next whitespace-separated token of rest, and its 1-based column in line.
        private static ReadOnlySpan<byte> NextToken(ref ReadOnlySpan<byte> rest, ReadOnlySpan<byte> line, out int column)
        {
            var start = rest.IndexOfAnyExcept(Space);
            if (start < 0)
            {
                rest = [];
                column = 0;
                return [];
            }

            rest = rest[start..];
            var length = rest.IndexOfAny(Space);
            var token = length < 0 ? rest : rest[..length];
            rest = length < 0 ? [] : rest[length..];
            column = line.Length - rest.Length - token.Length + 1;
            return token;
        }

        private static bool TryIndex(ReadOnlySpan<byte> digits, out long index)
        {
            index = 0;
            if (digits.IsEmpty || digits.Length > 10)
            {
                return false;
            }

            foreach (var b in digits)
            {
                var digit = (uint)(b - '0');
                if (digit > 9)
                {
                    return false;
                }

                index = (index * 10) + digit;
            }

            return index < int.MaxValue;
        }

        // One string per distinct label in a block: labels repeat on nearly every line.
        private string Intern(ReadOnlySpan<byte> label)
        {
            Span<char> chars = stackalloc char[256];
            var text = label.Length <= chars.Length && Encoding.UTF8.TryGetChars(label, chars, out var written) ? chars[..written] : Encoding.UTF8.GetString(label).AsSpan();
            if (!_labelLookup.TryGetValue(text, out var interned))
            {
                interned = text.ToString();
                _labelLookup[text] = interned;
            }

            return interned;
        }

        private static string Show(ReadOnlySpan<byte> token) => CsvTableReader.Shorten(Encoding.UTF8.GetString(token));
    }
}
