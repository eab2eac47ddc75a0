using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Tbptt.Numerics;

/// <summary>
/// Entry point for matrix products. Generic over the model's float type so the same engine code runs in
/// float32 (training) and float64 (gradient checks); the JIT removes the type test per instantiation.
/// </summary>
public static partial class Blas
{
    /// <summary>Row-major <c>C = α·op(A)·op(B) + β·C</c> on the active backend. See <see cref="IBlasBackend"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Gemm<T>(bool transA, bool transB, int m, int n, int k,
        T alpha, ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb,
        T beta, Span<T> c, int ldc) where T : unmanaged, IFloatingPointIeee754<T> =>
        GemmOn(Active, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);

    /// <summary>The product on a given backend (a packed operand's products stay on the backend that packed it).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void GemmOn<T>(IBlasBackend backend, bool transA, bool transB, int m, int n, int k,
        T alpha, ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb,
        T beta, Span<T> c, int ldc) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float))
        {
            backend.Gemm(transA, transB, m, n, k,
                float.CreateTruncating(alpha), MemoryMarshal.Cast<T, float>(a), lda,
                MemoryMarshal.Cast<T, float>(b), ldb,
                float.CreateTruncating(beta), MemoryMarshal.Cast<T, float>(c), ldc);
        }
        else if (typeof(T) == typeof(double))
        {
            backend.Gemm(transA, transB, m, n, k,
                double.CreateTruncating(alpha), MemoryMarshal.Cast<T, double>(a), lda,
                MemoryMarshal.Cast<T, double>(b), ldb,
                double.CreateTruncating(beta), MemoryMarshal.Cast<T, double>(c), ldc);
        }
        else
        {
            throw new NotSupportedException($"Blas.Gemm supports float and double, not {typeof(T).Name}.");
        }
    }

    /// <summary>Checks GEMM arguments once, with messages that name the sizes.</summary>
    internal static void Validate(bool transA, bool transB, int m, int n, int k,
        int aLength, int lda, int bLength, int ldb, int cLength, int ldc)
    {
        if (m < 0 || n < 0 || k < 0)
            throw new ArgumentOutOfRangeException(nameof(m), $"GEMM sizes must be non-negative: m={m}, n={n}, k={k}.");
        int aRows = transA ? k : m, aCols = transA ? m : k;
        int bRows = transB ? n : k, bCols = transB ? k : n;
        Check("A", aRows, aCols, aLength, lda);
        Check("B", bRows, bCols, bLength, ldb);
        Check("C", m, n, cLength, ldc);

        static void Check(string name, int rows, int cols, int length, int ld)
        {
            if (rows == 0 || cols == 0) return;
            if (ld < cols)
                throw new ArgumentException($"GEMM: leading dimension of {name} is {ld} but its rows hold {cols} elements.");
            long needed = (long)(rows - 1) * ld + cols;
            if (length < needed)
                throw new ArgumentException($"GEMM: {name} is {rows}×{cols} with stride {ld} and needs {needed} elements, but the span holds {length}.");
        }
    }
}
