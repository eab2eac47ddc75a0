using System.Numerics;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Tbptt.Numerics;

/// <summary>Register width the managed kernel is built for.</summary>
internal enum ManagedSimd
{
    /// <summary>The widest the hardware accelerates: Vector512, else Vector256, else Vector&lt;T&gt;.</summary>
    Auto,
    Vector512,
    Vector256,
    /// <summary><see cref="Vector{T}"/>: the portable fallback (128-bit on Arm64).</summary>
    VectorT,
}

/// <summary>Tuning knobs of <see cref="ManagedBlas"/>. The defaults suit the machine; tests shrink them.</summary>
internal sealed record ManagedBlasOptions
{
    public ManagedSimd Simd { get; init; } = ManagedSimd.Auto;

    /// <summary>Threads one large product is split over (the caller plus helpers); 1 = serial.</summary>
    public int MaxThreads { get; init; } = BlasThreads.Count;

    /// <summary>
    /// Products of fewer multiply-adds (m·n·k) run on one thread: 2^20 takes about 15 µs on one core, while
    /// handing work to a helper that has gone to sleep costs up to tens of microseconds.
    /// </summary>
    public long ParallelThreshold { get; init; } = 1L << 20;

    /// <summary>Cache blocking (rows of A per L2 block, depth per L1 sliver, columns of B per L3 panel); 0 = default.</summary>
    public int Mc { get; init; }
    public int Kc { get; init; }
    public int Nc { get; init; }
}

/// <summary>
/// The managed default backend: a packed, cache-blocked GEMM with a 6 × (2 vectors) FMA microkernel
/// (Vector512, Vector256 or Vector&lt;T&gt;), split across cores for large products. Correct for every
/// transpose combination, leading dimension and size; allocation-free once its per-thread buffers exist.
/// </summary>
internal sealed unsafe class ManagedBlas : IBlasBackend
{
    /// <summary>The default instance: widest accelerated vectors, all cores.</summary>
    public static readonly ManagedBlas Instance = new();

    readonly ManagedBlasOptions options;

    public ManagedBlas(ManagedBlasOptions? options = null)
    {
        this.options = options ?? new ManagedBlasOptions();
        if (this.options.MaxThreads < 1)
            throw new ArgumentOutOfRangeException(nameof(options), $"MaxThreads must be at least 1, not {this.options.MaxThreads}.");
        if (this.options.Mc < 0 || this.options.Kc < 0 || this.options.Nc < 0)
            throw new ArgumentOutOfRangeException(nameof(options), $"Blocking sizes must be non-negative: Mc={this.options.Mc}, Kc={this.options.Kc}, Nc={this.options.Nc}.");
        Simd = this.options.Simd != ManagedSimd.Auto ? this.options.Simd
            : Vector512.IsHardwareAccelerated ? ManagedSimd.Vector512
            : Vector256.IsHardwareAccelerated ? ManagedSimd.Vector256
            : ManagedSimd.VectorT;
    }

    public string Name => "managed";

    /// <summary>The register width actually used.</summary>
    public ManagedSimd Simd { get; }

    public int MaxThreads => options.MaxThreads;

    /// <summary>E.g. <c>Vector256 × FMA, 2 threads</c>.</summary>
    public string Describe()
    {
        bool fma = Fma.IsSupported || System.Runtime.Intrinsics.Arm.AdvSimd.IsSupported;
        string width = Simd == ManagedSimd.VectorT ? $"Vector<T> ({Vector<byte>.Count * 8}-bit)" : Simd.ToString();
        return $"{width}{(fma ? " FMA" : "")}, {MaxThreads} thread{(MaxThreads == 1 ? "" : "s")}";
    }

    public void Gemm(bool transA, bool transB, int m, int n, int k, float alpha, ReadOnlySpan<float> a, int lda,
        ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc) =>
        Run(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);

    public void Gemm(bool transA, bool transB, int m, int n, int k, double alpha, ReadOnlySpan<double> a, int lda,
        ReadOnlySpan<double> b, int ldb, double beta, Span<double> c, int ldc) =>
        Run(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);

    void Run<T>(bool transA, bool transB, int m, int n, int k, T alpha, ReadOnlySpan<T> a, int lda,
        ReadOnlySpan<T> b, int ldb, T beta, Span<T> c, int ldc) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Blas.Validate(transA, transB, m, n, k, a.Length, lda, b.Length, ldb, c.Length, ldc);
        if (m == 0 || n == 0) return;
        if (k == 0 || alpha == T.Zero)
        {
            // As in BLAS, A and B are not referenced: C = β·C, and β = 0 clears without reading.
            ScaleC(m, n, beta, c, ldc);
            return;
        }
        fixed (T* pa = a, pb = b, pc = c)
        {
            var problem = new GemmProblem<T>
            {
                A = pa, B = pb, C = pc, M = m, N = n, K = k, Lda = lda, Ldb = ldb, Ldc = ldc,
                TransA = transA, TransB = transB, Alpha = alpha, Beta = beta,
            };
            switch (Simd)
            {
                case ManagedSimd.Vector512: Run<Simd512<T>, Vector512<T>, T>(&problem); break;
                case ManagedSimd.Vector256: Run<Simd256<T>, Vector256<T>, T>(&problem); break;
                default: Run<SimdVector<T>, Vector<T>, T>(&problem); break;
            }
        }
    }

    /// <summary>Packs op(B) (k × n) into <paramref name="into"/> in the layout <see cref="GemmPacked"/> reads: for each k slice
    /// of depth Kc, the whole width as Nr-column slivers (zero-padded to Npad), exactly what each product would pack.</summary>
    public void Pack<T>(bool transB, int k, int n, ReadOnlySpan<T> b, int ldb, PackedOperand<T> into)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        fixed (T* pb = b)
        {
            var problem = new GemmProblem<T> { B = pb, N = n, K = k, Ldb = ldb, TransB = transB };
            switch (Simd)
            {
                case ManagedSimd.Vector512: PackAll<Simd512<T>, Vector512<T>, T>(&problem, into); break;
                case ManagedSimd.Vector256: PackAll<Simd256<T>, Vector256<T>, T>(&problem, into); break;
                default: PackAll<SimdVector<T>, Vector<T>, T>(&problem, into); break;
            }
        }
    }

    void PackAll<TS, TV, T>(GemmProblem<T>* p, PackedOperand<T> into)
        where TS : struct, ISimd<TV, T> where TV : struct where T : unmanaged, IFloatingPointIeee754<T>
    {
        int nr = GemmMicroKernel<TS, TV, T>.Nr, kc = Blocking(nr, sizeof(T)).Kc;
        int npad = (p->N + nr - 1) / nr * nr;
        T* dst = into.Reserve(npad * p->K);
        for (int pc = 0; pc < p->K; pc += kc)
            GemmDriver<TS, TV, T>.PackPanel(*p, pc, Math.Min(kc, p->K - pc), 0, p->N, dst + (nint)pc * npad);
        into.SetPacked(this, p->K, p->N, kc, nr, npad);
    }

    /// <summary><c>C = α·op(A)·B + β·C</c> with B as <see cref="Pack"/> left it (by this instance or one of the same width and blocking).</summary>
    public void GemmPacked<T>(bool transA, int m, T alpha, ReadOnlySpan<T> a, int lda, PackedOperand<T> b, T beta, Span<T> c, int ldc)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = b.N, k = b.K;
        Blas.Validate(transA, false, m, n, k, a.Length, lda, k * n, Math.Max(n, 1), c.Length, ldc);
        if (m == 0 || n == 0) return;
        if (k == 0 || alpha == T.Zero)
        {
            ScaleC(m, n, beta, c, ldc);
            return;
        }
        fixed (T* pa = a, pc = c)
        {
            var problem = new GemmProblem<T>
            {
                A = pa, C = pc, M = m, N = n, K = k, Lda = lda, Ldc = ldc, TransA = transA, Alpha = alpha, Beta = beta,
                PackedB = b.Data, PackedNpad = b.Npad,
            };
            switch (Simd)
            {
                case ManagedSimd.Vector512: RunPacked<Simd512<T>, Vector512<T>, T>(&problem, b); break;
                case ManagedSimd.Vector256: RunPacked<Simd256<T>, Vector256<T>, T>(&problem, b); break;
                default: RunPacked<SimdVector<T>, Vector<T>, T>(&problem, b); break;
            }
        }
    }

    void RunPacked<TS, TV, T>(GemmProblem<T>* p, PackedOperand<T> b)
        where TS : struct, ISimd<TV, T> where TV : struct where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (b.Nr != GemmMicroKernel<TS, TV, T>.Nr || b.Kc != Blocking(b.Nr, sizeof(T)).Kc)
            throw new InvalidOperationException($"the operand was packed for slivers of {b.Nr} and k slices of {b.Kc}; this kernel reads another layout (pack it again).");
        Run<TS, TV, T>(p);
    }

    static void ScaleC<T>(int m, int n, T beta, Span<T> c, int ldc) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (beta == T.One) return;
        for (int i = 0; i < m; i++)
        {
            Span<T> row = c.Slice(i * ldc, n);
            if (beta == T.Zero) row.Clear();
            else for (int j = 0; j < n; j++) row[j] *= beta;
        }
    }

    /// <summary>How one product is cut into parts for <see cref="GemmThreads"/>; lives on the caller's stack.</summary>
    struct Split<T> where T : unmanaged
    {
        public GemmProblem<T>* Problem;
        public GemmBlocking Blocking;
        public int Parts, Unit;
        public bool AlongN;
    }

    void Run<TS, TV, T>(GemmProblem<T>* p)
        where TS : struct, ISimd<TV, T> where TV : struct where T : unmanaged, IFloatingPointIeee754<T>
    {
        int mr = GemmMicroKernel<TS, TV, T>.Mr, nr = GemmMicroKernel<TS, TV, T>.Nr;
        var blocking = Blocking(nr, sizeof(T));
        // A prepacked B is laid out in whole slivers: its column panels must start on one (a panel's width does
        // not change any sum, only which columns are visited together).
        if (p->PackedB != null) blocking = blocking with { Nc = (blocking.Nc + nr - 1) / nr * nr };
        int parts = 1;
        bool alongN = p->N >= p->M; // split the larger side: the operand every part re-packs is the smaller one
        int unit = alongN ? nr : mr;
        if (options.MaxThreads > 1 && (long)p->M * p->N * p->K >= options.ParallelThreshold)
            parts = (int)Math.Min(options.MaxThreads, ((alongN ? p->N : p->M) + unit - 1) / unit);
        if (parts <= 1)
        {
            GemmDriver<TS, TV, T>.Run(*p, 0, p->M, 0, p->N, blocking);
            return;
        }
        var split = new Split<T> { Problem = p, Blocking = blocking, Parts = parts, Unit = unit, AlongN = alongN };
        GemmThreads.Run(parts, &Part<TS, TV, T>, &split);
    }

    static void Part<TS, TV, T>(void* context, int part)
        where TS : struct, ISimd<TV, T> where TV : struct where T : unmanaged, IFloatingPointIeee754<T>
    {
        ref Split<T> s = ref *(Split<T>*)context;
        ref GemmProblem<T> p = ref *s.Problem;
        int extent = s.AlongN ? p.N : p.M;
        int units = (extent + s.Unit - 1) / s.Unit;
        int lo = Math.Min(extent, (int)((long)units * part / s.Parts) * s.Unit);
        int hi = Math.Min(extent, (int)((long)units * (part + 1) / s.Parts) * s.Unit);
        if (lo >= hi) return;
        if (s.AlongN) GemmDriver<TS, TV, T>.Run(p, 0, p.M, lo, hi, s.Blocking);
        else GemmDriver<TS, TV, T>.Run(p, lo, hi, 0, p.N, s.Blocking);
    }

    GemmBlocking Blocking(int nr, int elementSize)
    {
        // kc: a kc × Nr sliver of B should fill about half of a 32 KiB L1, leaving room for the A sliver.
        int kc = options.Kc > 0 ? options.Kc : Math.Clamp(16384 / (nr * elementSize), 128, 384);
        // mc: an mc × kc block of A of about 192 KiB, well inside a 512 KiB–1 MiB L2.
        int mc = options.Mc > 0 ? options.Mc : Math.Max(6, 196608 / (kc * elementSize) / 6 * 6);
        // nc: a kc × nc panel of B of about 4 MiB, which the shared L3 holds while the row blocks sweep it.
        int nc = options.Nc > 0 ? options.Nc : Math.Max(nr, (4 << 20) / (kc * elementSize) / nr * nr);
        return new GemmBlocking(mc, kc, nc);
    }
}
