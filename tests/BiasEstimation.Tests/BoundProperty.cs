using FsCheck.Fluent;
using Tbptt.BiasEstimation;

namespace Tbptt.Tests.BiasEstimation;

/// <summary>
/// The bias bound itself (issue 3, "the bound itself, as a property"): with exact geometric decay of the mean
/// norms from τ₀ on, the ols fit from τ₀, mean aggregation and the exact C_K, δ̂(K) bounds the true relative bias
/// of the summed state gradient, ‖Σ_{k=K..W−1} ḡ_k‖ / ‖Σ_{k=0..W−1} ḡ_k‖, for every K where δ̂ is finite.
/// </summary>
/// <remarks>
/// Why it must hold (triangle inequality, twice):
/// (1) Numerator. ‖ḡ_k‖ = ‖mean_s g_{k,s}‖ ≤ mean_s ‖g_{k,s}‖ = φ̄_k, so ‖Σ_{k=K..W−1} ḡ_k‖ ≤ Σ_{k=K..W−1} φ̄_k.
///     With φ̄_k = φ̄_τ·β^(k−τ) for k ≥ τ ≥ τ₀ and β̂ = β (the ols fit over exactly geometric lags is exact),
///     Σ_{k=K..W−1} φ̄_k ≤ Σ_{k=K..τ−1} φ̄_k + Σ_{k≥max(K,τ)} φ̄_τ β^(k−τ) = Ê(K). So tail(K) ≤ Ê(K).
/// (2) Denominator. For every K', C_{K'} − Ê(K') ≤ ‖Σ_{k&lt;K'} ḡ_k‖ − ‖Σ_{k≥K'} ḡ_k‖ ≤ ‖Σ_k ḡ_k‖ by (1) and the
///     reverse triangle inequality, so Ĝ ≤ ‖Σ_{k=0..W−1} ḡ_k‖.
/// Hence δ̂(K) = Ê(K)/Ĝ ≥ tail(K)/‖total‖. Only rounding separates the two sides when every vector points the same
/// way (the "aligned" cases, where both inequalities are nearly tight), hence the 1e-9 relative slack.
/// </remarks>
public class BoundProperty
{
    private enum Layout { Random, AlignedTail, AlignedAll }

    private sealed record Case(int W, int Tau0, int Tau, int S, int Dim, double LogBeta, Layout Layout, int Seed);

    /// <summary>Profiles built from per-sample vectors (<see cref="Build"/>): exactly geometric from τ₀, with τ ≥ τ₀.</summary>
    private static readonly FsCheck.Gen<Case> Cases =
        from w in Gen.Choose(3, 40)
        from tau0 in Gen.Choose(0, w - 2)
        from tau in Gen.Choose(tau0, w - 1)
        from s in Gen.Choose(1, 6)
        from dim in Gen.Choose(1, 6)
        from logBeta in G.Uniform(-2.5, -0.03)
        from layout in G.OneOf(Layout.Random, Layout.AlignedTail, Layout.AlignedAll)
        from seed in G.Seed
        select new Case(w, tau0, tau, s, dim, logBeta, layout, seed);

    [Fact]
    public void Relative_bias_estimate_bounds_the_state_space_relative_bias()
    {
        int finiteCases = 0, checkedKs = 0;
        G.Check(Cases, c =>
        {
            var (phi, meanG) = Build(c);
            var options = new BiasEstimatorOptions
            {
                Method = DecayMethod.Ols, FitStart = c.Tau0, Tau = c.Tau,
                Aggregation = Aggregation.Mean, Cumulative = CumulativeNorm.Exact,
            };
            var e = BiasEstimator.Estimate(new GradientNormProfile(phi, meanG), options, []);
            if (!e.Diagnostics.HasFlag(BiasDiagnostics.TooFewPoints) && Math.Abs(e.LogBeta - c.LogBeta) > 1e-9)
                return false; // the premise "β̂ is the true rate" must itself hold
            double total = Norm(Sum(meanG, 0, c.W, c.Dim));
            bool any = false;
            for (int k = 1; k <= c.W; k++)
            {
                double d = e.RelativeBias[k - 1];
                if (!double.IsFinite(d)) continue;
                any = true;
                checkedKs++;
                double trueBias = Norm(Sum(meanG, k, c.W, c.Dim)) / total;
                if (d * (1 + 1e-9) < trueBias) return false;
            }
            if (any) finiteCases++;
            return true;
        }, tests: 500);
        // A bound that is never finite would pass vacuously: insist that it was exercised.
        Assert.True(finiteCases >= 100, $"δ̂ was finite in only {finiteCases} of 500 cases");
        Assert.True(checkedKs >= 1000, $"only {checkedKs} (case, K) pairs were checked");
    }

    /// <summary>
    /// The exact C_K (the paper's copy script) is never larger than the approximation Σ φ̄ (its language-model
    /// script), because ‖Σ_{k&lt;K} ḡ_k‖ ≤ Σ_{k&lt;K} ‖ḡ_k‖ ≤ Σ_{k&lt;K} φ̄_k; so with the same φ it gives a smaller Ĝ, a
    /// δ̂(K) at least as large for every K, and a κ̂(δ) at least as large for every δ. This is why the copy runs
    /// choose longer windows with it: cancellation between samples' gradients makes the bias look relatively larger.
    /// </summary>
    [Fact]
    public void Exact_cumulative_norm_never_gives_a_smaller_bias_or_K_than_the_approximation()
    {
        double[] deltas = [0.01, 0.1, 0.5, 0.9, 2.0];
        int larger = 0;
        G.Check(Cases, c =>
        {
            var (phi, meanG) = Build(c);
            var profile = new GradientNormProfile(phi, meanG);
            var approx = BiasEstimator.Estimate(profile, new BiasEstimatorOptions { Tau = c.Tau, Cumulative = CumulativeNorm.Approximate }, deltas);
            var exact = BiasEstimator.Estimate(profile, new BiasEstimatorOptions { Tau = c.Tau, Cumulative = CumulativeNorm.Exact }, deltas);
            for (int k = 0; k < c.W; k++)
                if (exact.RelativeBias[k] * (1 + 1e-9) < approx.RelativeBias[k]) return false;
            for (int i = 0; i < deltas.Length; i++)
                if (exact.KByDelta[i].K < approx.KByDelta[i].K) return false;
            if (exact.KByDelta.Zip(approx.KByDelta).Any(p => p.First.K > p.Second.K)) larger++;
            return true;
        }, tests: 300);
        Assert.True(larger >= 30, $"the exact C_K chose a longer K in only {larger} of 300 cases"); // the property has teeth
    }

    /// <summary>
    /// Per-sample state gradients g_{k,s}: random for k &lt; τ₀; from τ₀ on, g_{k,s} = β^(k−τ₀)·n_s·u_{k,s} with a unit
    /// direction u_{k,s} (random per lag and sample, or one shared direction), so every sample's norm, and hence φ̄,
    /// decays exactly at rate β from τ₀. Returns φ (the norms of those vectors) and ḡ (their means over samples).
    /// </summary>
    private static (double[,] Phi, double[][] MeanG) Build(Case c)
    {
        var rng = new Random(c.Seed);
        double beta = Math.Exp(c.LogBeta);
        double[] shared = UnitVector(rng, c.Dim);
        var n = Enumerable.Range(0, c.S).Select(_ => Math.Exp(2 * rng.NextDouble() - 1)).ToArray();
        var phi = new double[c.W, c.S];
        var meanG = new double[c.W][];
        for (int k = 0; k < c.W; k++)
        {
            meanG[k] = new double[c.Dim];
            for (int s = 0; s < c.S; s++)
            {
                double[] g;
                if (k < c.Tau0)
                {
                    double scale = Math.Exp(3 * rng.NextDouble() - 1);
                    g = c.Layout == Layout.AlignedAll
                        ? shared.Select(x => x * scale).ToArray()
                        : UnitVector(rng, c.Dim).Select(x => x * scale).ToArray();
                }
                else
                {
                    double[] u = c.Layout == Layout.Random ? UnitVector(rng, c.Dim) : shared;
                    double norm = Math.Pow(beta, k - c.Tau0) * n[s];
                    g = u.Select(x => x * norm).ToArray();
                }
                phi[k, s] = Norm(g);
                for (int i = 0; i < c.Dim; i++) meanG[k][i] += g[i] / c.S;
            }
        }
        return (phi, meanG);
    }

    private static double[] UnitVector(Random rng, int dim)
    {
        var v = Enumerable.Range(0, dim).Select(_ => Profiles.Gaussian(rng)).ToArray();
        double norm = Norm(v);
        return norm == 0 ? UnitVector(rng, dim) : v.Select(x => x / norm).ToArray();
    }

    private static double[] Sum(double[][] g, int from, int to, int dim)
    {
        var sum = new double[dim];
        for (int k = from; k < to; k++) for (int i = 0; i < dim; i++) sum[i] += g[k][i];
        return sum;
    }

    private static double Norm(double[] v) => Math.Sqrt(v.Sum(x => x * x));
}
