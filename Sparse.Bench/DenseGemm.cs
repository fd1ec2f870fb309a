using System.Runtime.Intrinsics;

namespace Sparse.Bench;

/// <summary>
/// The dense baseline: <c>Y = W X</c> with W dense (out, in) and X, Y feature-major (features, batch), the
/// same layout as the sparse kernels. A register-blocked micro-kernel (4 rows of W x 4 vectors of the
/// batch, 16 accumulators) with the rows split across the same worker pool: the best dense code we can
/// write, so the sparse speed-up is measured against a fair opponent.
/// </summary>
internal static unsafe class DenseGemm
{
    public static void Multiply(ReadOnlySpan<float> w, ReadOnlySpan<float> x, Span<float> y, int rows, int columns, int batch, ComputeOptions? options = null)
    {
        options ??= ComputeOptions.Default;
        fixed (float* pw = w, px = x, py = y)
        {
            var blocks = (rows + 3) / 4;
            var action = new Action(pw, px, py, rows, columns, batch, options.Simd);
            var chunks = Math.Min(blocks, options.Threads * 8);
            action.Chunks = chunks;
            action.Blocks = blocks;
            WorkerPool.Shared.Run(ref action, chunks, options.Threads);
        }
    }

    private struct Action(float* w, float* x, float* y, int rows, int columns, int batch, SimdLevel level) : IChunkAction
    {
        public int Chunks;
        public int Blocks;

        public readonly void Execute(int chunk)
        {
            var first = (int)((long)Blocks * chunk / Chunks);
            var last = (int)((long)Blocks * (chunk + 1) / Chunks);
            for (var block = first; block < last; block++)
            {
                var row = block * 4;
                if (row + 4 <= rows && level == SimdLevel.Vector512)
                {
                    FourRows<Vector512<float>>(row);
                }
                else if (row + 4 <= rows && level == SimdLevel.Vector256)
                {
                    FourRows<Vector256<float>>(row);
                }
                else
                {
                    for (var r = row; r < Math.Min(rows, row + 4); r++)
                    {
                        Scalar(r, 0);
                    }
                }
            }
        }

        private readonly void FourRows<TV>(int row)
            where TV : struct
        {
            var width = Simd.Count<TV>();
            float* w0 = w + ((long)row * columns), w1 = w0 + columns, w2 = w1 + columns, w3 = w2 + columns;
            var b = 0;
            for (; b + (4 * width) <= batch; b += 4 * width)
            {
                TV c00 = default, c01 = default, c02 = default, c03 = default;
                TV c10 = default, c11 = default, c12 = default, c13 = default;
                TV c20 = default, c21 = default, c22 = default, c23 = default;
                TV c30 = default, c31 = default, c32 = default, c33 = default;
                for (var i = 0; i < columns; i++)
                {
                    var p = x + ((long)i * batch) + b;
                    TV x0 = Simd.Load<TV>(p), x1 = Simd.Load<TV>(p + width), x2 = Simd.Load<TV>(p + (2 * width)), x3 = Simd.Load<TV>(p + (3 * width));
                    var a = Simd.Broadcast<TV>(w0[i]);
                    c00 = Simd.Fma(x0, a, c00); c01 = Simd.Fma(x1, a, c01); c02 = Simd.Fma(x2, a, c02); c03 = Simd.Fma(x3, a, c03);
                    a = Simd.Broadcast<TV>(w1[i]);
                    c10 = Simd.Fma(x0, a, c10); c11 = Simd.Fma(x1, a, c11); c12 = Simd.Fma(x2, a, c12); c13 = Simd.Fma(x3, a, c13);
                    a = Simd.Broadcast<TV>(w2[i]);
                    c20 = Simd.Fma(x0, a, c20); c21 = Simd.Fma(x1, a, c21); c22 = Simd.Fma(x2, a, c22); c23 = Simd.Fma(x3, a, c23);
                    a = Simd.Broadcast<TV>(w3[i]);
                    c30 = Simd.Fma(x0, a, c30); c31 = Simd.Fma(x1, a, c31); c32 = Simd.Fma(x2, a, c32); c33 = Simd.Fma(x3, a, c33);
                }

                Store(c00, c01, c02, c03, y + ((long)row * batch) + b, width);
                Store(c10, c11, c12, c13, y + ((long)(row + 1) * batch) + b, width);
                Store(c20, c21, c22, c23, y + ((long)(row + 2) * batch) + b, width);
                Store(c30, c31, c32, c33, y + ((long)(row + 3) * batch) + b, width);
            }

            if (b < batch)
            {
                for (var r = row; r < row + 4; r++)
                {
                    Scalar(r, b);
                }
            }
        }

        private static void Store<TV>(TV a, TV b, TV c, TV d, float* q, int width)
            where TV : struct
        {
            Simd.Store(a, q);
            Simd.Store(b, q + width);
            Simd.Store(c, q + (2 * width));
            Simd.Store(d, q + (3 * width));
        }

        private readonly void Scalar(int row, int from)
        {
            for (var b = from; b < batch; b++)
            {
                var sum = 0f;
                for (var i = 0; i < columns; i++)
                {
                    sum += w[((long)row * columns) + i] * x[((long)i * batch) + b];
                }

                y[((long)row * batch) + b] = sum;
            }
        }
    }
}
