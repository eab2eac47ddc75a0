using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Tbptt.Numerics;

/// <summary>
/// One validated GEMM, as raw pointers so it can be handed to worker threads while the caller keeps the
/// spans pinned. Row-major, same meaning as <see cref="IBlasBackend"/>.
/// </summary>
internal unsafe struct GemmProblem<T> where T : unmanaged
{
    public T* A, B, C;
    public int M, N, K, Lda, Ldb, Ldc;
    public bool TransA, TransB;
    public T Alpha, Beta;
    /// <summary>Null, or op(B) already packed (<see cref="ManagedBlas.Pack"/>): k slice pc starts at pc·PackedNpad.</summary>
    public T* PackedB;
    public int PackedNpad;
}

/// <summary>Cache blocking: a kc × nc panel of B (L3), an mc × kc block of A (L2), kc × Nr slivers in L1.</summary>
internal readonly record struct GemmBlocking(int Mc, int Kc, int Nc);

/// <summary>
/// The Goto/BLIS loop nest: for each nc-wide panel of columns and kc-deep slice of k, pack B once, then for each
/// mc-tall block of rows pack A and sweep the microkernel over Mr × Nr tiles. Packing makes every operand
/// contiguous in the order the kernel reads it, whatever the transposes and leading dimensions were, and
/// zero-pads the edges so the kernel never needs a remainder loop.
/// </summary>
internal static unsafe class GemmDriver<TS, TV, T>
    where TS : struct, ISimd<TV, T> where TV : struct where T : unmanaged, IFloatingPointIeee754<T>
{
    const int Mr = GemmMicroKernel<TS, TV, T>.Mr;

    /// <summary>Computes the block C[i0..i1, j0..j1) of the problem on the calling thread.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(in GemmProblem<T> p, int i0, int i1, int j0, int j1, GemmBlocking blk)
    {
        int nr = GemmMicroKernel<TS, TV, T>.Nr;
        int kcMax = Math.Min(blk.Kc, p.K);
        int mcMax = RoundUp(Math.Min(blk.Mc, i1 - i0), Mr);
        int ncMax = RoundUp(Math.Min(blk.Nc, j1 - j0), nr);
        T* ap = PackBuffers<T>.A(mcMax * kcMax);
        T* bp = p.PackedB == null ? PackBuffers<T>.B(ncMax * kcMax) : null;

        var first = p.Beta == T.Zero ? GemmMicroKernel<TS, TV, T>.Update.Overwrite
            : p.Beta == T.One ? GemmMicroKernel<TS, TV, T>.Update.Accumulate
            : GemmMicroKernel<TS, TV, T>.Update.Scale;

        for (int jc = j0; jc < j1; jc += blk.Nc)
        {
            int nc = Math.Min(blk.Nc, j1 - jc);
            for (int pc = 0; pc < p.K; pc += blk.Kc)
            {
                int kc = Math.Min(blk.Kc, p.K - pc);
                // A prepacked B holds this panel's slivers already: the same values PackB would write.
                T* panel = p.PackedB != null ? p.PackedB + (nint)pc * p.PackedNpad + (nint)jc * kc : bp;
                if (p.PackedB == null) PackB(p, pc, kc, jc, nc, bp);
                // Later k slices add onto what the first one wrote: β applies exactly once.
                var update = pc == 0 ? first : GemmMicroKernel<TS, TV, T>.Update.Accumulate;
                for (int ic = i0; ic < i1; ic += blk.Mc)
                {
                    int mc = Math.Min(blk.Mc, i1 - ic);
                    PackA(p, ic, mc, pc, kc, ap);
                    for (int jr = 0; jr < nc; jr += nr)
                    {
                        int cols = Math.Min(nr, nc - jr);
                        T* bs = panel + (nint)jr * kc;
                        T* ct = p.C + (nint)ic * p.Ldc + jc + jr;
                        for (int ir = 0; ir < mc; ir += Mr)
                        {
                            int rows = Math.Min(Mr, mc - ir);
                            T* asl = ap + (nint)ir * kc;
                            T* c = ct + (nint)ir * p.Ldc;
                            if (rows == Mr && cols == nr)
                                GemmMicroKernel<TS, TV, T>.Tile(kc, asl, bs, c, p.Ldc, p.Alpha, p.Beta, update);
                            else
                                GemmMicroKernel<TS, TV, T>.EdgeTile(kc, asl, bs, c, p.Ldc, rows, cols, p.Alpha, p.Beta, update);
                        }
                    }
                }
            }
        }
    }

    /// <summary>
    /// Packs op(A)[ic..ic+mc, pc..pc+kc) as Mr-row slivers, each kc × Mr with the row index fastest,
    /// zero-padding the last sliver's missing rows.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void PackA(in GemmProblem<T> p, int ic, int mc, int pc, int kc, T* dst)
    {
        for (int s = 0; s < mc; s += Mr, dst += Mr * kc)
        {
            int rows = Math.Min(Mr, mc - s);
            if (p.TransA)
            {
                // op(A)(i, q) = A[q, i]: the sliver's Mr rows are contiguous in each stored row q.
                T* src = p.A + (nint)pc * p.Lda + ic + s;
                for (int q = 0; q < kc; q++, src += p.Lda)
                {
                    int r = 0;
                    for (; r < rows; r++) dst[q * Mr + r] = src[r];
                    for (; r < Mr; r++) dst[q * Mr + r] = T.Zero;
                }
            }
            else
            {
                // op(A) = A: each row is contiguous in q, so this is a small transpose into the sliver.
                T* src = p.A + (nint)(ic + s) * p.Lda + pc;
                if (rows == Mr)
                {
                    // Full sliver: six sequential read streams, one contiguous write stream.
                    T* s0 = src, s1 = s0 + p.Lda, s2 = s1 + p.Lda, s3 = s2 + p.Lda, s4 = s3 + p.Lda, s5 = s4 + p.Lda;
                    T* d = dst;
                    for (int q = 0; q < kc; q++, d += Mr)
                    {
                        d[0] = s0[q]; d[1] = s1[q]; d[2] = s2[q]; d[3] = s3[q]; d[4] = s4[q]; d[5] = s5[q];
                    }
                }
                else
                {
                    PackTransposing(src, p.Lda, rows, kc, Mr, dst);
                }
            }
        }
    }

    /// <summary>
    /// Packs op(B)[pc..pc+kc, jc..jc+nc) as Nr-column slivers, each kc × Nr with the column index fastest,
    /// zero-padding the last sliver's missing columns.
    /// </summary>
    /// <summary>op(B)[pc..pc+kc, jc..jc+nc) as <see cref="Run"/> packs it, for an operand packed once for many products.</summary>
    public static void PackPanel(in GemmProblem<T> p, int pc, int kc, int jc, int nc, T* dst) => PackB(p, pc, kc, jc, nc, dst);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void PackB(in GemmProblem<T> p, int pc, int kc, int jc, int nc, T* dst)
    {
        int nr = GemmMicroKernel<TS, TV, T>.Nr, w = TS.Count;
        if (p.TransB)
        {
            // op(B)(q, j) = B[j, q]: each column of op(B) is a contiguous stored row.
            for (int s = 0; s < nc; s += nr, dst += nr * kc)
                PackTransposing(p.B + (nint)(jc + s) * p.Ldb + pc, p.Ldb, Math.Min(nr, nc - s), kc, nr, dst);
            return;
        }
        // op(B) = B: walk each stored row once across the whole panel (sequential reads; row by row per sliver
        // would touch kc lines a power-of-two stride apart, which all collide in the same L1 sets).
        int full = nc / nr * nr, rest = nc - full;
        T* src = p.B + (nint)pc * p.Ldb + jc;
        for (int q = 0; q < kc; q++, src += p.Ldb)
        {
            T* d = dst + q * nr;
            int s = 0;
            for (; s < full; s += nr, d += nr * kc)
            {
                TS.Store(d, TS.Load(src + s));
                TS.Store(d + w, TS.Load(src + s + w));
            }
            if (rest == 0) continue;
            int j = 0;
            for (; j < rest; j++) d[j] = src[s + j];
            for (; j < nr; j++) d[j] = T.Zero;
        }
    }

    /// <summary>
    /// dst[q·width + r] = src[r·ld + q] for r &lt; lines, q &lt; kc, and zero for lines ≤ r &lt; width.
    /// Walks four source lines at a time so each pass reads sequential memory and writes whole cache lines.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void PackTransposing(T* src, int ld, int lines, int kc, int width, T* dst)
    {
        int r = 0;
        // The hot case is op(B) = Wᵀ with W stored row-major (h·Wᵀ in every recurrent step): there the packing
        // is paid once per product and is not amortised over many rows, so it gets a SIMD block transpose.
        if (Avx.IsSupported && typeof(T) == typeof(float) && width % 8 == 0)
            r = TransposeBlocks8((float*)src, ld, lines, kc, width, (float*)dst);
        else if (Avx.IsSupported && typeof(T) == typeof(double) && width % 4 == 0)
            r = TransposeBlocks4((double*)src, ld, lines, kc, width, (double*)dst);
        for (; r + 4 <= lines; r += 4)
        {
            T* s0 = src + (nint)r * ld, s1 = s0 + ld, s2 = s1 + ld, s3 = s2 + ld;
            T* d = dst + r;
            for (int q = 0; q < kc; q++, d += width)
            {
                d[0] = s0[q]; d[1] = s1[q]; d[2] = s2[q]; d[3] = s3[q];
            }
        }
        for (; r < lines; r++)
        {
            T* s0 = src + (nint)r * ld;
            T* d = dst + r;
            for (int q = 0; q < kc; q++, d += width) *d = s0[q];
        }
        for (; r < width; r++)
        {
            T* d = dst + r;
            for (int q = 0; q < kc; q++, d += width) *d = T.Zero;
        }
    }

    /// <summary>
    /// The 8-line groups of <see cref="PackTransposing"/> for float, as 8 × 8 register transposes
    /// (unpack, shuffle, 128-bit permute); leftover columns q of each group are copied one by one.
    /// Returns the number of lines done.
    /// </summary>
    static int TransposeBlocks8(float* src, int ld, int lines, int kc, int width, float* dst)
    {
        int r = 0;
        for (; r + 8 <= lines; r += 8)
        {
            float* s = src + (nint)r * ld;
            int q = 0;
            for (; q + 8 <= kc; q += 8)
            {
                Vector256<float> t0 = Avx.UnpackLow(Load(s, 0), Load(s + ld, 0)), t1 = Avx.UnpackHigh(Load(s, 0), Load(s + ld, 0));
                Vector256<float> t2 = Avx.UnpackLow(Load(s + 2 * ld, 0), Load(s + 3 * ld, 0)), t3 = Avx.UnpackHigh(Load(s + 2 * ld, 0), Load(s + 3 * ld, 0));
                Vector256<float> t4 = Avx.UnpackLow(Load(s + 4 * ld, 0), Load(s + 5 * ld, 0)), t5 = Avx.UnpackHigh(Load(s + 4 * ld, 0), Load(s + 5 * ld, 0));
                Vector256<float> t6 = Avx.UnpackLow(Load(s + 6 * ld, 0), Load(s + 7 * ld, 0)), t7 = Avx.UnpackHigh(Load(s + 6 * ld, 0), Load(s + 7 * ld, 0));
                Vector256<float> u0 = Avx.Shuffle(t0, t2, 0x44), u1 = Avx.Shuffle(t0, t2, 0xEE);
                Vector256<float> u2 = Avx.Shuffle(t1, t3, 0x44), u3 = Avx.Shuffle(t1, t3, 0xEE);
                Vector256<float> u4 = Avx.Shuffle(t4, t6, 0x44), u5 = Avx.Shuffle(t4, t6, 0xEE);
                Vector256<float> u6 = Avx.Shuffle(t5, t7, 0x44), u7 = Avx.Shuffle(t5, t7, 0xEE);
                float* d = dst + (nint)q * width + r;
                Avx.Permute2x128(u0, u4, 0x20).Store(d);
                Avx.Permute2x128(u1, u5, 0x20).Store(d + width);
                Avx.Permute2x128(u2, u6, 0x20).Store(d + 2 * width);
                Avx.Permute2x128(u3, u7, 0x20).Store(d + 3 * width);
                Avx.Permute2x128(u0, u4, 0x31).Store(d + 4 * width);
                Avx.Permute2x128(u1, u5, 0x31).Store(d + 5 * width);
                Avx.Permute2x128(u2, u6, 0x31).Store(d + 6 * width);
                Avx.Permute2x128(u3, u7, 0x31).Store(d + 7 * width);
                s += 8;
            }
            for (; q < kc; q++, s++)
                for (int i = 0; i < 8; i++) dst[(nint)q * width + r + i] = s[(nint)i * ld];
        }
        return r;

        static Vector256<float> Load(float* p, int offset) => Vector256.Load(p + offset);
    }

    /// <summary>As <see cref="TransposeBlocks8"/> for double: 4 × 4 transposes.</summary>
    static int TransposeBlocks4(double* src, int ld, int lines, int kc, int width, double* dst)
    {
        int r = 0;
        for (; r + 4 <= lines; r += 4)
        {
            double* s = src + (nint)r * ld;
            int q = 0;
            for (; q + 4 <= kc; q += 4, s += 4)
            {
                Vector256<double> r0 = Vector256.Load(s), r1 = Vector256.Load(s + ld);
                Vector256<double> r2 = Vector256.Load(s + 2 * ld), r3 = Vector256.Load(s + 3 * ld);
                Vector256<double> t0 = Avx.UnpackLow(r0, r1), t1 = Avx.UnpackHigh(r0, r1);
                Vector256<double> t2 = Avx.UnpackLow(r2, r3), t3 = Avx.UnpackHigh(r2, r3);
                double* d = dst + (nint)q * width + r;
                Avx.Permute2x128(t0, t2, 0x20).Store(d);
                Avx.Permute2x128(t1, t3, 0x20).Store(d + width);
                Avx.Permute2x128(t0, t2, 0x31).Store(d + 2 * width);
                Avx.Permute2x128(t1, t3, 0x31).Store(d + 3 * width);
            }
            for (; q < kc; q++, s++)
                for (int i = 0; i < 4; i++) dst[(nint)q * width + r + i] = s[(nint)i * ld];
        }
        return r;
    }

    static int RoundUp(int x, int multiple) => (x + multiple - 1) / multiple * multiple;
}

/// <summary>
/// Per-thread packing buffers, grown on demand and then reused, so a steady stream of products allocates
/// nothing. Pinned (POH) so raw pointers stay valid; 64-byte aligned so packed slivers start on cache lines.
/// </summary>
internal static unsafe class PackBuffers<T> where T : unmanaged
{
    [ThreadStatic] static T[]? a, b;

    public static T* A(int length) => Get(ref a, length);
    public static T* B(int length) => Get(ref b, length);

    static T* Get(ref T[]? buffer, int length)
    {
        int pad = 64 / sizeof(T);
        if (buffer is null || buffer.Length < length + pad)
            buffer = GC.AllocateUninitializedArray<T>(length + pad, pinned: true);
        nint start = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(buffer));
        return (T*)((start + 63) & ~(nint)63);
    }
}
