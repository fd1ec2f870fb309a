using static Sparse.Training.BinaryCodec;

namespace Sparse.Training;

/// <summary>
/// The <c>optimizer</c> section of a checkpoint: the optimizer's kind and hyperparameters, its current learning rate and
/// step count, then each parameter's state arrays in the network's parameter order. Reading needs the network.
/// </summary>
internal static class OptimizerSection
{
    public const string Name = "optimizer";
    public const int Version = 1;

    private enum OptimizerTag : byte
    {
        None = 0,
        Sgd = 1,
        Adam = 2,
    }

    /// <summary>Writes <paramref name="optimizer"/>; a null one as the tag alone (format versions 1 and 2 always held the tag).</summary>
    public static void Write(BinaryWriter w, Optimizer? optimizer, SparseNetwork network)
    {
        switch (optimizer)
        {
            case null:
                w.Write((byte)OptimizerTag.None);
                return;
            case Sgd sgd:
                w.Write((byte)OptimizerTag.Sgd);
                w.Write(sgd.Momentum);
                w.Write(sgd.Nesterov);
                w.Write(sgd.WeightDecay);
                break;
            case Adam adam:
                w.Write((byte)OptimizerTag.Adam);
                w.Write(adam.Beta1);
                w.Write(adam.Beta2);
                w.Write(adam.Epsilon);
                w.Write(adam.WeightDecay);
                w.Write(adam.Decoupled);
                break;
            default:
                throw new NotSupportedException($"Optimizer type {optimizer.GetType().Name} cannot be saved.");
        }

        w.Write(optimizer.LearningRate);
        w.Write(optimizer.StepCount);
        foreach (var parameter in network.Parameters)
        {
            foreach (var slot in optimizer.StateOf(parameter))
            {
                WriteArray<float>(w, slot);
            }
        }
    }

    public static Optimizer? Read(BinaryReader r, SparseNetwork network)
    {
        var tag = (OptimizerTag)r.ReadByte();
        Optimizer optimizer;
        switch (tag)
        {
            case OptimizerTag.None:
                return null;
            case OptimizerTag.Sgd:
                {
                    var momentum = r.ReadSingle();
                    var nesterov = r.ReadBoolean();
                    optimizer = new Sgd(0, momentum, nesterov, r.ReadSingle());
                    break;
                }

            case OptimizerTag.Adam:
                optimizer = new Adam(0, r.ReadSingle(), r.ReadSingle(), r.ReadSingle(), r.ReadSingle(), r.ReadBoolean());
                break;
            default:
                throw new InvalidDataException($"unknown optimizer type {(byte)tag}");
        }

        optimizer.LearningRate = r.ReadSingle();
        optimizer.StepCount = r.ReadInt64();
        foreach (var parameter in network.Parameters)
        {
            var state = new float[optimizer.StateSlots][];
            for (var s = 0; s < state.Length; s++)
            {
                state[s] = ReadArray<float>(r);
                if (Divergence.FirstNonFinite(state[s]) is var bad and >= 0)
                {
                    throw new InvalidDataException($"optimizer state {s} of a {parameter.Name} parameter holds {state[s][bad]} at entry {bad}");
                }
            }

            optimizer.SetState(parameter, state);
        }

        return optimizer;
    }
}
