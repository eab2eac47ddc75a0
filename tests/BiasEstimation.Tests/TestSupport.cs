using FsCheck;
using FsCheck.Fluent;
using Tbptt.BiasEstimation;

namespace Tbptt.Tests.BiasEstimation;

/// <summary>Generators and small builders shared by the tests.</summary>
internal static class G
{
    private const int Steps = 1 << 30;

    /// <summary>Uniform double in [lo, hi] (FsCheck has no ranged double generator).</summary>
    public static Gen<double> Uniform(double lo, double hi) =>
        Gen.Choose(0, Steps).Select(i => lo + (hi - lo) * i / Steps);

    public static Gen<int> Seed => Gen.Choose(0, int.MaxValue);

    public static Gen<T> OneOf<T>(params T[] values) => Gen.Elements(values);

    /// <summary>Runs a property on <paramref name="tests"/> cases and throws (failing the xunit test) on a counterexample.</summary>
    public static void Check<T>(Gen<T> gen, Func<T, bool> property, int tests = 200) =>
        Prop.ForAll(Arb.From(gen), property)
            .Check(Config.QuickThrowOnFailure.WithMaxTest(tests));
}

/// <summary>Small hand-built profiles.</summary>
internal static class Profiles
{
    /// <summary>One sample per lag, so φ̄_k is exactly the value given.</summary>
    public static GradientNormProfile Single(params double[] phiBar)
    {
        var phi = new double[phiBar.Length, 1];
        for (int k = 0; k < phiBar.Length; k++) phi[k, 0] = phiBar[k];
        return new GradientNormProfile(phi);
    }

    public static BiasEstimate Estimate(GradientNormProfile p, BiasEstimatorOptions o, params double[] deltas) =>
        BiasEstimator.Estimate(p, o, deltas);

    public static double Gaussian(Random rng) =>
        Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
}

/// <summary>
/// A random profile φ_{k,s} = c·β^k·exp(ε_{k,s}), ε ~ U[−η, η], with some entries zeroed, random options and
/// (for the exact C_K) random mean vectors. Everything but the parameters comes from <see cref="Seed"/>, so a
/// failing case printed by FsCheck can be rebuilt exactly.
/// </summary>
internal sealed record ProfileCase(
    int W, int S, double LogBeta, double LogC, double Eta, double ZeroProb, DecayMethod Method, int Tau,
    int FitStart, double Q, Aggregation Aggregation, bool Exact, int Dim, int KMin, int KMax, int Seed)
{
    public static Gen<ProfileCase> Gen(double logCLo = -20, double logCHi = 20, bool zeros = true) =>
        from w in FsCheck.Fluent.Gen.Choose(2, 50)
        from s in FsCheck.Fluent.Gen.Choose(1, 6)
        from logBeta in G.Uniform(-1.0, 0.3)
        from logC in G.Uniform(logCLo, logCHi)
        from eta in G.OneOf(0.0, 0.05, 0.5, 2.0)
        from zeroProb in zeros ? G.OneOf(0.0, 0.0, 0.15) : G.OneOf(0.0)
        from method in G.OneOf(DecayMethod.Ols, DecayMethod.Max, DecayMethod.Quantile)
        from tau in FsCheck.Fluent.Gen.Choose(0, w - 1)
        from fitStart in FsCheck.Fluent.Gen.Choose(0, w - 2)
        from q in G.Uniform(0.05, 0.95)
        from agg in G.OneOf(Aggregation.Mean, Aggregation.GeometricMean)
        from exact in G.OneOf(false, true)
        from dim in FsCheck.Fluent.Gen.Choose(1, 4)
        from kMin in FsCheck.Fluent.Gen.Choose(1, w)
        from kMax in FsCheck.Fluent.Gen.Choose(kMin, w)
        from seed in G.Seed
        select new ProfileCase(w, s, logBeta, logC, eta, zeroProb, method, tau, fitStart, q, agg, exact, dim,
            kMin, kMax, seed);

    public double[,] Phi(double scale = 1.0)
    {
        var rng = new Random(Seed);
        var phi = new double[W, S];
        for (int k = 0; k < W; k++)
            for (int s = 0; s < S; s++)
            {
                double eps = Eta * (2 * rng.NextDouble() - 1);
                bool zero = rng.NextDouble() < ZeroProb;
                phi[k, s] = zero ? 0 : scale * Math.Exp(LogC + k * LogBeta + eps);
            }
        return phi;
    }

    public double[][]? MeanGradients(double scale = 1.0)
    {
        if (!Exact) return null;
        var rng = new Random(Seed ^ 0x5bd1e995);
        var g = new double[W][];
        for (int k = 0; k < W; k++)
        {
            g[k] = new double[Dim];
            for (int i = 0; i < Dim; i++) g[k][i] = scale * Math.Exp(LogC + k * LogBeta) * Profiles.Gaussian(rng);
        }
        return g;
    }

    public GradientNormProfile Profile(double scale = 1.0) => new(Phi(scale), MeanGradients(scale));

    public BiasEstimatorOptions Options(bool clamp = false) => new()
    {
        Method = Method,
        Tau = Tau,
        FitStart = FitStart,
        Quantile = Q,
        Aggregation = Aggregation,
        Cumulative = Exact ? CumulativeNorm.Exact : CumulativeNorm.Approximate,
        KMin = clamp ? KMin : 1,
        KMax = clamp ? KMax : W,
    };
}
