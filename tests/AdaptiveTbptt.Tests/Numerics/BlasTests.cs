using System.Collections.Concurrent;
using System.Numerics;
using Tbptt.Numerics;

namespace Tbptt.Tests;

/// <summary>
/// Every backend this machine can run, against <see cref="ReferenceBlas"/>: sizes swept so every SIMD and
/// blocking remainder occurs, all transpose combinations, padded leading dimensions whose padding holds NaN
/// (a kernel that reads it fails), α/β ∈ {0, 1, other}, NaN garbage in C when β = 0, float and double.
/// </summary>
public class BlasTests
{
    /// <summary>Managed variants always run; native libraries only where they load.</summary>
    public static TheoryData<string> Backends() => new(BackendNames());

    static IEnumerable<string> BackendNames()
    {
        // The default instance, a small-blocked parallel one, and each other register width (the default's
        // width is already covered by the first two).
        var widths = new[] { ("managed-v512", ManagedSimd.Vector512), ("managed-v256", ManagedSimd.Vector256), ("managed-vectorT", ManagedSimd.VectorT) }
            .Where(w => w.Item2 != ManagedBlas.Instance.Simd).Select(w => w.Item1);
        return new[] { "managed", "managed-blocked" }.Concat(widths).Concat(new[] { "openblas", "mkl" }.Where(native => NativeBlas.TryLoad(native) is not null));
    }

    static IBlasBackend Backend(string name) => name switch
    {
        "managed" => ManagedBlas.Instance,
        // Tiny, odd cache blocks and a parallel split of every product: small sizes cross every block edge.
        "managed-blocked" => new ManagedBlas(new ManagedBlasOptions { MaxThreads = 3, ParallelThreshold = 0, Mc = 13, Kc = 7, Nc = 37 }),
        // Explicit widths run even where the hardware lacks them (the runtime emulates), so each kernel is checked.
        "managed-v512" => new ManagedBlas(new ManagedBlasOptions { Simd = ManagedSimd.Vector512, Kc = 5 }),
        "managed-v256" => new ManagedBlas(new ManagedBlasOptions { Simd = ManagedSimd.Vector256, MaxThreads = 1 }),
        "managed-vectorT" => new ManagedBlas(new ManagedBlasOptions { Simd = ManagedSimd.VectorT, MaxThreads = 1 }),
        _ => NativeBlas.TryLoad(name) ?? throw new InvalidOperationException($"{name} is not loadable here."),
    };

    static readonly (double Alpha, double Beta)[] Scalars = [(1, 0), (1, 1), (0.75, -0.5), (-1.25, 0), (0, 0.5), (2, 1), (0, 0), (1, 2.5)];

    [Theory, MemberData(nameof(Backends))]
    public void SweepsEverySizeAndTransposeAgainstReference(string name)
    {
        var backend = Backend(name);
        // Columns come in tiles of 2 vectors (up to 32 floats with Vector512), rows in tiles of 6.
        int maxN = backend is ManagedBlas { Simd: ManagedSimd.Vector512 } ? 70 : 40;
        for (int s = 1; s <= maxN; s++)
            for (int t = 0; t < 4; t++)
            {
                bool ta = (t & 1) != 0, tb = (t & 2) != 0;
                var (alpha, beta) = Scalars[(3 * s + t) % Scalars.Length]; // each transpose pair meets every (α, β)
                Check(backend, ta, tb, m: 7, n: s, k: 11, alpha, beta, pad: s % 3);            // every column remainder
                if (s <= 25) Check(backend, ta, tb, m: s, n: 13, k: 9, alpha, beta, pad: (s + 1) % 4); // every row remainder
                if (s <= 33) Check(backend, ta, tb, m: 8, n: 17, k: s, alpha, beta, pad: 1);         // every depth
            }
    }

    [Theory, MemberData(nameof(Backends))]
    public void RandomShapesAndLeadingDimensionsMatchReference(string name)
    {
        var backend = Backend(name);
        var rng = new Random(12345);
        for (int i = 0; i < 40; i++)
        {
            var (alpha, beta) = Scalars[rng.Next(Scalars.Length)];
            Check(backend, rng.Next(2) == 1, rng.Next(2) == 1, rng.Next(1, 70), rng.Next(1, 70), rng.Next(1, 70),
                alpha, beta, pad: rng.Next(0, 9), seed: i);
        }
    }

    [Theory, MemberData(nameof(Backends))]
    public void LargerProductsCrossingCacheBlocksAndThreadsMatchReference(string name)
    {
        var backend = Backend(name);
        // Deeper than one k block (256 by default); the first is above the default parallel threshold (2^20).
        Check(backend, false, false, 61, 70, 301, 1, 0, pad: 5);
        Check(backend, false, true, 47, 41, 280, 0.5, 1, pad: 0);
        Check(backend, true, false, 100, 15, 270, 1, -0.5, pad: 2);
        Check(backend, true, true, 8, 150, 260, -1, 0, pad: 1);
    }

    [Fact]
    public void DegenerateSizesFollowBlasConventions()
    {
        foreach (var backend in BackendNames().Select(Backend))
        {
            // k = 0: C = β·C; β = 0 clears even NaN, without reading A or B (which may be empty).
            var c = new[] { float.NaN, float.NaN, 2f, 3f };
            backend.Gemm(false, false, 2, 2, 0, 1f, [], 1, [], 2, 0f, c, 2);
            Assert.Equal(new[] { 0f, 0f, 0f, 0f }, c);
            var d = new[] { 1.0, 2.0 };
            backend.Gemm(false, true, 1, 2, 0, 1.0, [], 1, [], 1, 3.0, d, 2);
            Assert.Equal(new[] { 3.0, 6.0 }, d);
            // m = 0 or n = 0: nothing happens.
            backend.Gemm(false, false, 0, 3, 2, 1f, [], 2, new float[6], 3, 0f, [], 3);
            backend.Gemm(true, false, 2, 0, 2, 1.0, new double[4], 2, [], 1, 0.0, [], 1);
        }
    }

    [Fact]
    public void GenericEntryPointRoutesFloatAndDoubleToTheActiveBackend()
    {
        // Reads Blas.Active but never changes it: other test classes run in parallel.
        float[] a = [1, 2, 3, 4], b = [5, 6, 7, 8], c = new float[4];
        Blas.Gemm(false, false, 2, 2, 2, 1f, a, 2, b, 2, 0f, c, 2);
        Assert.Equal(new float[] { 19, 22, 43, 50 }, c);
        double[] cd = [1, 1, 1, 1];
        Blas.Gemm(true, true, 2, 2, 2, 2.0, Array.ConvertAll(a, x => (double)x), 2, Array.ConvertAll(b, x => (double)x), 2, 1.0, cd, 2);
        Assert.Equal(new double[] { 2 * 23 + 1, 2 * 31 + 1, 2 * 34 + 1, 2 * 46 + 1 }, cd);
    }

    [Fact]
    public void ConcurrentCallersGetCorrectResults()
    {
        // One caller gets the helper threads, the others run serially; all must be right.
        var backend = new ManagedBlas(new ManagedBlasOptions { ParallelThreshold = 0 });
        Parallel.For(0, 8, i => Check(backend, i % 2 == 0, i % 3 == 0, 40 + i, 50 + 3 * i, 30 + i, 1, i % 2, pad: 1, seed: i));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void ManagedSteadyStateAllocatesNothing(int threads)
    {
        var backend = new ManagedBlas(new ManagedBlasOptions { MaxThreads = threads, ParallelThreshold = 0 });
        float[] a = new float[64 * 96], b = new float[96 * 80], c = new float[64 * 80];
        double[] ad = new double[64 * 96], bd = new double[96 * 80], cd = new double[64 * 80];
        for (int i = 0; i < 3; i++) // grows the packing buffers of this thread and of the helpers
        {
            backend.Gemm(false, true, 64, 80, 96, 1f, a, 96, b, 96, 0f, c, 80);
            backend.Gemm(true, false, 64, 80, 96, 1.0, ad, 64, bd, 80, 0.0, cd, 80);
        }
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 5; i++)
        {
            backend.Gemm(false, true, 64, 80, 96, 1f, a, 96, b, 96, 1f, c, 80);
            backend.Gemm(true, false, 64, 80, 96, 0.5, ad, 64, bd, 80, 1.0, cd, 80);
        }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    static readonly ConcurrentDictionary<(Type, bool, bool, int, int, int, double, double, int, int), (Array, Array)> ReferenceResults = new();

    /// <summary>Runs one product in float and in double and compares every element of C, padding included.</summary>
    static void Check(IBlasBackend backend, bool ta, bool tb, int m, int n, int k, double alpha, double beta, int pad, int seed = 0)
    {
        CheckTyped<float>(backend, ta, tb, m, n, k, alpha, beta, pad, seed);
        CheckTyped<double>(backend, ta, tb, m, n, k, alpha, beta, pad, seed);
    }

    static void CheckTyped<T>(IBlasBackend backend, bool ta, bool tb, int m, int n, int k, double alpha, double beta, int pad, int seed)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Random(seed * 7919 + m * 131 + n * 31 + k);
        int aRows = ta ? k : m, aCols = ta ? m : k, bRows = tb ? n : k, bCols = tb ? k : n;
        int lda = aCols + pad, ldb = bCols + pad, ldc = n + pad;
        // Padding of A and B is NaN: a backend that reads outside the matrices poisons C.
        var a = Matrix<T>(rng, aRows, aCols, lda, T.NaN);
        var b = Matrix<T>(rng, bRows, bCols, ldb, T.NaN);
        var c0 = Matrix<T>(rng, m, n, ldc, T.CreateTruncating(-7.0)); // C's padding must come back untouched
        if (beta == 0) for (int i = 0; i < m; i++) c0.AsSpan(i * ldc, n).Fill(T.NaN); // garbage β = 0 must ignore

        var actual = (T[])c0.Clone();
        Gemm(backend, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, actual, ldc);
        // The reference is the slow part, and every backend runs the same cases: compute it once per case.
        var (expectedArray, boundArray) = ReferenceResults.GetOrAdd((typeof(T), ta, tb, m, n, k, alpha, beta, pad, seed), _ =>
        {
            var expected = (T[])c0.Clone();
            Gemm(ReferenceBlas.Instance, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, expected, ldc);
            // |error| ≤ c·(k+2)·eps·(|α|·|A|·|B| + |β|·|C|): the classical bound for a k-term dot product.
            var bound = Array.ConvertAll(c0, x => T.IsNaN(x) ? T.Zero : T.Abs(x));
            var absA = Array.ConvertAll(a, x => T.IsNaN(x) ? T.Zero : T.Abs(x));
            var absB = Array.ConvertAll(b, x => T.IsNaN(x) ? T.Zero : T.Abs(x));
            Gemm(ReferenceBlas.Instance, ta, tb, m, n, k, Math.Abs(alpha), absA, lda, absB, ldb, Math.Abs(beta), bound, ldc);
            return (expected, bound);
        });
        var expected = (T[])expectedArray;
        var bound = (T[])boundArray;
        double tol = 4 * (k + 2) * double.CreateTruncating(MachineEpsilon<T>());

        for (int i = 0; i < m; i++)
            for (int j = 0; j < ldc; j++)
            {
                int at = i * ldc + j;
                double e = double.CreateTruncating(expected[at]), got = double.CreateTruncating(actual[at]);
                if (j >= n)
                {
                    Assert.True(got == -7.0, $"{backend.Name}: C padding [{i},{j}] overwritten with {got} ({Describe()})");
                    continue;
                }
                double allowed = tol * double.CreateTruncating(bound[at]) + 1e-300;
                Assert.True(Math.Abs(got - e) <= allowed,
                    $"{backend.Name} {typeof(T).Name}: C[{i},{j}] = {got}, expected {e} (±{allowed:G3}); {Describe()}");
            }

        string Describe() => $"m={m} n={n} k={k} transA={ta} transB={tb} α={alpha} β={beta} lda={lda} ldb={ldb} ldc={ldc}";
    }

    static T MachineEpsilon<T>() where T : IFloatingPointIeee754<T> => T.BitIncrement(T.One) - T.One;

    static void Gemm<T>(IBlasBackend backend, bool ta, bool tb, int m, int n, int k, double alpha, T[] a, int lda,
        T[] b, int ldb, double beta, T[] c, int ldc) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float))
            backend.Gemm(ta, tb, m, n, k, (float)alpha, (float[])(object)a, lda, (float[])(object)b, ldb, (float)beta, (float[])(object)c, ldc);
        else
            backend.Gemm(ta, tb, m, n, k, alpha, (double[])(object)a, lda, (double[])(object)b, ldb, beta, (double[])(object)c, ldc);
    }

    /// <summary>rows × cols values in [-1, 1) stored with stride ld; the ld − cols padding holds <paramref name="padding"/>.</summary>
    static T[] Matrix<T>(Random rng, int rows, int cols, int ld, T padding) where T : IFloatingPointIeee754<T>
    {
        var x = new T[Math.Max(0, rows * ld)];
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < ld; j++)
                x[i * ld + j] = j < cols ? T.CreateTruncating(rng.NextDouble() * 2 - 1) : padding;
        return x;
    }
}
