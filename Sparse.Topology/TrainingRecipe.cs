using System.Globalization;
using Microsoft.Extensions.Logging;
using Sparse.Core;
using Sparse.Training;

namespace Sparse.Topology;

/// <summary>The optimizer a <see cref="TrainingRecipe"/> builds.</summary>
public enum OptimizerKind
{
    /// <summary>Adam with decoupled weight decay (AdamW).</summary>
    Adam,

    /// <summary>SGD with momentum and L2 weight decay.</summary>
    Sgd,
}

/// <summary>The topology evolution a <see cref="TrainingRecipe"/> builds.</summary>
public enum EvolutionMethod
{
    /// <summary>A fixed topology.</summary>
    None,

    /// <summary>SET: magnitude pruning, random regrowth (<see cref="TopologyEvolver.Set"/>).</summary>
    Set,

    /// <summary>RigL: magnitude pruning, regrowth by gradient (<see cref="TopologyEvolver.RigL"/>).</summary>
    RigL,

    /// <summary>CTRE: regrowth by cosine similarity over a sample of training rows (<see cref="TopologyEvolver.Ctre"/>).</summary>
    Ctre,

    /// <summary>CTRE_sim: a pair pruned and chosen again in one step is replaced by a random one.</summary>
    CtreSim,

    /// <summary>CTRE_seq: cosine regrowth until the validation accuracy stalls, then random.</summary>
    CtreSeq,

    /// <summary>
    /// Gradual magnitude pruning (Zhu and Gupta): from <see cref="TrainingRecipe.InitialDensity"/> down to the recipe's
    /// sparsity on a cubic schedule, nothing regrown (<see cref="GradualPruningHook"/>).
    /// </summary>
    Gradual,

    /// <summary>
    /// GaP, scheduled grow-and-prune (Ma et al.): each sparse layer in turn grown to <see cref="TrainingRecipe.GapDensity"/>,
    /// trained, and pruned back by magnitude (<see cref="GapHook"/>).
    /// </summary>
    Gap,

    /// <summary>
    /// EarlyCroP (Rachwan et al.): from <see cref="TrainingRecipe.InitialDensity"/>, pruned early in training by the
    /// gradient-flow score to the recipe's connection count (<see cref="EarlyCropHook"/>).
    /// </summary>
    EarlyCrop,
}

/// <summary>How a <see cref="TrainingRecipe"/>'s evolution picks the connections it drops.</summary>
public enum PruneMethod
{
    /// <summary>The weights closest to zero (<see cref="MagnitudePruner"/>; SET's each sign apart).</summary>
    Magnitude,

    /// <summary>The connections between the least alike neurons over a sample of training rows (<see cref="CosinePruner"/>).</summary>
    Cosine,
}

/// <summary>How a <see cref="TrainingRecipe"/>'s evolution picks the connections it adds.</summary>
public enum GrowthMethod
{
    /// <summary>Uniformly among the missing ones (<see cref="RandomRegrower"/>, SET).</summary>
    Random,

    /// <summary>Where the loss's gradient is largest (<see cref="GradientRegrower"/>, RigL).</summary>
    Gradient,

    /// <summary>Between the most alike neurons over a sample of training rows (<see cref="CosineRegrower"/>, CTRE).</summary>
    Cosine,
}

/// <summary>How RigL finds the missing connections with the largest gradients.</summary>
public enum RigLSearch
{
    /// <summary>Every missing connection up to <see cref="GradientRegrower.DefaultExactScores"/> scores a layer, the norm-bounded block beyond.</summary>
    Auto,

    /// <summary>Every missing connection, at any width.</summary>
    Exact,

    /// <summary>The block of the neurons with the largest gradient and activation norms (<see cref="NormBoundGradientRegrower"/>).</summary>
    Bounded,
}

/// <summary>
/// The network, optimization and topology-evolution choices of a run, with the library's defaults, and the objects they
/// build: the network (layer sizes, activation, sparsity, dropout, initialization from the run's seed), the memory it
/// needs, the optimizer and its learning rate (by optimizer and task when not given), the cosine schedule and its floor,
/// the evolver with its random choices on the run's <see cref="RandomPurpose.Regrowth"/> stream, and the training hooks
/// that evolve and prune neurons.
/// <c>sparse train</c> and <c>sparse sweep</c> parse their options into one; docs/defaults.md measures the defaults
/// (<c>scripts/check-defaults</c>).
/// </summary>
public sealed record TrainingRecipe : ICheckpointPart
{
    /// <summary>The name of the checkpoint section that holds a recipe.</summary>
    public const string SectionName = "recipe";

    /// <summary>The layout this build writes and the newest it reads.</summary>
    public const int SectionVersion = 4;

    /// <summary>The evolution methods by their command-line names, in <see cref="EvolutionMethod"/> order.</summary>
    public static IReadOnlyList<string> EvolutionNames { get; } = ["none", "set", "rigl", "ctre", "ctre-sim", "ctre-seq", "gradual", "gap", "earlycrop"];

    /// <summary>The pruning rules by their command-line names, in <see cref="PruneMethod"/> order.</summary>
    public static IReadOnlyList<string> PruneNames { get; } = ["magnitude", "cosine"];

    /// <summary>The regrowth rules by their command-line names, in <see cref="GrowthMethod"/> order.</summary>
    public static IReadOnlyList<string> GrowthNames { get; } = ["random", "gradient", "cosine"];

    /// <summary>Hidden layer sizes; 512-512 by default.</summary>
    public IReadOnlyList<int> Hidden { get; init; } = [512, 512];

    /// <summary>The hidden activation.</summary>
    public ActivationKind Activation { get; init; } = ActivationKind.Relu;

    /// <summary>Erdos-Renyi sparsity: about epsilon x (in + out) connections a layer, unless <see cref="Density"/> or <see cref="Erk"/> is set.</summary>
    public double Epsilon { get; init; } = 8;

    /// <summary>One density for every layer, instead of <see cref="Epsilon"/>.</summary>
    public double? Density { get; init; }

    /// <summary>An overall density spread over the layers by ERK, instead of <see cref="Epsilon"/>.</summary>
    public double? Erk { get; init; }

    /// <summary>Dropout after each hidden activation.</summary>
    public float Dropout { get; init; }

    /// <summary>Whether hidden neurons at or below the 20th importance percentile are pruned every 5 epochs from epoch 5.</summary>
    public bool PruneNeurons { get; init; }

    /// <summary>The optimizer; Adam by default.</summary>
    public OptimizerKind Optimizer { get; init; } = OptimizerKind.Adam;

    /// <summary>The starting learning rate, or null for the default of <see cref="BaseLearningRate"/>.</summary>
    public float? LearningRate { get; init; }

    /// <summary>SGD's momentum.</summary>
    public float Momentum { get; init; } = 0.9f;

    /// <summary>Weight decay: decoupled for Adam, L2 for SGD.</summary>
    public float WeightDecay { get; init; } = 1e-4f;

    /// <summary>The topology evolution; RigL by default.</summary>
    public EvolutionMethod Evolution { get; init; } = EvolutionMethod.RigL;

    /// <summary>
    /// The pruning half of <see cref="Evolution"/>, or null for the method's own (magnitude for each: SET each sign
    /// apart, RigL and CTRE both signs together). Everything else of the method stays: a CTRE method evolves the output
    /// layer too and its variant shapes cosine regrowth, SET's magnitude pruning keeps the signs apart.
    /// </summary>
    public PruneMethod? Prune { get; init; }

    /// <summary>The regrowth half of <see cref="Evolution"/>, or null for the method's own (SET random, RigL gradient, CTRE cosine).</summary>
    public GrowthMethod? Grow { get; init; }

    /// <summary>
    /// <see cref="EvolutionMethod.Gradual"/>'s denser start: every layer's density when training begins (at least the
    /// layer's target, which <see cref="Epsilon"/>, <see cref="Density"/> or <see cref="Erk"/> set); null starts dense,
    /// as Zhu and Gupta do. Its connections count in the memory check.
    /// </summary>
    public double? InitialDensity { get; init; }

    /// <summary>
    /// <see cref="EvolutionMethod.Gap"/>'s grown density: the density a layer grows to in its phase; null grows it dense,
    /// as the paper does. The memory check counts every layer at it.
    /// </summary>
    public double? GapDensity { get; init; }

    /// <summary>
    /// GaP's phase length for a network of <paramref name="sparseLayers"/> sparse layers: one partition per layer, each grown
    /// at least twice before 75 % of training, at least an epoch a phase.
    /// </summary>
    public int GapPhaseEpochs(int sparseLayers) => Math.Max(1, (int)(0.75 * Epochs / (2 * Math.Max(1, sparseLayers))));

    /// <summary>
    /// Sup-tickets around the evolution (<see cref="SupTicketsHook"/>): this many cycles of a cyclic learning rate in the
    /// last tenth of training (the reference's <c>--cycle_rate 0.1</c>), each starting with a rewiring of half of every
    /// layer and ending in a ticket superposed into the model the run ends with; null for none. See <see cref="SupTicketsPhases"/>.
    /// </summary>
    public int? SupTickets { get; init; }

    /// <summary>
    /// Sup-tickets' phases for <see cref="SupTickets"/> cycles: epochs per cycle (the last tenth of <see cref="Epochs"/>
    /// over the cycles, at least 1) and epochs before the cycles (the rest).
    /// </summary>
    public (int Pretrain, int Cycle) SupTicketsPhases
    {
        get
        {
            var tickets = Math.Max(1, SupTickets ?? 1);
            var cycle = Math.Max(1, (int)(Epochs * SupTicketsFraction / tickets));
            return (Epochs - (tickets * cycle), cycle);
        }
    }

    // The share of training in cycles (the reference commands' --cycle_rate).
    private const double SupTicketsFraction = 0.1;

    /// <summary><see cref="Prune"/> with the method's own filled in.</summary>
    public PruneMethod PruneRule => Prune ?? PruneMethod.Magnitude;

    /// <summary><see cref="Grow"/> with the method's own filled in.</summary>
    public GrowthMethod GrowthRule => Grow ?? Evolution switch
    {
        EvolutionMethod.Set => GrowthMethod.Random,
        EvolutionMethod.RigL => GrowthMethod.Gradient,
        _ => GrowthMethod.Cosine,
    };

    /// <summary>The fraction rewired per evolution step (RigL's schedule: the starting fraction).</summary>
    public double Zeta { get; init; } = 0.3;

    /// <summary>
    /// Steps between evolutions, cosine-decayed; 0 after each epoch; null for the method's default: after each epoch when
    /// a half is cosine (<see cref="EvolutionSamplesRows"/>: each step costs an inference pass over the training rows, as
    /// in CTRE's reference), else twice an epoch.
    /// </summary>
    public int? EvolveEvery { get; init; }

    /// <summary>RigL's search.</summary>
    public RigLSearch RigLSearch { get; init; }

    /// <summary>The run's seed, from which every random stream derives (<see cref="RandomStreams"/>).</summary>
    public ulong Seed { get; init; } = 1;

    /// <summary>Epochs to train.</summary>
    public int Epochs { get; init; } = 40;

    /// <summary>Samples per batch.</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>When positive, gradients are scaled to a global norm of at most this before each step.</summary>
    public float ClipNorm { get; init; }

    /// <summary>The precision of the gathered activations and gradients (<see cref="SparseNetwork.Precision"/>).</summary>
    public Precision Precision { get; init; } = Precision.Fp32;

    /// <summary>
    /// Whether a first layer trained on sparse rows steps only the connections of each batch's features, stored
    /// input-major (<see cref="SparseNetwork.StepsActiveInputsOnly"/>: lazy moments, a step's cost following the batch's
    /// non-zeros).
    /// </summary>
    public bool LazyInputs { get; init; }

    /// <summary>
    /// The band width, in neurons, of the layers between two hidden layers (<see cref="SparseNetwork.CreateMlp"/>'s
    /// <c>band</c>: each neuron connects only to that many neurons of the layer below), kept by SET's random regrowth
    /// (<see cref="RandomRegrower.Band"/>); null for unbanded Erdos-Renyi layers. Hidden layers much wider than the band
    /// then gather from cache rather than memory (docs/performance.md, "Banded hidden layers").
    /// </summary>
    public int? Band { get; init; }

    /// <summary>Threads per process, or null for every core. Results are the same for any count.</summary>
    public int? Threads { get; init; }

    /// <summary>The cosine schedule's floor is the starting rate over this.</summary>
    public const float FloorDivisor = 50;

    /// <summary>State arrays per connection of the optimizer (<see cref="Training.Optimizer.StateSlots"/>).</summary>
    public int OptimizerSlots => Optimizer == OptimizerKind.Adam ? 2 : 1;

    /// <summary>
    /// The starting learning rate: <see cref="LearningRate"/>, or 0.003 for Adam; for SGD 0.01, or 0.002 for a regression,
    /// whose squared loss does not saturate as softmax does (at 0.01 SGD with momentum diverges in the first epoch).
    /// </summary>
    /// <param name="classification">Whether the task is a classification.</param>
    public float BaseLearningRate(bool classification) => LearningRate ?? (Optimizer == OptimizerKind.Adam ? 0.003f : classification ? 0.01f : 0.002f);

    /// <summary>The optimizer at <see cref="BaseLearningRate"/>.</summary>
    public Optimizer CreateOptimizer(bool classification)
    {
        var rate = BaseLearningRate(classification);
        return Optimizer == OptimizerKind.Adam
            ? new Adam(rate, weightDecay: WeightDecay, decoupled: true)
            : new Sgd(rate, Momentum, weightDecay: WeightDecay);
    }

    /// <summary>The learning-rate schedule from <paramref name="baseRate"/>: cosine annealing to a floor of <c>baseRate / </c><see cref="FloorDivisor"/>.</summary>
    public static LearningRateSchedule CreateSchedule(float baseRate) => LearningRateSchedule.Cosine(baseRate / FloorDivisor);

    /// <summary>
    /// The evolver of <see cref="Evolution"/> with the halves <see cref="Prune"/> and <see cref="Grow"/> choose (null for
    /// none), its random choices on the <see cref="RandomPurpose.Regrowth"/> stream of <see cref="Seed"/>. Without
    /// either, it is the method's own: <see cref="TopologyEvolver.Set"/>, <see cref="TopologyEvolver.RigL"/> or <see cref="TopologyEvolver.Ctre"/>.
    /// </summary>
    public TopologyEvolver? CreateEvolver(ILogger<TopologyEvolver>? logger = null)
    {
        if (!Rewires)
        {
            return null;
        }

        var regrowth = RandomStreams.Derive(Seed, RandomPurpose.Regrowth);
        var exactScores = RigLSearch switch
        {
            RigLSearch.Exact => long.MaxValue,
            RigLSearch.Bounded => 0,
            _ => GradientRegrower.DefaultExactScores,
        };
        IPruner pruner = PruneRule == PruneMethod.Cosine ? new CosinePruner() : new MagnitudePruner(separateSigns: Evolution == EvolutionMethod.Set);
        IRegrower regrower = GrowthRule switch
        {
            GrowthMethod.Random => new RandomRegrower(regrowth, band: Band),
            GrowthMethod.Gradient => new GradientRegrower(exactScores: exactScores),
            _ => new CosineRegrower(Evolution switch { EvolutionMethod.CtreSim => CtreVariant.Sim, EvolutionMethod.CtreSeq => CtreVariant.Seq, _ => CtreVariant.Plain }, regrowth),
        };
        return new TopologyEvolver(pruner, regrower, logger) { IncludeOutputLayer = IsCtre };
    }

    private bool IsCtre => Evolution is EvolutionMethod.Ctre or EvolutionMethod.CtreSim or EvolutionMethod.CtreSeq;

    /// <summary>Whether the method prunes and regrows at a constant budget (SET, RigL, CTRE): the methods <see cref="Prune"/> and <see cref="Grow"/> apply to.</summary>
    public bool Rewires => Evolution is not (EvolutionMethod.None or EvolutionMethod.Gradual or EvolutionMethod.Gap or EvolutionMethod.EarlyCrop);

    // The methods that prune a denser start (InitialDensity).
    private bool StartsDenser => Evolution is EvolutionMethod.Gradual or EvolutionMethod.EarlyCrop;

    /// <summary>EarlyCroP's pruning point: after a tenth of the epochs (at least one).</summary>
    public int EarlyCropEpochs => Math.Max(1, (int)Math.Round(0.1 * Epochs));

    /// <summary>Each layer's density when training begins: the target's, or for gradual pruning <see cref="InitialDensity"/> where that is denser.</summary>
    public double[] StartDensities(IReadOnlyList<int> sizes)
    {
        var densities = Densities(sizes);
        return StartsDenser ? [.. densities.Select(d => Math.Max(d, InitialDensity ?? 1))] : densities;
    }

    /// <summary>Each layer's density at its densest: the start's, or for GaP its grown density.</summary>
    public double[] PeakDensities(IReadOnlyList<int> sizes)
    {
        var densities = StartDensities(sizes);
        return Evolution == EvolutionMethod.Gap ? [.. densities.Select(d => Math.Max(d, GapDensity ?? 1))] : densities;
    }

    /// <summary>Each sparse layer's connection count at a density: the expected count of its random start, rounded.</summary>
    private static long[] Counts(int[] sizes, double[] densities) =>
        [.. Enumerable.Range(0, sizes.Length - 1).Select(l => (long)Math.Round(densities[l] * sizes[l] * sizes[l + 1]))];

    /// <summary>
    /// The evolution as a person reads it: the method and the rule of each half, for example <c>rigl: prune by cosine,
    /// grow by gradient</c>; <c>none</c> for a fixed topology.
    /// </summary>
    public string EvolutionDescription => CreateEvolver() is { } evolver
        ? $"{EvolutionName}: prune by {evolver.Pruner.Name}, grow by {evolver.Regrower.Name}{(evolver.IncludeOutputLayer ? ", output layer included" : "")}"
        : Evolution == EvolutionMethod.Gradual
        ? $"gradual: prune by magnitude from density {(InitialDensity ?? 1).ToString("G4", CultureInfo.InvariantCulture)} to the target on a cubic schedule until 75 % of training, grow nothing"
        : Evolution == EvolutionMethod.EarlyCrop
        ? $"earlycrop: from density {(InitialDensity ?? 1).ToString("G4", CultureInfo.InvariantCulture)}, pruned after {EarlyCropEpochs} epoch{(EarlyCropEpochs == 1 ? "" : "s")} by |w Hg| over all layers to the target in steps that halve the distance, grow nothing"
        : Evolution == EvolutionMethod.Gap
        ? $"gap: each layer in turn grown to density {(GapDensity ?? 1).ToString("G4", CultureInfo.InvariantCulture)} for {GapPhaseEpochs(Hidden.Count + 1)} epoch{(GapPhaseEpochs(Hidden.Count + 1) == 1 ? "" : "s")} and pruned back by magnitude, until 75 % of training"
        : EvolutionName;

    /// <summary>The command-line name of <see cref="Evolution"/> (<see cref="EvolutionNames"/>).</summary>
    public string EvolutionName => EvolutionNames[(int)Evolution];

    /// <summary>
    /// Whether the evolution compares neurons over a sample of training rows (cosine pruning or regrowth: the CTRE
    /// methods by default), an inference pass before each step.
    /// </summary>
    public bool EvolutionSamplesRows => Rewires && (PruneRule == PruneMethod.Cosine || GrowthRule == GrowthMethod.Cosine);

    /// <summary><see cref="EvolveEvery"/> with the method's default filled in: null twice an epoch, 0 after each epoch, else steps.</summary>
    public int? EvolutionInterval => EvolveEvery ?? (EvolutionSamplesRows ? 0 : null);

    /// <summary>The loss of the task: softmax cross-entropy for a classification, mean squared error for a regression.</summary>
    public static ILoss CreateLoss(bool classification) => classification ? new SoftmaxCrossEntropy() : new MeanSquaredError();

    /// <summary>When the evolver runs and how much it rewires: see <see cref="EvolveEvery"/>.</summary>
    public EvolutionSchedule CreateEvolutionSchedule() => EvolutionInterval switch
    {
        null => EvolutionSchedule.CosineDecayPerEpoch(Zeta),
        0 => EvolutionSchedule.EveryEpoch(Zeta),
        var steps => EvolutionSchedule.CosineDecay(Zeta, steps.Value),
    };

    /// <summary>The training hook that evolves the topology as this recipe says, or null for <see cref="EvolutionMethod.None"/>.</summary>
    public EvolutionHook? CreateEvolutionHook(ILogger<TopologyEvolver>? logger = null) =>
        CreateEvolver(logger) is { } evolver ? new EvolutionHook(evolver, CreateEvolutionSchedule()) : null;

    /// <summary>The sizes of every layer's inputs and of the last one's outputs: <paramref name="inputs"/>, <see cref="Hidden"/>, <paramref name="outputs"/>.</summary>
    public int[] LayerSizes(int inputs, int outputs) => [inputs, .. Hidden, outputs];

    /// <summary>Each layer's density for <paramref name="sizes"/>: uniform, ERK or Erdos-Renyi, as the recipe says.</summary>
    public double[] Densities(IReadOnlyList<int> sizes) =>
        Density is { } density ? LayerDensities.Uniform(sizes, density)
        : Erk is { } overall ? LayerDensities.ErdosRenyiKernel(sizes, overall)
        : LayerDensities.ErdosRenyi(sizes, Epsilon);

    /// <summary>
    /// What training the recipe's network on <paramref name="inputs"/> features and <paramref name="outputs"/> outputs
    /// in batches of <paramref name="batch"/> needs, evolution and neuron pruning included (<see cref="MemoryEstimate.ForMlp"/>).
    /// </summary>
    public MemoryBreakdown EstimateMemory(int inputs, int outputs, int batch)
    {
        var sizes = LayerSizes(inputs, outputs);
        return MemoryEstimate.ForMlp(sizes, PeakDensities(sizes), batch, OptimizerSlots, Dropout > 0, RewiringBytesPerConnection);
    }

    /// <summary>
    /// Scratch bytes per connection of the largest layer while it is rewired: the evolver's, neuron pruning's or, with
    /// <see cref="LazyInputs"/>, the first layer's change of order, whichever is most.
    /// </summary>
    public long RewiringBytesPerConnection => Math.Max(
        Math.Max(CreateEvolver()?.ScratchBytesPerConnection(OptimizerSlots) ?? 0, LazyInputs ? MemoryEstimate.OrderChangeBytesPerConnection : 0),
        Math.Max(
            PruneNeurons || StartsDenser || Evolution == EvolutionMethod.Gap ? NeuronImportancePruner.ScratchBytesPerConnection(OptimizerSlots) + 20 : 0,
            SupTickets is null ? 0 : new SupTicketsHook(1, 1).RewiringBytesPerConnection(OptimizerSlots)));

    /// <summary>
    /// The recipe's network for <paramref name="train"/>'s features and <paramref name="outputs"/> outputs, reading
    /// inputs standardized with <paramref name="train"/>'s means and deviations (sparse inputs divided by each feature's
    /// largest absolute value, which keeps zeros zero), initialized from <see cref="Seed"/>.
    /// </summary>
    public SparseNetwork CreateNetwork(Dataset train, int outputs)
    {
        ArgumentNullException.ThrowIfNull(train);
        var sizes = LayerSizes(train.FeatureCount, outputs);
        return SparseNetwork.CreateMlp(sizes, Activation, Epsilon, Seed, Dropout,
            normalization: InputNormalization.Fit(train, train.IsSparse ? NormalizationKind.MaxAbs : NormalizationKind.Standardize),
            densities: Density is null && Erk is null && !StartsDenser ? null : StartDensities(sizes), band: Band);
    }

    /// <summary>The hooks the recipe trains with: evolution (<see cref="CreateEvolutionHook"/>) and neuron pruning, each when asked for.</summary>
    public IEnumerable<ITrainingHook> CreateHooks(ILogger<TopologyEvolver>? logger = null)
    {
        var evolution = CreateEvolutionHook(logger);
        if (SupTickets is not null)
        {
            // The method's own schedule ends where the cycles begin; the Sup-tickets hook rewires at each cycle's start.
            var (pretrain, cycle) = SupTicketsPhases;
            evolution = evolution is null ? null : new EvolutionHook(evolution.Evolver, EvolutionSchedule.Before(evolution.Schedule, pretrain));
            yield return new SupTicketsHook(pretrain, cycle, evolution);
        }

        if (evolution is not null)
        {
            yield return evolution;
        }

        if (Evolution == EvolutionMethod.Gradual)
        {
            // After every epoch unless --evolve-every gives steps; the targets are the recipe's densities of the network's layers.
            yield return new GradualPruningHook(network =>
            {
                int[] sizes = [network.InputSize, .. network.SparseLayers.Select(l => l.OutputSize)];
                return Counts(sizes, Densities(sizes));
            }, EvolveEvery ?? 0);
        }

        if (Evolution == EvolutionMethod.EarlyCrop)
        {
            yield return new EarlyCropHook(network =>
            {
                int[] sizes = [network.InputSize, .. network.SparseLayers.Select(l => l.OutputSize)];
                return Counts(sizes, Densities(sizes)).Sum();
            }, EarlyCropEpochs);
        }

        if (Evolution == EvolutionMethod.Gap)
        {
            // One partition per sparse layer, each grown twice before 75 % of training, positions from the regrowth stream.
            var layers = Hidden.Count + 1;
            yield return new GapHook(layers, GapDensity ?? 1, GapPhaseEpochs(layers), RandomStreams.Derive(Seed, RandomPurpose.Regrowth));
        }

        if (PruneNeurons)
        {
            yield return new NeuronPruningHook(new NeuronImportancePruner(20), startEpoch: 5, everyEpochs: 5);
        }
    }

    /// <summary>How the recipe's network computes: <see cref="Threads"/> (every core when null) with the default kernels.</summary>
    public ComputeOptions Compute => ComputeOptions.Default with { Threads = Threads ?? Environment.ProcessorCount };

    /// <summary>The trainer's settings: epochs, batch size, seed, clipping and the cosine schedule from <paramref name="baseRate"/>.</summary>
    public TrainerOptions CreateTrainerOptions(float baseRate) => new()
    {
        Epochs = Epochs,
        BatchSize = BatchSize,
        Seed = Seed,
        ClipNorm = ClipNorm,
        Schedule = SupTickets is null
            ? CreateSchedule(baseRate)
            : new SupTicketsSchedule(CreateSchedule(baseRate), SupTicketsPhases.Pretrain, SupTicketsPhases.Cycle),
    };

    /// <summary>
    /// A trainer of a new run on <paramref name="train"/>: the recipe's network (<see cref="CreateNetwork"/>), optimizer,
    /// loss (softmax cross-entropy for a classification, mean squared error otherwise), schedule, hooks and compute
    /// settings. The recipe goes into every checkpoint the trainer writes, so <see cref="Resume"/> rebuilds the run from
    /// the file alone.
    /// </summary>
    /// <param name="train">The training data: its feature and output counts size the network, its means and deviations standardize the inputs.</param>
    /// <param name="loggers">Where the trainer and evolver log, or null.</param>
    /// <exception cref="ArgumentException">A choice is out of range (<see cref="Validate"/>).</exception>
    public Trainer CreateTrainer(Dataset train, ILoggerFactory? loggers = null)
    {
        ArgumentNullException.ThrowIfNull(train);
        Validate();
        var optimizer = CreateOptimizer(train.IsClassification);
        return CreateTrainer(CreateNetwork(train, train.OutputCount), optimizer, CreateLoss(train.IsClassification), optimizer.LearningRate, loggers);
    }

    /// <summary>
    /// A trainer that continues the run <paramref name="checkpoint"/> saved, with this recipe (the saved one, or one changed
    /// where a change keeps the run the same: more <see cref="Epochs"/>, other <see cref="Threads"/>). Fitting it on the
    /// same data gives the parameters an uninterrupted run would have.
    /// </summary>
    /// <exception cref="ArgumentException">The checkpoint holds no optimizer state (a finished model).</exception>
    /// <exception cref="InvalidOperationException">The checkpoint was trained with another batch size, seed, clipping or loss.</exception>
    public Trainer ResumeTrainer(Checkpoint checkpoint, ILoggerFactory? loggers = null)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        Validate();
        var optimizer = checkpoint.Optimizer ?? throw new ArgumentException("The checkpoint holds no optimizer state: it is a finished model, not a run to resume.", nameof(checkpoint));
        ILoss loss = (checkpoint.Progress?.Loss ?? (checkpoint.Schema?.IsClassification == false ? nameof(MeanSquaredError) : nameof(SoftmaxCrossEntropy))) switch
        {
            nameof(MeanSquaredError) => new MeanSquaredError(),
            nameof(SoftmaxCrossEntropy) => new SoftmaxCrossEntropy(),
            var other => throw new InvalidOperationException($"The checkpoint was trained with the loss {other}, which a recipe does not build; resume it with a Trainer of that loss."),
        };
        var trainer = CreateTrainer(checkpoint.Network, optimizer, loss, checkpoint.BaseLearningRate, loggers);
        trainer.Resume(checkpoint);
        return trainer;
    }

    /// <summary>A trainer that continues the run <paramref name="checkpoint"/> saved, with the recipe saved in it (<see cref="ResumeTrainer"/>).</summary>
    /// <exception cref="ArgumentException">The checkpoint holds no recipe or no optimizer state.</exception>
    public static Trainer Resume(Checkpoint checkpoint, ILoggerFactory? loggers = null) =>
        (FromCheckpoint(checkpoint) ?? throw new ArgumentException("The checkpoint holds no training recipe; resume it with a Trainer and its Resume method.", nameof(checkpoint)))
            .ResumeTrainer(checkpoint, loggers);

    /// <summary>
    /// A trainer of <paramref name="network"/> with <paramref name="optimizer"/> and <paramref name="loss"/>, set up as the
    /// recipe says: its compute settings and precision on the network, <see cref="CreateTrainerOptions"/> from
    /// <paramref name="baseRate"/>, <see cref="CreateHooks"/>, and the recipe itself among the checkpoint parts.
    /// </summary>
    public Trainer CreateTrainer(SparseNetwork network, Optimizer optimizer, ILoss loss, float baseRate, ILoggerFactory? loggers = null)
    {
        ArgumentNullException.ThrowIfNull(network);
        network.Compute = Compute;
        network.Precision = Precision;
        network.StepsActiveInputsOnly = LazyInputs;
        var trainer = new Trainer(network, loss, optimizer, CreateTrainerOptions(baseRate), loggers?.CreateLogger<Trainer>()) { BaseLearningRate = baseRate };
        foreach (var hook in CreateHooks(loggers?.CreateLogger<TopologyEvolver>()))
        {
            trainer.Hooks.Add(hook);
        }

        trainer.CheckpointParts.Add(this);
        return trainer;
    }

    /// <summary>The recipe saved in <paramref name="checkpoint"/>, or null when it holds none.</summary>
    /// <exception cref="InvalidDataException">The saved recipe is damaged, out of range or from a newer build.</exception>
    public static TrainingRecipe? FromCheckpoint(Checkpoint checkpoint)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        if (!checkpoint.Sections.TryGetValue(SectionName, out var section))
        {
            return null;
        }

        var recipe = section.Read(SectionVersion, (r, version) => new TrainingRecipe
        {
            Hidden = ReadInts(r),
            Activation = (ActivationKind)r.ReadInt32(),
            Epsilon = r.ReadDouble(),
            Density = ReadOptional(r, r.ReadDouble),
            Erk = ReadOptional(r, r.ReadDouble),
            Dropout = r.ReadSingle(),
            PruneNeurons = r.ReadBoolean(),
            Optimizer = (OptimizerKind)r.ReadInt32(),
            LearningRate = ReadOptional(r, r.ReadSingle),
            Momentum = r.ReadSingle(),
            WeightDecay = r.ReadSingle(),
            Evolution = (EvolutionMethod)r.ReadInt32(),
            Zeta = r.ReadDouble(),
            EvolveEvery = ReadOptional(r, r.ReadInt32),
            RigLSearch = (RigLSearch)r.ReadInt32(),
            Seed = r.ReadUInt64(),
            Epochs = r.ReadInt32(),
            BatchSize = r.ReadInt32(),
            ClipNorm = r.ReadSingle(),
            Precision = (Precision)r.ReadInt32(),
            Threads = ReadOptional(r, r.ReadInt32),

            // Version 1 (before the halves could be chosen) evolved by its method's own.
            Prune = version >= 2 ? ReadOptional(r, () => (PruneMethod)r.ReadInt32()) : null,
            Grow = version >= 2 ? ReadOptional(r, () => (GrowthMethod)r.ReadInt32()) : null,
            InitialDensity = version >= 2 ? ReadOptional(r, r.ReadDouble) : null,
            SupTickets = version >= 2 ? ReadOptional(r, r.ReadInt32) : null,
            GapDensity = version >= 2 ? ReadOptional(r, r.ReadDouble) : null,

            // Version 2 and before stepped every connection.
            LazyInputs = version >= 3 && r.ReadBoolean(),

            // Version 3 and before had no bands.
            Band = version >= 4 ? ReadOptional(r, r.ReadInt32) : null,
        });
        try
        {
            recipe.Validate();
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"the saved recipe is out of range ({e.Message})", e);
        }

        return recipe;
    }

    /// <summary>The recipe as the checkpoint section <see cref="SectionName"/>.</summary>
    public CheckpointSection ToCheckpointSection() => CheckpointSection.Write(SectionName, SectionVersion, w =>
    {
        w.Write(Hidden.Count);
        foreach (var h in Hidden)
        {
            w.Write(h);
        }

        w.Write((int)Activation);
        w.Write(Epsilon);
        WriteOptional(w, Density, w.Write);
        WriteOptional(w, Erk, w.Write);
        w.Write(Dropout);
        w.Write(PruneNeurons);
        w.Write((int)Optimizer);
        WriteOptional(w, LearningRate, w.Write);
        w.Write(Momentum);
        w.Write(WeightDecay);
        w.Write((int)Evolution);
        w.Write(Zeta);
        WriteOptional(w, EvolveEvery, w.Write);
        w.Write((int)RigLSearch);
        w.Write(Seed);
        w.Write(Epochs);
        w.Write(BatchSize);
        w.Write(ClipNorm);
        w.Write((int)Precision);
        WriteOptional(w, Threads, w.Write);
        WriteOptional(w, Prune, p => w.Write((int)p));
        WriteOptional(w, Grow, g => w.Write((int)g));
        WriteOptional(w, InitialDensity, w.Write);
        WriteOptional(w, SupTickets, w.Write);
        WriteOptional(w, GapDensity, w.Write);
        w.Write(LazyInputs);
        WriteOptional(w, Band, w.Write);
    });

    private static void WriteOptional<T>(BinaryWriter w, T? value, Action<T> write)
        where T : struct
    {
        w.Write(value.HasValue);
        if (value is { } v)
        {
            write(v);
        }
    }

    private static T? ReadOptional<T>(BinaryReader r, Func<T> read)
        where T : struct => r.ReadBoolean() ? read() : null;

    private static int[] ReadInts(BinaryReader r)
    {
        var count = r.ReadInt32();
        if (count is < 0 or > 100_000)
        {
            throw new InvalidDataException($"hidden layer count {count} is not plausible");
        }

        var values = new int[count];
        for (var n = 0; n < count; n++)
        {
            values[n] = r.ReadInt32();
        }

        return values;
    }

    /// <summary>The method named <paramref name="name"/> in <see cref="EvolutionNames"/>.</summary>
    /// <exception cref="ArgumentException">No method has that name.</exception>
    public static EvolutionMethod ParseEvolution(string name)
    {
        var at = EvolutionNames.ToList().IndexOf(name);
        return at >= 0 ? (EvolutionMethod)at : throw new ArgumentException($"Unknown evolution method '{name}': {string.Join(", ", EvolutionNames)}.", nameof(name));
    }

    /// <summary>The pruning rule named <paramref name="name"/> in <see cref="PruneNames"/>.</summary>
    /// <exception cref="ArgumentException">No rule has that name.</exception>
    public static PruneMethod ParsePrune(string name)
    {
        var at = PruneNames.ToList().IndexOf(name);
        return at >= 0 ? (PruneMethod)at : throw new ArgumentException($"Unknown pruning rule '{name}': {string.Join(", ", PruneNames)}.", nameof(name));
    }

    /// <summary>The regrowth rule named <paramref name="name"/> in <see cref="GrowthNames"/>.</summary>
    /// <exception cref="ArgumentException">No rule has that name.</exception>
    public static GrowthMethod ParseGrowth(string name)
    {
        var at = GrowthNames.ToList().IndexOf(name);
        return at >= 0 ? (GrowthMethod)at : throw new ArgumentException($"Unknown regrowth rule '{name}': {string.Join(", ", GrowthNames)}.", nameof(name));
    }

    /// <summary>
    /// Checks every choice, naming the first wrong one by its command-line option.
    /// </summary>
    /// <exception cref="ArgumentException">A learning rate that is not positive, a negative momentum or weight decay, a
    /// zeta outside (0, 1), or a negative evolution interval.</exception>
    public void Validate()
    {
        static void Require(bool valid, string option, string range, object? value)
        {
            if (!valid)
            {
                throw new ArgumentException($"{option} must be {range}, got {Convert.ToString(value, CultureInfo.InvariantCulture)}.");
            }
        }

        Require(Hidden.All(h => h > 0), "--hidden", "positive sizes", string.Join(",", Hidden));
        Require(double.IsFinite(Epsilon) && Epsilon > 0, "--epsilon", "a positive number", Epsilon);
        Require(Density is null or > 0 and <= 1, "--density", "in (0, 1]", Density);
        Require(Erk is null or > 0 and <= 1, "--erk", "in (0, 1]", Erk);
        Require(Zeta is > 0 and < 1, "--zeta", "between 0 and 1 (exclusive)", Zeta);
        Require(EvolveEvery is null or >= 0, "--evolve-every", "0 (after each epoch) or a positive number of steps", EvolveEvery);
        Require(LearningRate is null || (float.IsFinite(LearningRate.Value) && LearningRate > 0), "--learning-rate", "a positive number", LearningRate);
        Require(Momentum is >= 0 and < 1, "--momentum", "in [0, 1)", Momentum);
        Require(float.IsFinite(WeightDecay) && WeightDecay >= 0, "--weight-decay", "0 or a positive number", WeightDecay);
        Require(Dropout is >= 0 and < 1, "--dropout", "in [0, 1)", Dropout);
        Require(Enum.IsDefined(Evolution), "--evolve", string.Join(", ", EvolutionNames), Evolution);
        Require(Prune is null || Enum.IsDefined(Prune.Value), "--prune", string.Join(" or ", PruneNames), Prune);
        Require(Grow is null || Enum.IsDefined(Grow.Value), "--grow", string.Join(", ", GrowthNames), Grow);
        if (!Rewires && (Prune is not null || Grow is not null))
        {
            throw new ArgumentException($"{(Prune is not null ? "--prune" : "--grow")} chooses a half of an evolution method, and --evolve {EvolutionName} has none: give --evolve set, rigl or ctre with it.");
        }

        Require(InitialDensity is null or > 0 and <= 1, "--initial-density", "in (0, 1]", InitialDensity);
        Require(SupTickets is null or >= 1, "--sup-tickets", "1 or more cycles", SupTickets);
        Require(GapDensity is null or > 0 and <= 1, "--gap-density", "in (0, 1]", GapDensity);
        if (GapDensity is not null && Evolution != EvolutionMethod.Gap)
        {
            throw new ArgumentException("--gap-density is the grown density of --evolve gap.");
        }

        if (SupTickets is { } tickets && SupTicketsPhases.Pretrain < 1)
        {
            throw new ArgumentException($"--sup-tickets {tickets} needs more than {tickets} epochs: each cycle takes at least one epoch after at least one of training (--epochs {Epochs}).");
        }

        if (InitialDensity is not null && !StartsDenser)
        {
            throw new ArgumentException("--initial-density is the denser start of --evolve gradual or earlycrop.");
        }

        Require(Enum.IsDefined(RigLSearch), "--rigl-search", "auto, exact or bounded", RigLSearch);
        Require(Enum.IsDefined(Optimizer), "--optimizer", "adam or sgd", Optimizer);
        Require(Enum.IsDefined(Activation), "--activation", "relu, leaky-relu, all-relu, tanh or sigmoid", Activation);
        Require(Epochs >= 1, "--epochs", "1 or more", Epochs);
        Require(BatchSize >= 1, "--batch-size", "1 or more", BatchSize);
        Require(float.IsFinite(ClipNorm) && ClipNorm >= 0, "--clip-norm", "0 (off) or a positive number", ClipNorm);
        Require(Enum.IsDefined(Precision), "--precision", "fp32 or bf16", Precision);
        Require(Band is null or > 0, "--band", "a positive number of neurons", Band);
        Require(Threads is null or >= 1, "--threads", "1 or more", Threads);
    }
}
