using System.Globalization;

namespace Sparse.Training;

/// <summary>
/// How label text becomes classes, as a user means it: when every label of a column is a finite number, labels are
/// compared as numbers (<c>1</c>, <c>1.0</c> and <c>1e0</c> are one class, named by the spelling written most often
/// and ordered by value), else as text after trimming surrounding spaces (ordered ordinally).
/// </summary>
public static class ClassLabels
{
    /// <summary>Whether <paramref name="label"/> is a finite number in the invariant culture, and which.</summary>
    public static bool TryNumber(string label, out double value)
    {
        ArgumentNullException.ThrowIfNull(label);
        return double.TryParse(label.AsSpan().Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out value) && double.IsFinite(value);
    }

    /// <summary>Whether every one of <paramref name="labels"/> is a number, so they are compared as numbers.</summary>
    public static bool AreNumbers(IEnumerable<string> labels) => labels.All(l => TryNumber(l, out _));

    /// <summary>
    /// What <paramref name="label"/> is compared by: its value as round-trip text when <paramref name="numeric"/> and it is a
    /// number (minus zero as zero), else the label trimmed.
    /// </summary>
    public static string Key(string label, bool numeric)
    {
        ArgumentNullException.ThrowIfNull(label);
        return numeric && TryNumber(label, out var value)
            ? (value == 0 ? 0 : value).ToString("R", CultureInfo.InvariantCulture)
            : label.Trim();
    }

    /// <summary>
    /// The classes of <paramref name="labels"/>: one per value (numbers) or per trimmed text, each named by its most
    /// frequent spelling (the first of equally frequent ones), numbers ordered by value and text ordinally.
    /// </summary>
    public static string[] Distinct(IReadOnlyList<string> labels)
    {
        ArgumentNullException.ThrowIfNull(labels);
        var numeric = AreNumbers(labels);
        var spellings = new Dictionary<string, Dictionary<string, int>>(StringComparer.Ordinal);
        foreach (var label in labels)
        {
            var key = Key(label, numeric);
            if (!spellings.TryGetValue(key, out var counts))
            {
                spellings[key] = counts = new Dictionary<string, int>(StringComparer.Ordinal);
            }

            var spelling = label.Trim();
            counts[spelling] = counts.GetValueOrDefault(spelling) + 1;
        }

        // Dictionary enumeration follows insertion while nothing is removed: the first spelling wins a tie.
        var classes = spellings.Select(p => (Key: p.Key, Name: p.Value.MaxBy(c => c.Value).Key));
        return numeric
            ? [.. classes.OrderBy(c => double.Parse(c.Key, CultureInfo.InvariantCulture)).Select(c => c.Name)]
            : [.. classes.Select(c => c.Name).Order(StringComparer.Ordinal)];
    }
}
