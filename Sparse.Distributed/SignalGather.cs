using Sparse.Training;

namespace Sparse.Distributed;

/// <summary>
/// Makes a step's recorded signals (each sparse layer's input, activation and output gradient, read by RigL and CTRE)
/// the global batch's: every rank gathers every rank's slice, so the evolver scores the same samples on every rank
/// and picks the same connections. Only steps that a topology hook reads are recorded, so this runs at evolution
/// points, not every step.
/// </summary>
internal static class SignalGather
{
    /// <summary>Replaces <paramref name="signals"/>' recording of this rank's <paramref name="localSamples"/> with all <paramref name="globalSamples"/> of the step.</summary>
    public static void ToGlobalBatch(Mpi mpi, SparseNetwork network, SignalRecorder signals, int localSamples, int globalSamples)
    {
        if (localSamples == 0)
        {
            // This rank's slice of a short last batch is empty and it ran no pass: it contributes nothing.
            signals.Begin(network, network.PassCount, 0);
        }

        // Rank r's slice of the global batch, as the BatchLoader cut it.
        var samples = new int[mpi.Size];
        for (var r = 0; r < mpi.Size; r++)
        {
            samples[r] = (int)((long)globalSamples * (r + 1) / mpi.Size) - (int)((long)globalSamples * r / mpi.Size);
        }

        foreach (var layer in network.SparseLayers)
        {
            var local = signals.Of(layer);
            var input = Gather(mpi, local.Input.Span, layer.InputSize, samples, globalSamples, scaleByShare: false);
            var activation = Gather(mpi, local.Activation.Span, layer.OutputSize, samples, globalSamples, scaleByShare: false);

            // Each rank's output gradient is of the mean loss over its own samples: weighted by its share, the global mean's.
            var gradient = local.OutputGradient.IsEmpty ? Memory<float>.Empty : Gather(mpi, local.OutputGradient.Span, layer.OutputSize, samples, globalSamples, scaleByShare: true);
            signals.Replace(layer, new LayerSignals(input, activation, gradient, globalSamples));
        }
    }

    // Gathers the ranks' (rows, samples[r]) feature-major blocks into one (rows, global) block, the ranks' columns side by side.
    private static float[] Gather(Mpi mpi, ReadOnlySpan<float> mine, int rows, int[] samples, int global, bool scaleByShare)
    {
        var counts = samples.Select(s => rows * s).ToArray();
        var received = new float[(long)rows * global];
        mpi.AllGatherVariable(mine[..counts[mpi.Rank]], received, counts);
        var result = new float[received.Length];
        long block = 0;
        var column = 0;
        for (var r = 0; r < samples.Length; r++)
        {
            var share = scaleByShare ? samples[r] / (float)global : 1f;
            for (var i = 0; i < rows; i++)
            {
                var source = received.AsSpan((int)(block + ((long)i * samples[r])), samples[r]);
                var destination = result.AsSpan((int)(((long)i * global) + column), samples[r]);
                System.Numerics.Tensors.TensorPrimitives.Multiply(source, share, destination);
            }

            block += counts[r];
            column += samples[r];
        }

        return result;
    }
}
