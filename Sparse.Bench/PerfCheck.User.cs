using System.Text.Json;
using System.Text.Json.Serialization;

namespace Sparse.Bench;

// Figures of a user's own models, described in JSON (perf-figures.json): the gate, perf-history and bisect time them
// as they time the built-in ones.
internal static partial class PerfCheck
{
    /// <summary>The file of user figures the gate reads when no <c>--figures</c> names one: in the current directory.</summary>
    public const string UserFiguresFile = "perf-figures.json";

    /// <summary>What a user figure can time.</summary>
    private static readonly string[] UserMeasures = ["train_step", "forward", "epoch", "evolution_step"];

    private static readonly JsonSerializerOptions UserJson = new()
    {
        PropertyNameCaseInsensitive = true,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        Converters = { new JsonStringEnumConverter() },
    };

    /// <summary>
    /// The figures of a user-figures file for <c>perf-pair</c>, which calls this in a context where this bench runs on
    /// another build's libraries: the model is built through the public API alone (<see cref="TrainingRecipe"/>,
    /// <see cref="SparseNetwork"/>, the optimizers), so one description times every build that has that API.
    /// </summary>
    /// <param name="path">The JSON file.</param>
    /// <param name="filter">Parts of figure names separated by commas, as perf-pair's; null for all.</param>
    /// <param name="slowdown">A <see cref="SlowdownVariable"/> setting for this build alone, or null.</param>
    internal static List<(string Name, Func<double> Call, double BudgetSeconds, int Calls, IDisposable? Resources)> LoadUser(string path, string? filter, string? slowdown)
    {
        var parts = filter?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        bool Wanted(string name) => parts is null || parts.Any(p => Matches(p, name));
        return [.. UserFigures(ReadUserFigures(path), Wanted).Where(f => Wanted(f.Name)).Select(f => Slowed(f, slowdown)).Select(f => (f.Name, f.Timed, f.BudgetSeconds, f.Calls, f.Resources))];
    }

    /// <summary>Reads and checks a user-figures file; a mistake names the file and the entry.</summary>
    internal static List<UserModel> ReadUserFigures(string path)
    {
        UserFile? file;
        try
        {
            file = JsonSerializer.Deserialize<UserFile>(File.ReadAllText(path), UserJson);
        }
        catch (JsonException e)
        {
            // Lines and columns counted from 1, as an editor shows them.
            var at = e.LineNumber is { } line ? $":{line + 1}:{(e.BytePositionInLine ?? 0) + 1}" : string.Empty;
            throw new InvalidDataException($"{path}{at}: {e.Message.Split(" Path: ")[0]}{(e.Path is { } where ? $" (at {where})" : string.Empty)}", e);
        }

        var models = file?.Figures ?? [];
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var model in models)
        {
            string Problem() =>
                string.IsNullOrWhiteSpace(model.Name) || !model.Name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-') ? "a name of letters, digits, '_' or '-'"
                : !names.Add(model.Name) ? "a name no other figure has"
                : model.Inputs < 1 || model.Outputs < 2 ? "inputs of at least 1 and outputs (classes) of at least 2"
                : model.Samples < model.Recipe.BatchSize ? "samples of at least one batch (recipe.BatchSize)"
                : model.Measure.Count == 0 || model.Measure.Any(m => !UserMeasures.Contains(m)) ? "measure: one or more of " + string.Join(", ", UserMeasures)
                : model.Measure.Contains("evolution_step") && model.Recipe.Evolution == EvolutionMethod.None ? "a recipe.Evolution for evolution_step"
                : string.Empty;
            if (Problem() is { Length: > 0 } needs)
            {
                throw new InvalidDataException($"{path}: figure '{model.Name}' needs {needs}.");
            }

            try
            {
                model.Recipe.Validate();
            }
            catch (ArgumentException e)
            {
                throw new InvalidDataException($"{path}: figure '{model.Name}': {e.Message}", e);
            }
        }

        return models;
    }

    // user.NAME.MEASURE for each model and measure; the network and its data are built only when a figure is wanted.
    private static IEnumerable<Figure> UserFigures(List<UserModel> models, Func<string, bool> wanted)
    {
        foreach (var model in models)
        {
            string Name(string measure) => $"user.{model.Name}.{measure}";
            if (!model.Measure.Any(m => wanted(Name(m))))
            {
                continue;
            }

            var recipe = model.Recipe;
            var data = SeededRows(model.Samples, model.Inputs, model.Outputs);
            var network = recipe.CreateNetwork(data, model.Outputs);
            network.Precision = recipe.Precision;
            var optimizer = recipe.CreateOptimizer(classification: true);
            var loss = TrainingRecipe.CreateLoss(classification: true);
            var loader = new BatchLoader(data, recipe.BatchSize, network.Normalization, shuffle: true, seed: recipe.Seed, network.Compute);
            var gradient = new float[model.Outputs * recipe.BatchSize];
            var evolver = recipe.CreateEvolver();
            var signals = evolver is null ? null : new SignalRecorder(evolver.Signals);
            void Step(SignalRecorder? recorder) => W1.Step(network, loader, optimizer, gradient, loss, recorder);

            foreach (var measure in model.Measure.Where(m => wanted(Name(m))))
            {
                yield return measure switch
                {
                    "train_step" => new Figure(Name(measure), () => Step(null), ShortBudget),
                    "forward" => new Figure(Name(measure), () =>
                    {
                        if (!loader.Next())
                        {
                            loader.StartEpoch(0);
                            loader.Next();
                        }

                        network.Forward(loader.Batch.Features, loader.Batch.Size, training: false);
                    }, ShortBudget),
                    "epoch" => new Figure(Name(measure), () =>
                    {
                        loader.StartEpoch(0);
                        for (var b = 0; b < loader.BatchesPerEpoch; b++)
                        {
                            Step(null);
                        }
                    }, 0, Calls: LongCalls),

                    // The evolver's step as the trainer runs it after a step that recorded the signals it scores by;
                    // the recording step is outside the timed seconds.
                    _ => new Figure(Name(measure), () =>
                    {
                        Step(signals);
                        evolver!.Evolve(network, optimizer, recipe.Zeta, signals);
                    }, StatefulCalls, Calls: 10, Seconds: () =>
                    {
                        Step(signals);
                        return TimeCall(() => evolver!.Evolve(network, optimizer, recipe.Zeta, signals));
                    }),
                };
            }
        }
    }

    // Seeded classification rows of uniform features in [0, 1) (xorshift64*, so no library type decides the data).
    private static Dataset SeededRows(int samples, int inputs, int classes)
    {
        var state = 0x9E3779B97F4A7C15UL;
        ulong Next()
        {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            return state * 0x2545F4914F6CDD1DUL;
        }

        var features = new float[(long)samples * inputs];
        for (var k = 0; k < features.Length; k++)
        {
            features[k] = (Next() >> 40) / (float)(1 << 24);
        }

        var labels = new int[samples];
        for (var n = 0; n < samples; n++)
        {
            labels[n] = (int)(Next() % (ulong)classes);
        }

        return Dataset.ForClassification(features, inputs, labels, classes);
    }

    /// <summary>A user-figures file: <c>{ "figures": [ ... ] }</c>.</summary>
    internal sealed class UserFile
    {
        public List<UserModel> Figures { get; init; } = [];
    }

    /// <summary>
    /// One model of a user-figures file: its name, the shape of its data (seeded uniform rows: <see cref="Inputs"/>
    /// features, <see cref="Outputs"/> classes, <see cref="Samples"/> rows), the <see cref="TrainingRecipe"/> that
    /// builds it (hidden sizes, density, batch, precision, optimizer, evolution, as <c>sparse train</c> takes them), and
    /// what to time.
    /// </summary>
    internal sealed class UserModel
    {
        public string Name { get; init; } = "";

        public int Inputs { get; init; }

        public int Outputs { get; init; }

        public int Samples { get; init; } = 2048;

        public TrainingRecipe Recipe { get; init; } = new();

        public List<string> Measure { get; init; } = ["train_step"];
    }
}
