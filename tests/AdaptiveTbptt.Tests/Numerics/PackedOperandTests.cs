using System.Numerics;
using Tbptt.Numerics;

namespace Tbptt.Tests;

/// <summary>
/// A right-hand operand packed once (the recurrent weight of a window) against the plain product on the same
/// backend: bit for bit, for every register width and blocking of the managed kernel (its packed copy is the one
/// each product would make) and for a backend that packs nothing (a plain copy). One operand object is packed again
/// and again with other shapes, as a layer does window after window.
/// </summary>
public class PackedOperandTests
{
    public static TheoryData<string> Backends() => new("managed", "managed-blocked", "managed-v512", "managed-v256", "managed-vectorT", "reference");

    static IBlasBackend Backend(string name) => name switch
    {
        "managed" => ManagedBlas.Instance,
        "managed-blocked" => new ManagedBlas(new ManagedBlasOptions { MaxThreads = 3, ParallelThreshold = 0, Mc = 13, Kc = 7, Nc = 37 }),
        "managed-v512" => new ManagedBlas(new ManagedBlasOptions { Simd = ManagedSimd.Vector512, Kc = 5 }),
        "managed-v256" => new ManagedBlas(new ManagedBlasOptions { Simd = ManagedSimd.Vector256, MaxThreads = 2, ParallelThreshold = 0 }),
        "managed-vectorT" => new ManagedBlas(new ManagedBlasOptions { Simd = ManagedSimd.VectorT, MaxThreads = 1 }),
        _ => new ReferenceBlas(),
    };

    [Theory, MemberData(nameof(Backends))]
    public void PackedProductsEqualPlainOnesBitForBit(string name)
    {
        var backend = Backend(name);
        var packedF = new PackedOperand<float>();
        var packedD = new PackedOperand<double>();
        var rng = new Random(7);
        // Shapes of the recurrent products (h·W_hhᵀ: n = G·Hd, k = Hd; dG·W_hh: n = Hd, k = G·Hd) and odd ones
        // crossing every sliver, tile and k-slice edge; β ∈ {0, 1, other}.
        var shapes = new List<(int M, int N, int K)> { (32, 2048, 512), (20, 512, 2048), (64, 200, 50), (10, 150, 600), (1, 7, 3) };
        for (int i = 0; i < 30; i++) shapes.Add((rng.Next(1, 40), rng.Next(1, 90), rng.Next(1, 90)));
        int t = 0;
        foreach (var (m, n, k) in shapes)
        {
            bool ta = t % 2 == 1, tb = t / 2 % 2 == 1;
            double beta = (t % 3) switch { 0 => 0, 1 => 1, _ => -0.5 };
            Check(backend, packedF, ta, tb, m, n, k, beta, t);
            if (t % 4 == 0) Check(backend, packedD, ta, tb, m, n, k, beta, t);
            t++;
        }
    }

    static void Check<T>(IBlasBackend backend, PackedOperand<T> packed, bool ta, bool tb, int m, int n, int k, double beta, int seed)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Random(seed);
        int lda = (ta ? m : k) + seed % 3, ldb = (tb ? k : n) + seed % 2, ldc = n + 1;
        T[] Random(int count) => Enumerable.Range(0, count).Select(_ => T.CreateTruncating(rng.NextDouble() * 2 - 1)).ToArray();
        var a = Random((ta ? k : m) * lda);
        var b = Random((tb ? n : k) * ldb);
        var c0 = Random(m * ldc);
        var expected = (T[])c0.Clone();
        var actual = (T[])c0.Clone();
        T one = T.One, bt = T.CreateTruncating(beta);
        backend.GemmTyped(ta, tb, m, n, k, one, a, lda, b, ldb, bt, expected, ldc);
        if (backend is ManagedBlas managed) managed.Pack(tb, k, n, b, ldb, packed);
        else packed.CopyFrom(backend, tb, k, n, b, ldb);
        Blas.Gemm(ta, m, one, a, lda, packed, bt, actual, ldc);
        Assert.True(expected.AsSpan().SequenceEqual(actual), $"{backend.Name}: m {m}, n {n}, k {k}, transA {ta}, transB {tb}, β {beta} ({typeof(T).Name})");
    }
}

internal static class BackendTyped
{
    /// <summary>The backend's own product for float or double.</summary>
    public static void GemmTyped<T>(this IBlasBackend backend, bool ta, bool tb, int m, int n, int k, T alpha, T[] a, int lda, T[] b, int ldb, T beta, T[] c, int ldc)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float))
            backend.Gemm(ta, tb, m, n, k, float.CreateTruncating(alpha), (float[])(object)a, lda, (float[])(object)b, ldb, float.CreateTruncating(beta), (float[])(object)c, ldc);
        else
            backend.Gemm(ta, tb, m, n, k, double.CreateTruncating(alpha), (double[])(object)a, lda, (double[])(object)b, ldb, double.CreateTruncating(beta), (double[])(object)c, ldc);
    }
}
