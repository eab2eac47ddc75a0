using BenchmarkDotNet.Attributes;
using Tbptt.BiasEstimation;

namespace Tbptt.Benchmarks;

/// <summary>
/// β̂, the bias bound and κ̂(δ) (docs §5–§6) from a W = 400 × S = 64 profile of geometrically decaying norms
/// with multiplicative noise, as a probe at the paper's defaults produces.
/// </summary>
[MemoryDiagnoser]
public class EstimatorBenchmarks
{
    private const int Window = 400, Samples = 64;
    private static readonly double[] Deltas = [0.5, 0.1, 0.01];
    private GradientNormProfile _profile = null!;
    private readonly BiasEstimatorOptions _options = new();

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(1);
        var phi = new double[Window, Samples];
        for (int k = 0; k < Window; k++)
            for (int s = 0; s < Samples; s++)
                phi[k, s] = Math.Pow(0.97, k) * Math.Exp(0.3 * (rng.NextDouble() - 0.5));
        _profile = new GradientNormProfile(phi);
    }

    [Benchmark]
    public BiasEstimate Estimate() => BiasEstimator.Estimate(_profile, _options, Deltas);
}
