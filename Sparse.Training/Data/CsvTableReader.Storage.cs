using System.Runtime.InteropServices;

namespace Sparse.Training;

// Where the rows read go: features by row index, labels by class.
public static partial class CsvTableReader
{
    /// <summary>
    /// Feature rows by index: one array sized by the line bound when it is known (rows written in parallel),
    /// else chunks filled in order, so reading never holds more than the final array and one copy of it.
    /// </summary>
    private sealed class FeatureStore
    {
        private readonly string _path;
        private readonly int _features;
        private readonly List<float[]> _chunks = [];
        private readonly long _rowsPerChunk;

        public FeatureStore(string path, int features, long rowBound)
        {
            _path = path;
            _features = features;
            var maxRows = Array.MaxLength / features;
            if (rowBound > maxRows)
            {
                // Lines are an upper bound; chunks grow only as far as the rows really go.
                rowBound = -1;
            }

            _rowsPerChunk = rowBound > 0 ? rowBound : Math.Max(1, Math.Min(maxRows, (1 << 20) / features));
            if (rowBound > 0)
            {
                // Allocated before the parallel rows write into it: Row must not add chunks from several threads.
                _chunks.Add(GC.AllocateUninitializedArray<float>((int)(rowBound * features)));
            }
        }

        public Span<float> Row(long row)
        {
            var chunk = (int)(row / _rowsPerChunk);
            while (chunk >= _chunks.Count)
            {
                if ((_chunks.Count + 1) * _rowsPerChunk * _features > Array.MaxLength)
                {
                    throw new DataFormatException($"{_path}: more than {Array.MaxLength:N0} feature values; split the file.");
                }

                _chunks.Add(GC.AllocateUninitializedArray<float>((int)(_rowsPerChunk * _features)));
            }

            return _chunks[chunk].AsSpan((int)(row % _rowsPerChunk * _features), _features);
        }

        public float[] ToArray(long rows)
        {
            var length = rows * _features;
            if (_chunks.Count == 1 && _chunks[0].Length == length)
            {
                return _chunks[0];
            }

            var result = GC.AllocateUninitializedArray<float>((int)length);
            var offset = 0L;
            for (var n = 0; n < _chunks.Count && offset < length; n++)
            {
                var take = (int)Math.Min(_chunks[n].Length, length - offset);
                _chunks[n].AsSpan(0, take).CopyTo(result.AsSpan((int)offset));
                offset += take;
                _chunks[n] = [];
            }

            return result;
        }
    }

    /// <summary>Label text per row; repeated labels share one string while there are few distinct ones.</summary>
    private sealed class LabelColumn
    {
        private readonly List<string> _labels = [];
        private readonly Dictionary<string, string> _distinct = new(StringComparer.Ordinal);

        public void Add(ReadOnlySpan<char> label)
        {
            var lookup = _distinct.GetAlternateLookup<ReadOnlySpan<char>>();
            if (!lookup.TryGetValue(label, out var text))
            {
                text = label.ToString();
                if (_distinct.Count < 65_536)
                {
                    _distinct[text] = text;
                }
            }

            _labels.Add(text);
        }

        public string[] ToArray() => [.. CollectionsMarshal.AsSpan(_labels)];
    }
}
