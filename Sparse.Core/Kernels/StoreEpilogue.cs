using System.Runtime.CompilerServices;

namespace Sparse.Core;

/// <summary>
/// What a gather kernel does to each finished sum on its way to the output row, so that an element-wise step
/// that would otherwise be a separate pass over the whole output (ReLU forward, its derivative backward)
/// happens while the sums are still in registers.
/// </summary>
internal interface IStoreEpilogue<TSelf>
    where TSelf : struct, IStoreEpilogue<TSelf>
{
    /// <summary>The epilogue for the output row that starts at element <paramref name="rowOffset"/>.</summary>
    TSelf ForRow(long rowOffset);

    /// <summary>The value stored for the vector of sums at batch column <paramref name="b"/> of the row.</summary>
    TV Apply<TV>(TV sum, int b)
        where TV : struct;

    /// <summary>The value stored for the sum at batch column <paramref name="b"/> of the row.</summary>
    float Apply(float sum, int b);
}

/// <summary>Stores the sums as they are.</summary>
internal readonly struct PlainStore : IStoreEpilogue<PlainStore>
{
    public PlainStore ForRow(long rowOffset) => this;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public TV Apply<TV>(TV sum, int b)
        where TV : struct => sum;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float Apply(float sum, int b) => sum;
}

/// <summary>Stores <c>max(sum, 0)</c> with the IEEE semantics of <c>TensorPrimitives.Max</c> (NaN propagates, +0 above -0).</summary>
internal readonly struct ReluStore : IStoreEpilogue<ReluStore>
{
    public ReluStore ForRow(long rowOffset) => this;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public TV Apply<TV>(TV sum, int b)
        where TV : struct => Simd.Max(sum, default);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float Apply(float sum, int b) => MathF.Max(sum, 0f);
}

/// <summary>
/// Stores the sum where the gate (a ReLU's output, same shape as the output) is above zero and +0 elsewhere:
/// the input gradient times the derivative of the ReLU that produced the gate.
/// </summary>
internal readonly unsafe struct GatedStore(float* gate) : IStoreEpilogue<GatedStore>
{
    public GatedStore ForRow(long rowOffset) => new(gate + rowOffset);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public TV Apply<TV>(TV sum, int b)
        where TV : struct => Simd.WherePositive(Simd.Load<TV>(gate + b), sum);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float Apply(float sum, int b) => gate[b] > 0 ? sum : 0f;
}
