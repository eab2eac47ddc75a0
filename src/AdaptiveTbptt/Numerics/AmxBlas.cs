using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace Tbptt.Numerics;

/// <summary>
/// Single-precision products on Intel AMX tiles in bfloat16 (<c>Native/amx_bf16_gemm.c</c>): every element of op(A)
/// and op(B) is rounded to bfloat16 (8 significant bits), every sum is accumulated in float32 — what PyTorch does
/// for float32 matrix products under <c>torch.set_float32_matmul_precision("medium")</c> on such a CPU. Ten times
/// the managed kernel's rate on one core at a training step's shapes, for about three significant digits per
/// product. Double-precision products (gradient checks) stay on the managed kernel, exact.
/// </summary>
/// <remarks>
/// Available only where the kernel library was built (a C compiler at build time), the CPU reports AMX-BF16 and
/// the operating system grants the tile state; <see cref="Unavailable"/> says which is missing. Products are
/// split over <see cref="GemmThreads"/> by rows, or by column blocks when there are too few rows; buffers are per
/// thread and grow only, so a training loop's steady state allocates nothing.
/// </remarks>
internal sealed unsafe class AmxBlas : IBlasBackend
{
    /// <summary>The kernel library, next to this assembly.</summary>
    public const string LibraryName = "libtbptt_amx.so";

    /// <summary>Products of fewer multiply-adds run on one thread (a helper's hand-off costs microseconds).</summary>
    const long ParallelThreshold = 1L << 22;

    static readonly Lazy<(AmxBlas? Backend, string? Why)> Loaded = new(Load);

    readonly delegate* unmanaged[Cdecl]<int, int, int, float*, int, ushort*, int, int, void> packB;
    readonly delegate* unmanaged[Cdecl]<int, int, int, int, float, float*, int, ushort*, int, int, float, float*, int, ushort*, void> gemm;

    AmxBlas(nint pack, nint product, int threads)
    {
        MaxThreads = threads;
        packB = (delegate* unmanaged[Cdecl]<int, int, int, float*, int, ushort*, int, int, void>)pack;
        gemm = (delegate* unmanaged[Cdecl]<int, int, int, int, float, float*, int, ushort*, int, int, float, float*, int, ushort*, void>)product;
    }

    /// <summary>The backend, or null on a machine that cannot run it (see <see cref="Unavailable"/>).</summary>
    public static AmxBlas? Instance => Loaded.Value.Backend;

    /// <summary>Why there is no <see cref="Instance"/>, in a few words; null when there is one.</summary>
    public static string? Unavailable => Loaded.Value.Why;

    public string Name => "amx-bf16";

    /// <summary>Threads one product is split over (the caller plus helpers): every core, or <c>TBPTT_THREADS</c>.</summary>
    public int MaxThreads { get; }

    /// <summary>The same kernel split over at most <paramref name="threads"/> threads (benchmarks).</summary>
    public AmxBlas WithThreads(int threads) =>
        threads == MaxThreads ? this : new AmxBlas((nint)packB, (nint)gemm, Math.Max(1, threads));

    /// <summary>For <c>tbptt info</c> and benchmark output.</summary>
    public string Describe() => $"AMX tiles, bfloat16 products with float32 sums, {MaxThreads} thread{(MaxThreads == 1 ? "" : "s")}";

    static (AmxBlas?, string?) Load()
    {
        if (!RuntimeInformation.IsOSPlatform(OSPlatform.Linux) || RuntimeInformation.ProcessArchitecture != Architecture.X64)
            return (null, "AMX tiles need Linux on x86-64");
        // CPUID leaf 7: EDX bit 22 is AMX-BF16, bit 24 AMX-TILE; sub-leaf 1 EAX bit 5 AVX512-BF16 (the rounding).
        var (_, _, _, edx) = X86Base.CpuId(7, 0);
        if ((edx & (1 << 22)) == 0 || (edx & (1 << 24)) == 0) return (null, "this CPU has no AMX-BF16 tiles");
        if (!Avx512F.IsSupported || !Avx512BW.IsSupported || !Avx512F.VL.IsSupported || (X86Base.CpuId(7, 1).Eax & (1 << 5)) == 0)
            return (null, "this CPU has AMX tiles but not the AVX-512 (F, BW, VL, BF16) the kernel rounds with");
        if (!NativeLibrary.TryLoad(LibraryName, typeof(AmxBlas).Assembly, DllImportSearchPath.AssemblyDirectory, out nint handle))
            return (null, $"{LibraryName} was not built (it needs a C compiler with AMX support when the project is built)");
        if (!NativeLibrary.TryGetExport(handle, "tbptt_amx_init", out nint init) ||
            !NativeLibrary.TryGetExport(handle, "tbptt_amx_pack_b", out nint pack) ||
            !NativeLibrary.TryGetExport(handle, "tbptt_amx_gemm", out nint product))
            return (null, $"{LibraryName} lacks the kernel's entry points");
        if (((delegate* unmanaged[Cdecl]<int>)init)() != 0)
            return (null, "the operating system did not grant the AMX tile state (Linux 5.16 or later grants it)");
        return (new AmxBlas(pack, product, BlasThreads.Count), null);
    }

    static int RoundUp(int x, int to) => (x + to - 1) / to * to;

    /// <summary>bfloat16 elements of a packed op(B) (k × n): depth to 32, width to 32.</summary>
    static int PackedLength(int k, int n) => RoundUp(k, 32) * RoundUp(n, 32);

    public void Gemm(bool transA, bool transB, int m, int n, int k, float alpha, ReadOnlySpan<float> a, int lda,
        ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc)
    {
        Blas.Validate(transA, transB, m, n, k, a.Length, lda, b.Length, ldb, c.Length, ldc);
        if (m == 0 || n == 0) return;
        if (k == 0 || alpha == 0)
        {
            ManagedBlas.Instance.Gemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc); // C = β·C
            return;
        }
        ushort* packed = PackBuffers<ushort>.B(PackedLength(k, n));
        fixed (float* pb = b) PackInto(transB, k, n, pb, ldb, packed);
        fixed (float* pa = a, pc = c) Run(transA, m, n, k, alpha, pa, lda, packed, beta, pc, ldc);
    }

    public void Gemm(bool transA, bool transB, int m, int n, int k, double alpha, ReadOnlySpan<double> a, int lda,
        ReadOnlySpan<double> b, int ldb, double beta, Span<double> c, int ldc) =>
        ManagedBlas.Instance.Gemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);

    /// <summary>Packs op(B) (k × n) into <paramref name="into"/> for <see cref="GemmPacked"/>.</summary>
    public void Pack(bool transB, int k, int n, ReadOnlySpan<float> b, int ldb, PackedOperand<float> into)
    {
        // The operand's buffer holds floats; the packed bfloat16 pairs take half as many.
        var packed = (ushort*)into.Reserve((PackedLength(k, n) + 1) / 2);
        fixed (float* pb = b) PackInto(transB, k, n, pb, ldb, packed);
        into.SetBfloat16Tiles(this, k, n);
    }

    /// <summary><c>C = α·op(A)·B + β·C</c> with B as <see cref="Pack"/> left it.</summary>
    public void GemmPacked(bool transA, int m, float alpha, ReadOnlySpan<float> a, int lda, PackedOperand<float> b,
        float beta, Span<float> c, int ldc)
    {
        int n = b.N, k = b.K;
        Blas.Validate(transA, false, m, n, k, a.Length, lda, k * n, Math.Max(n, 1), c.Length, ldc);
        if (m == 0 || n == 0) return;
        if (k == 0 || alpha == 0)
        {
            ManagedBlas.Instance.Gemm(transA, false, m, n, 0, alpha, a, lda, [], Math.Max(n, 1), beta, c, ldc);
            return;
        }
        fixed (float* pa = a, pc = c) Run(transA, m, n, k, alpha, pa, lda, (ushort*)b.Data, beta, pc, ldc);
    }

    /// <summary>How a product is cut into parts; lives on the caller's stack.</summary>
    struct Split
    {
        public delegate* unmanaged[Cdecl]<int, int, int, float*, int, ushort*, int, int, void> PackB;
        public delegate* unmanaged[Cdecl]<int, int, int, int, float, float*, int, ushort*, int, int, float, float*, int, ushort*, void> Gemm;
        public float* A, B, C;
        public ushort* Packed;
        public int M, N, K, Lda, Ldb, Ldc, Parts;
        public float Alpha, Beta;
        public bool TransA, TransB, AlongN;
    }

    void PackInto(bool transB, int k, int n, float* b, int ldb, ushort* packed)
    {
        int blocks = RoundUp(n, 32) / 16; // column blocks of 16, padded to whole 32-column kernel blocks
        // Rounding and reordering cost about as much per element as 16 multiply-adds do on the tiles.
        var s = new Split { PackB = packB, B = b, Packed = packed, N = n, K = k, Ldb = ldb, TransB = transB, Parts = Parts((long)k * n * 16, blocks, MaxThreads) };
        GemmThreads.Run(s.Parts, &PackPart, &s);
    }

    static void PackPart(void* context, int part)
    {
        ref Split s = ref *(Split*)context;
        int blocks = RoundUp(s.N, 32) / 16;
        var (lo, hi) = Range(blocks, 1, part, s.Parts);
        if (lo < hi) s.PackB(s.TransB ? 1 : 0, s.K, s.N, s.B, s.Ldb, s.Packed, lo, hi);
    }

    void Run(bool transA, int m, int n, int k, float alpha, float* a, int lda, ushort* packed, float beta, float* c, int ldc)
    {
        // Rows when there are enough for every part to have two 32-row panels (each part rounds its own rows of A);
        // else 32-column blocks (each part rounds all of A, a small panel at a step's shapes).
        bool alongN = m < 64 * MaxThreads;
        int units = alongN ? RoundUp(n, 32) / 32 : RoundUp(m, 32) / 32;
        var s = new Split
        {
            Gemm = gemm, A = a, C = c, Packed = packed, M = m, N = n, K = k, Lda = lda, Ldc = ldc, Alpha = alpha,
            Beta = beta, TransA = transA, AlongN = alongN, Parts = Parts((long)m * n * k, units, MaxThreads),
        };
        GemmThreads.Run(s.Parts, &ProductPart, &s);
    }

    static void ProductPart(void* context, int part)
    {
        ref Split s = ref *(Split*)context;
        ushort* panel = PackBuffers<ushort>.A(32 * RoundUp(s.K, 32));
        var (lo, hi) = Range(s.AlongN ? s.N : s.M, 32, part, s.Parts);
        if (lo >= hi) return;
        var (m0, m1, n0, n1) = s.AlongN ? (0, s.M, lo, hi) : (lo, hi, 0, s.N);
        s.Gemm(s.TransA ? 1 : 0, m0, m1, s.K, s.Alpha, s.A, s.Lda, s.Packed, n0, n1, s.Beta, s.C, s.Ldc, panel);
    }

    static int Parts(long work, int units, int threads) =>
        work < ParallelThreshold ? 1 : Math.Min(threads, units);

    /// <summary>Part <paramref name="part"/> of <paramref name="parts"/> of [0, extent) in whole units.</summary>
    static (int Lo, int Hi) Range(int extent, int unit, int part, int parts)
    {
        int units = (extent + unit - 1) / unit;
        return (Math.Min(extent, (int)((long)units * part / parts) * unit),
                Math.Min(extent, (int)((long)units * (part + 1) / parts) * unit));
    }
}
