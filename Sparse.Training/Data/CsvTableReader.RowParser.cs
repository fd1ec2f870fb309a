using System.Runtime.CompilerServices;
using nietras.SeparatedValues;

namespace Sparse.Training;

// Turning a row's cells into numbers, with the cell named on error.
public static partial class CsvTableReader
{
    /// <summary>Parses a row's cells into its feature slot; safe to call from several threads at once.</summary>
    private sealed class RowParser(string path, int[] map, int labelColumn, string[] names)
    {
        /// <summary>A row from the reader.</summary>
        public RowOutcome Parse(SepReader.Row row, Span<float> destination)
        {
            // Sep reports the first row's line as 2; every later row (read in order) starts where it says.
            var line = row.RowIndex == 0 ? 1 : row.LineNumberFrom;
            return Parse(new SepCells(row), line, row.LineNumberToExcl - line, destination);
        }

        /// <summary>The first row, read as text before the header was decided.</summary>
        public RowOutcome Parse(string[] cells, int line, int lines, Span<float> destination) => Parse(new TextCells(cells), line, lines, destination);

        // Fully optimised from the first call: a file is read once, so tiered compilation would parse most of it
        // with unoptimised code (docs/performance.md, "Reading CSV").
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private RowOutcome Parse<TCells>(TCells cells, int line, int lines, Span<float> destination)
            where TCells : ICells, allows ref struct
        {
            if (cells.Count == 1 && map.Length > 1 && cells[0].IsWhiteSpace())
            {
                return RowOutcome.BlankLine;
            }

            if (cells.Count != map.Length)
            {
                return Ragged(cells.Count, line, lines);
            }

            string? label = null;
            for (var c = 0; c < map.Length; c++)
            {
                var slot = map[c];
                if (slot >= 0)
                {
                    var cell = cells[c];
                    if (!CsvNumber.TryParse(cell, out destination[slot]) || !float.IsFinite(destination[slot]))
                    {
                        return Bad(cell, c, line, lines);
                    }
                }
                else if (c == labelColumn)
                {
                    var cell = cells[c].Trim();
                    if (cell.IsEmpty)
                    {
                        return new RowOutcome(null, $"{path}:{line}:{c + 1}: missing label in column '{Shorten(names[c])}'.");
                    }

                    label = cell.ToString();
                }
            }

            return new RowOutcome(label, null);
        }

        private RowOutcome Ragged(int fields, int line, int lines) =>
            new(null, $"{path}:{line}: ragged row: {fields} fields, expected {map.Length} like line 1{Spanning(line, lines)}.");

        private RowOutcome Bad(ReadOnlySpan<char> cell, int column, int line, int lines)
        {
            if (cell.IsWhiteSpace())
            {
                return new(null, $"{path}:{line}:{column + 1}: column '{Shorten(names[column])}' is empty; missing values are not supported, so fill or drop them{Spanning(line, lines)}.");
            }

            var what = CsvNumber.TryParse(cell, out _) ? "is NaN, infinite or beyond the float range" : "is not a number";
            return new(null, $"{path}:{line}:{column + 1}: '{Shorten(cell)}' in column '{Shorten(names[column])}' {what}{Spanning(line, lines)}.");
        }

        // A row over several lines is a quoted field with line breaks, most often a quote that was never closed.
        private static string Spanning(int line, int lines) =>
            lines > 1 ? $" (the row runs over lines {line} to {line + lines - 1}: is a quote not closed?)" : string.Empty;
    }
}
