using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Tbptt.Numerics;

/// <summary>
/// A right-hand GEMM operand op(B) (k × n) prepared once for many products with the same B — MKL's
/// <c>cblas_sgemm_pack</c> / <c>cblas_sgemm_compute</c> in spirit. Every step of a recurrent window multiplies by
/// the same W_hh, and at the small row counts of one step (a batch of 10–64) repacking a 4 MB weight on every
/// product costs as much as the product itself. Packed by the managed kernel, it holds B in the layout that
/// kernel's microkernel reads — the very copy each product would otherwise make, so the results are bit for bit
/// those of the unpacked product; on a backend without packing it holds a plain copy of op(B).
/// </summary>
/// <remarks>Buffers grow only: a window's products after the first pack allocate nothing.</remarks>
internal sealed unsafe class PackedOperand<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private T[] _buffer = [];

    /// <summary>The backend that packed it: the products run there, whatever <see cref="Blas.Active"/> is now.</summary>
    public IBlasBackend? Owner { get; private set; }
    /// <summary>Depth k and width n of op(B).</summary>
    public int K { get; private set; }
    public int N { get; private set; }
    /// <summary>Managed layout: depth of a k slice, width of a sliver, n rounded up to whole slivers.</summary>
    internal int Kc { get; private set; }
    internal int Nr { get; private set; }
    internal int Npad { get; private set; }
    /// <summary>Plain copy: op(B) stored as B was (transposed or not), leading dimension <see cref="Ld"/>.</summary>
    internal bool TransB { get; private set; }
    internal int Ld { get; private set; }
    /// <summary>Whether it holds the managed kernel's layout (else a plain copy, or bfloat16 tiles).</summary>
    internal bool Packed { get; private set; }
    /// <summary>Whether it holds <see cref="AmxBlas"/>'s bfloat16 tiles (in the float buffer, two to an element).</summary>
    internal bool Bfloat16Tiles { get; private set; }

    /// <summary>The first <paramref name="length"/> elements of the buffer, 64-byte aligned and pinned.</summary>
    internal T* Reserve(int length)
    {
        int pad = 64 / sizeof(T);
        if (_buffer.Length < length + pad) _buffer = GC.AllocateUninitializedArray<T>(length + pad, pinned: true);
        nint start = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_buffer));
        return (T*)((start + 63) & ~(nint)63);
    }

    /// <summary>The data as <see cref="Reserve"/> last aligned it.</summary>
    internal T* Data => Reserve(0);

    /// <summary>Records the managed layout just written through <see cref="Reserve"/>.</summary>
    internal void SetPacked(IBlasBackend owner, int k, int n, int kc, int nr, int npad) =>
        (Owner, K, N, Kc, Nr, Npad, Packed, Bfloat16Tiles, TransB, Ld) = (owner, k, n, kc, nr, npad, true, false, false, 0);

    /// <summary>Records <see cref="AmxBlas"/>'s tiles just written through <see cref="Reserve"/>.</summary>
    internal void SetBfloat16Tiles(AmxBlas owner, int k, int n) =>
        (Owner, K, N, Kc, Nr, Npad, Packed, Bfloat16Tiles, TransB, Ld) = (owner, k, n, 0, 0, 0, false, true, false, 0);

    /// <summary>A plain copy of B for a backend that packs nothing.</summary>
    internal void CopyFrom(IBlasBackend owner, bool transB, int k, int n, ReadOnlySpan<T> b, int ldb)
    {
        int rows = transB ? n : k, cols = transB ? k : n;
        T* dst = Reserve(rows * cols);
        for (int r = 0; r < rows; r++) b.Slice(r * ldb, cols).CopyTo(new Span<T>(dst + (nint)r * cols, cols));
        (Owner, K, N, Kc, Nr, Npad, Packed, Bfloat16Tiles, TransB, Ld) = (owner, k, n, 0, 0, 0, false, false, transB, cols);
    }

    /// <summary>The plain copy, for the backend's own GEMM.</summary>
    internal ReadOnlySpan<T> Copy => new(Data, (TransB ? N : K) * Ld);
}

public static partial class Blas
{
    /// <summary>
    /// Packs op(B) (k × n) for <see cref="Gemm{T}(bool, int, T, ReadOnlySpan{T}, int, PackedOperand{T}, T, Span{T}, int)"/>
    /// on the active backend. Pack again whenever B changes (the packed copy does not follow it).
    /// </summary>
    internal static void Pack<T>(bool transB, int k, int n, ReadOnlySpan<T> b, int ldb, PackedOperand<T> into)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Validate(false, transB, 0, n, k, 0, Math.Max(k, 1), b.Length, ldb, 0, Math.Max(n, 1));
        var backend = Active;
        if (backend is ManagedBlas managed) managed.Pack(transB, k, n, b, ldb, into);
        else if (backend is AmxBlas amx && typeof(T) == typeof(float))
            amx.Pack(transB, k, n, MemoryMarshal.Cast<T, float>(b), ldb, Unsafe.As<PackedOperand<float>>(into));
        else into.CopyFrom(backend, transB, k, n, b, ldb);
    }

    /// <summary>
    /// <c>C = α·op(A)·B + β·C</c> with B packed by <see cref="Pack{T}"/>, on the backend that packed it; op(A) is
    /// (m × B.K), C (m × B.N). The same numbers as the unpacked product.
    /// </summary>
    internal static void Gemm<T>(bool transA, int m, T alpha, ReadOnlySpan<T> a, int lda, PackedOperand<T> b,
        T beta, Span<T> c, int ldc) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var owner = b.Owner ?? throw new InvalidOperationException("the operand was never packed.");
        if (b.Packed) ((ManagedBlas)owner).GemmPacked(transA, m, alpha, a, lda, b, beta, c, ldc);
        else if (b.Bfloat16Tiles)
            ((AmxBlas)owner).GemmPacked(transA, m, float.CreateTruncating(alpha), MemoryMarshal.Cast<T, float>(a), lda,
                Unsafe.As<PackedOperand<float>>(b), float.CreateTruncating(beta), MemoryMarshal.Cast<T, float>(c), ldc);
        else GemmOn(owner, transA, b.TransB, m, b.N, b.K, alpha, a, lda, b.Copy, b.Ld, beta, c, ldc);
    }
}
