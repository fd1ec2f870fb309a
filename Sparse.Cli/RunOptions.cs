using System.CommandLine;
using System.Text.Json;

namespace Sparse.Cli;

/// <summary>
/// The option values a training run uses: the command line's, or when resuming, the ones saved in the
/// checkpoint for every option that shapes the run (the fixed options), so <c>--resume</c> needs no other
/// flag; a flag that contradicts the checkpoint is an error naming both values.
/// </summary>
internal sealed class RunOptions : Sparse.Training.ICheckpointPart
{
    /// <summary>The checkpoint section that holds the saved values (and the metadata entry that held them in format versions 1 and 2).</summary>
    public const string SectionName = "cli.options";

    private readonly ParseResult _parse;
    private readonly IReadOnlyList<Option> _fixed;
    private readonly IReadOnlyList<Option> _overridable;
    private readonly IReadOnlyCollection<Option> _savedElsewhere;
    private readonly Dictionary<string, string>? _saved;

    /// <summary>
    /// Options read from <paramref name="parse"/>; with a <paramref name="checkpoint"/>, <paramref name="fixedOptions"/>
    /// take its saved values, and <paramref name="overridable"/> options take them unless given on the command line.
    /// The values of <paramref name="savedElsewhere"/> live in another section of the checkpoint (the recipe), which
    /// <paramref name="valuesElsewhere"/> reads; this section leaves them out.
    /// </summary>
    /// <exception cref="UserError">A fixed option given on the command line differs from its saved value.</exception>
    public RunOptions(ParseResult parse, IReadOnlyList<Option> fixedOptions, IReadOnlyList<Option> overridable, IReadOnlyCollection<Option> savedElsewhere,
        Sparse.Training.Checkpoint? checkpoint = null, string? checkpointPath = null, Func<Sparse.Training.Checkpoint, IReadOnlyDictionary<string, string>?>? valuesElsewhere = null)
    {
        _parse = parse;
        _fixed = fixedOptions;
        _overridable = overridable;
        _savedElsewhere = savedElsewhere;
        if (checkpoint is null)
        {
            return;
        }

        // A checkpoint saved from the library (Trainer.SaveCheckpoint) holds no options: the command line's apply.
        string? json;
        try
        {
            json = checkpoint.Sections.TryGetValue(SectionName, out var section) ? section.Read(1, (r, _) => r.ReadString())
                : checkpoint.Metadata.GetValueOrDefault(SectionName);
            if (json is null)
            {
                return;
            }

            _saved = JsonSerializer.Deserialize<Dictionary<string, string>>(json) ?? [];
            foreach (var (name, value) in valuesElsewhere?.Invoke(checkpoint) ?? new Dictionary<string, string>())
            {
                _saved[name] = value;
            }
        }
        catch (Exception e) when (e is JsonException or InvalidDataException)
        {
            throw new UserError($"{checkpointPath}: damaged training options ({e.Message}).");
        }

        foreach (var option in _fixed)
        {
            if (parse.GetResult(option) is { Implicit: false })
            {
                var given = Format(ValueOf(parse, option));
                var saved = _saved.GetValueOrDefault(option.Name);
                if (given != saved)
                {
                    throw new UserError($"{option.Name} {given} contradicts the checkpoint {checkpointPath}, which was trained with " +
                        $"{(saved is null ? $"no {option.Name}" : $"{option.Name} {saved}")}; --resume needs no other flag.");
                }
            }
        }
    }

    /// <summary>The value of <paramref name="option"/> for this run.</summary>
    public T? Get<T>(Option<T> option)
    {
        if (_saved is not null && (_fixed.Contains(option) || (_overridable.Contains(option) && _parse.GetResult(option) is not { Implicit: false })))
        {
            return _saved.TryGetValue(option.Name, out var text) ? Parse<T>(text) : default;
        }

        return _parse.GetValue(option);
    }

    /// <summary>The fixed and overridable options' values as JSON, in the section <see cref="SectionName"/>.</summary>
    public Sparse.Training.CheckpointSection ToCheckpointSection()
    {
        var json = ToJson();
        return Sparse.Training.CheckpointSection.Write(SectionName, 1, w => w.Write(json));
    }

    private string ToJson()
    {
        var values = new Dictionary<string, string>();
        foreach (var option in _fixed.Concat(_overridable).Except(_savedElsewhere))
        {
            if (_saved is not null && (_fixed.Contains(option) || _parse.GetResult(option) is not { Implicit: false }))
            {
                if (_saved.TryGetValue(option.Name, out var saved))
                {
                    values[option.Name] = saved;
                }
            }
            else if (Format(ValueOf(_parse, option)) is { } text)
            {
                values[option.Name] = text;
            }
        }

        return JsonSerializer.Serialize(values);
    }

    private static object? ValueOf(ParseResult parse, Option option) => option switch
    {
        Option<string> o => parse.GetValue(o),
        Option<bool> o => parse.GetValue(o),
        Option<int> o => parse.GetValue(o),
        Option<int?> o => parse.GetValue(o),
        Option<ulong> o => parse.GetValue(o),
        Option<float> o => parse.GetValue(o),
        Option<float?> o => parse.GetValue(o),
        Option<double> o => parse.GetValue(o),
        Option<double?> o => parse.GetValue(o),
        _ => throw new NotSupportedException($"{option.Name}: options of this type cannot be saved."),
    };

    /// <summary>A value as this section saves it: numbers in the invariant culture, floating point to round trip.</summary>
    public static string? Format(object? value) => value switch
    {
        null => null,
        float f => f.ToString("R", CultureInfo.InvariantCulture),
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString(),
    };

    private static T Parse<T>(string text)
    {
        var type = Nullable.GetUnderlyingType(typeof(T)) ?? typeof(T);
        // Each branch boxed on its own: a conditional chain would promote the numbers to one common type.
        object value = type switch
        {
            _ when type == typeof(string) => text,
            _ when type == typeof(bool) => (object)bool.Parse(text),
            _ when type == typeof(int) => (object)int.Parse(text, CultureInfo.InvariantCulture),
            _ when type == typeof(ulong) => (object)ulong.Parse(text, CultureInfo.InvariantCulture),
            _ when type == typeof(float) => (object)float.Parse(text, CultureInfo.InvariantCulture),
            _ when type == typeof(double) => (object)double.Parse(text, CultureInfo.InvariantCulture),
            _ => throw new NotSupportedException($"Options of type {type.Name} cannot be saved."),
        };
        return (T)value;
    }
}
