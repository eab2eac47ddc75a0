namespace Tbptt.Numerics;

/// <summary>
/// The one seam every matrix product goes through: row-major GEMM,
/// <c>C = α·op(A)·op(B) + β·C</c>, with <c>op(X) = X</c> or <c>Xᵀ</c>.
/// β = 1 accumulates, which is how weight gradients are summed over time steps.
/// </summary>
/// <remarks>
/// Shapes: op(A) is (m × k), op(B) is (k × n), C is (m × n). Leading dimensions are row strides of the
/// matrices as stored (before op): A is (m × k) with lda ≥ k when not transposed, (k × m) with lda ≥ m when
/// transposed; likewise B. Callers pass spans that start at the first element.
/// </remarks>
public interface IBlasBackend
{
    /// <summary>Short name: <c>managed</c>, <c>openblas</c>, <c>mkl</c>, <c>reference</c>.</summary>
    string Name { get; }

    /// <summary>Single-precision <c>C = α·op(A)·op(B) + β·C</c>; with β = 0, C is overwritten (NaN in C does not propagate).</summary>
    void Gemm(bool transA, bool transB, int m, int n, int k,
        float alpha, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb,
        float beta, Span<float> c, int ldc);

    /// <summary>Double-precision <c>C = α·op(A)·op(B) + β·C</c>.</summary>
    void Gemm(bool transA, bool transB, int m, int n, int k,
        double alpha, ReadOnlySpan<double> a, int lda, ReadOnlySpan<double> b, int ldb,
        double beta, Span<double> c, int ldc);
}
