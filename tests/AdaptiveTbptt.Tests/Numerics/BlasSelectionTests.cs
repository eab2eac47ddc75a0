using Tbptt.Numerics;

namespace Tbptt.Tests;

/// <summary>Argument validation, <c>TBPTT_BLAS</c> parsing and backend selection. Never changes <see cref="Blas.Active"/>.</summary>
public class BlasSelectionTests
{
    [Fact]
    public void ValidateNamesTheSizesInItsMessages()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Blas.Validate(false, false, -1, 2, 3, 10, 3, 10, 2, 10, 2));
        Assert.Contains("m=-1, n=2, k=3", e.Message);

        var lda = Assert.Throws<ArgumentException>(() => Blas.Validate(false, false, 2, 2, 3, 100, 2, 100, 2, 100, 2));
        Assert.Contains("leading dimension of A is 2 but its rows hold 3 elements", lda.Message);

        // transB: B is stored n × k = 4 × 3, so ldb ≥ 3 and (4 − 1)·5 + 3 = 18 elements are needed.
        var shortB = Assert.Throws<ArgumentException>(() => Blas.Validate(false, true, 2, 4, 3, 6, 3, 17, 5, 8, 4));
        Assert.Contains("B is 4×3 with stride 5 and needs 18 elements, but the span holds 17", shortB.Message);

        var shortC = Assert.Throws<ArgumentException>(() => Blas.Validate(true, false, 2, 4, 3, 6, 2, 12, 4, 7, 4));
        Assert.Contains("C is 2×4 with stride 4 and needs 8 elements, but the span holds 7", shortC.Message);

        Blas.Validate(true, true, 0, 0, 0, 0, 0, 0, 0, 0, 0); // empty products need no storage
    }

    [Fact]
    public void BackendsValidateBeforeTouchingMemory()
    {
        foreach (IBlasBackend backend in new IBlasBackend[] { ManagedBlas.Instance, ReferenceBlas.Instance })
        {
            var e = Assert.Throws<ArgumentException>(() =>
                backend.Gemm(false, false, 3, 3, 3, 1f, new float[8], 3, new float[9], 3, 0f, new float[9], 3));
            Assert.Contains("A is 3×3 with stride 3 and needs 9 elements, but the span holds 8", e.Message);
        }
        if (NativeBlas.TryLoad("openblas") is { } native)
            Assert.Throws<ArgumentException>(() =>
                native.Gemm(true, false, 3, 3, 3, 1.0, new double[9], 2, new double[9], 3, 0.0, new double[9], 3));
    }

    [Theory]
    [InlineData(null, BlasRequest.Auto)]
    [InlineData("", BlasRequest.Auto)]
    [InlineData(" auto ", BlasRequest.Auto)]
    [InlineData("managed", BlasRequest.Managed)]
    [InlineData("OpenBLAS", BlasRequest.OpenBlas)]
    [InlineData("mkl", BlasRequest.Mkl)]
    [InlineData("MKL\n", BlasRequest.Mkl)]
    [InlineData("reference", BlasRequest.Reference)]
    public void ParsesTbpttBlasValues(string? value, BlasRequest expected) =>
        Assert.Equal(expected, Blas.ParseRequest(value));

    [Theory]
    [InlineData("cublas")]
    [InlineData("open blas")]
    [InlineData("managed,openblas")]
    public void RejectsUnknownTbpttBlasValuesByName(string value)
    {
        var e = Assert.Throws<ArgumentException>(() => Blas.ParseRequest(value));
        Assert.Contains($"TBPTT_BLAS='{value}'", e.Message);
        Assert.Contains("managed, openblas, mkl, reference", e.Message);
    }

    [Fact]
    public void ForcedManagedAndReferenceSayWhy()
    {
        var (managed, why) = Blas.Resolve("managed", "TBPTT_BLAS=managed");
        Assert.IsType<ManagedBlas>(managed);
        Assert.StartsWith("managed [", why);
        Assert.EndsWith("(TBPTT_BLAS=managed)", why);

        var (reference, because) = Blas.Resolve("reference", "TBPTT_BLAS=reference");
        Assert.Same(ReferenceBlas.Instance, reference);
        Assert.Equal("reference (TBPTT_BLAS=reference)", because);
    }

    [Theory]
    [InlineData("openblas")]
    [InlineData("mkl")]
    public void ForcedNativeLibraryLoadsOrFailsNamingWhatWasTried(string name)
    {
        if (NativeBlas.TryLoad(name) is null)
        {
            var e = Assert.Throws<InvalidOperationException>(() => Blas.Resolve(name, $"TBPTT_BLAS={name}"));
            Assert.Contains($"TBPTT_BLAS={name}", e.Message);
            Assert.Contains(name == "mkl" ? "libmkl_rt.so" : "libopenblas.so.0", e.Message);
        }
        else
        {
            var (backend, why) = Blas.Resolve(name, $"TBPTT_BLAS={name}");
            Assert.Equal(name, backend.Name); // this library passes its self-test on a sane machine
            Assert.Contains($"TBPTT_BLAS={name}", why);
        }
    }

    [Fact]
    public void AutomaticSelectionMeasuresWhenANativeLibraryLoadsAndSaysSo()
    {
        string previous = Blas.CacheFile!;
        Blas.CacheFile = null; // measure, and leave the user's cache alone
        try
        {
            var (backend, why) = Blas.Resolve(null);
            bool native = NativeBlas.TryLoad("mkl") is not null || NativeBlas.TryLoad("openblas") is not null;
            Assert.StartsWith(backend.Name, why);
            if (native)
            {
                Assert.Contains("selected automatically, measured now", why);
                Assert.Contains("managed", why[why.IndexOf(';')..]); // the timings name the managed kernel too
            }
            else
            {
                Assert.Equal("managed", backend.Name);
                Assert.Contains("no native BLAS to compare: no mkl: tried libmkl_rt.so", why);
            }
        }
        finally
        {
            Blas.CacheFile = previous;
        }
    }

    [Fact]
    public void DescribeNamesTheActiveBackend() =>
        Assert.StartsWith(Blas.Active.Name, Blas.Describe());

    [Fact]
    public void SelfTestAcceptsCorrectBackendsAndCatchesWrongOnes()
    {
        Assert.Null(BlasSelfTest.Run(ManagedBlas.Instance));
        Assert.Null(BlasSelfTest.Run(ReferenceBlas.Instance));
        string? failure = BlasSelfTest.Run(new OffByOneBackend());
        Assert.NotNull(failure);
        Assert.Contains("7×9×11", failure);
    }

    /// <summary>A broken library: right shapes, wrong numbers.</summary>
    sealed class OffByOneBackend : IBlasBackend
    {
        public string Name => "broken";

        public void Gemm(bool transA, bool transB, int m, int n, int k, float alpha, ReadOnlySpan<float> a, int lda,
            ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc)
        {
            ReferenceBlas.Instance.Gemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
            c[0] += 1;
        }

        public void Gemm(bool transA, bool transB, int m, int n, int k, double alpha, ReadOnlySpan<double> a, int lda,
            ReadOnlySpan<double> b, int ldb, double beta, Span<double> c, int ldc)
        {
            ReferenceBlas.Instance.Gemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
            c[^1] += 1;
        }
    }
}
