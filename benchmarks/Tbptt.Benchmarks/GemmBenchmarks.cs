using BenchmarkDotNet.Attributes;
using Tbptt.Numerics;

namespace Tbptt.Benchmarks;

/// <summary>
/// Single-precision GEMM on each backend at the shapes a training window at H = 512, B = 32, K = 50, E = 64 uses.
/// The reference triple loop runs only the smallest shape (it is the correctness yardstick, not a contender).
/// </summary>
[MemoryDiagnoser]
public class GemmBenchmarks
{
    /// <summary>One product: backend and shape (C = α·op(A)·op(B) + β·C, row-major, m × n × k).</summary>
    public sealed record Case(string Backend, string Shape, bool TransA, bool TransB, int M, int N, int K)
    {
        /// <summary>At most 20 characters, so BenchmarkDotNet prints it whole.</summary>
        public override string ToString() => $"{Backend}/{Shape}";
    }

    public static IEnumerable<Case> Cases()
    {
        foreach (string backend in new[] { "managed", "openblas", "reference" })
        {
            // gates (B × 4H) += h (B × H) · W_hhᵀ: the recurrent product of one step
            yield return new Case(backend, "step", false, true, 32, 2048, 512);
            if (backend == "reference") continue;
            // gates (K·B × 4H) = X (K·B × E) · W_ihᵀ: the input projections of a whole window
            yield return new Case(backend, "window-in", false, true, 1600, 2048, 64);
            // dW_hh (4H × H) += dGᵀ (4H × K·B) · H (K·B × H): a window's weight gradient
            yield return new Case(backend, "weight-grad", true, false, 2048, 512, 1600);
        }
    }

    [ParamsSource(nameof(Cases))]
    public Case Product { get; set; } = null!;

    private IBlasBackend _backend = null!;
    private float[] _a = [], _b = [], _c = [];

    [GlobalSetup]
    public void Setup()
    {
        _backend = Product.Backend switch
        {
            "managed" => ManagedBlas.Instance,
            "reference" => ReferenceBlas.Instance,
            _ => NativeBlas.TryLoad(Product.Backend)
                 ?? throw new InvalidOperationException($"{Product.Backend} is not installed (apt-get install -y libopenblas0-pthread)."),
        };
        var rng = new Random(1);
        _a = Fill(Product.M * Product.K, rng);
        _b = Fill(Product.K * Product.N, rng);
        _c = new float[Product.M * Product.N];
    }

    private static float[] Fill(int length, Random rng)
    {
        var x = new float[length];
        for (int i = 0; i < length; i++) x[i] = (float)(rng.NextDouble() - 0.5);
        return x;
    }

    [Benchmark]
    public void Sgemm()
    {
        var p = Product;
        _backend.Gemm(p.TransA, p.TransB, p.M, p.N, p.K, 1f, _a, p.TransA ? p.M : p.K, _b, p.TransB ? p.K : p.N, 1f, _c, p.N);
    }
}
