using FsCheck.Fluent;
using Tbptt.BiasEstimation;

namespace Tbptt.Tests.BiasEstimation;

/// <summary>Properties of β̂, δ̂ and κ̂ that must hold for every profile (design doc §4–§6, issue 3).</summary>
public class CurveProperties
{
    private sealed record OlsCase(int W, int S, double LogBeta, double LogC, double Eta, int FitStart, int Seed);

    [Fact]
    public void Ols_recovers_log_beta_within_the_bound_the_noise_allows()
    {
        // φ_{k,s} = c·β^k·exp(ε), ε ~ U[−η, η]: the sample mean of exp(ε) lies in [e^−η, e^η], so
        // ℓ_k = log c + k·log β + e_k with |e_k| ≤ η. The ols slope error is Σ(k−k̄)e_k / Σ(k−k̄)², at most
        // η·Σ|k−k̄| / Σ(k−k̄)². |log β|·(W−1) + 2η < 50 keeps every lag inside the usable range.
        var gen =
            from w in Gen.Choose(2, 60)
            from s in Gen.Choose(1, 8)
            from logBeta in G.Uniform(-0.8, 0.3)
            from logC in G.Uniform(-200, 200)
            from eta in G.OneOf(0.0, 0.01, 0.3, 0.5)
            from fitStart in Gen.Choose(0, w - 2)
            from seed in G.Seed
            select new OlsCase(w, s, logBeta, logC, eta, fitStart, seed);
        G.Check(gen, c =>
        {
            var rng = new Random(c.Seed);
            var phi = new double[c.W, c.S];
            for (int k = 0; k < c.W; k++)
                for (int s = 0; s < c.S; s++)
                    phi[k, s] = Math.Exp(c.LogC + k * c.LogBeta + c.Eta * (2 * rng.NextDouble() - 1));
            var e = BiasEstimator.Estimate(new GradientNormProfile(phi), new() { FitStart = c.FitStart }, []);
            double mean = (c.FitStart + c.W - 1) / 2.0, abs = 0, sq = 0;
            for (int k = c.FitStart; k < c.W; k++) { abs += Math.Abs(k - mean); sq += (k - mean) * (k - mean); }
            double tol = c.Eta * abs / sq + 1e-9;
            return Math.Abs(e.LogBeta - c.LogBeta) <= tol && e.PointsUsed == c.W - c.FitStart;
        }, tests: 300);
    }

    [Fact]
    public void Relative_bias_and_error_bound_are_non_increasing_in_K()
    {
        int finite = 0;
        G.Check(ProfileCase.Gen(), c =>
        {
            var e = BiasEstimator.Estimate(c.Profile(), c.Options(), []);
            if (double.IsFinite(e.RelativeBias[^1])) finite++;
            for (int k = 1; k < c.W; k++)
                if (e.RelativeBias[k] > e.RelativeBias[k - 1] || e.LogErrorBound[k] > e.LogErrorBound[k - 1])
                    return false;
            return true;
        }, tests: 400);
        Assert.True(finite > 40, $"only {finite} of 400 profiles had a finite δ̂: the property was barely exercised");
    }

    private sealed record KCase(ProfileCase Profile, double[] Deltas);

    [Fact]
    public void Chosen_K_is_the_smallest_K_meeting_delta_clamped_and_non_increasing_in_delta()
    {
        var gen =
            from p in ProfileCase.Gen()
            from logDeltas in G.Uniform(-10, 2.5).ArrayOf(6)
            select new KCase(p, logDeltas.Select(Math.Exp).Order().ToArray());
        G.Check(gen, c =>
        {
            var p = c.Profile;
            var free = BiasEstimator.Estimate(p.Profile(), p.Options(clamp: false), c.Deltas);
            var clamped = BiasEstimator.Estimate(p.Profile(), p.Options(clamp: true), c.Deltas);
            for (int i = 0; i < c.Deltas.Length; i++)
            {
                double d = c.Deltas[i];
                int k = free.KByDelta[i].K;
                // Smallest K meeting δ: every K' < κ̂ misses it, and κ̂ meets it unless no K does (then κ̂ = W).
                for (int kk = 1; kk < k; kk++) if (free.RelativeBias[kk - 1] < d) return false;
                if (!(free.RelativeBias[k - 1] < d) && k != p.W) return false;
                if (free.KByDelta[i].Delta != d || free.ChooseK(d) != k) return false;
                if (clamped.KByDelta[i].K != Math.Clamp(k, p.KMin, p.KMax) || clamped.ChooseK(d) != clamped.KByDelta[i].K)
                    return false;
                // Deltas are sorted ascending, so κ̂ must not increase.
                if (i > 0 && (k > free.KByDelta[i - 1].K || clamped.KByDelta[i].K > clamped.KByDelta[i - 1].K))
                    return false;
            }
            // δ equal to a point of the curve itself: "δ̂(K) < δ" is strict, so that K does not meet it.
            foreach (double d in free.RelativeBias.Where(d => d > 0 && double.IsFinite(d)))
            {
                int k = free.ChooseK(d);
                for (int kk = 1; kk < k; kk++) if (free.RelativeBias[kk - 1] < d) return false;
                if (!(free.RelativeBias[k - 1] < d) && k != p.W) return false;
            }
            return true;
        }, tests: 300);
    }

    private sealed record TailCase(int W, int S, int Tau, double LogBeta, double HeadSpread, DecayMethod Method, int Seed);

    [Fact]
    public void With_exact_geometric_decay_from_tau_the_error_bound_covers_the_true_tail()
    {
        // φ_{k,s} arbitrary for k < τ, φ_{k,s} = φ_{τ,s}·β^(k−τ) from τ on, so φ̄ decays exactly at β from τ, and
        // max/quantile from τ (or ols from fitStart = τ) recover β. Then Ê(K) must be at least Σ_{k=K..W−1} φ̄_k and
        // at least the tail to infinity Σ_{k≥K} φ̄_k (continued at rate β past the window), up to rounding.
        var gen =
            from w in Gen.Choose(3, 40)
            from s in Gen.Choose(1, 4)
            from tau in Gen.Choose(0, w - 2)
            from logBeta in G.Uniform(-3, -0.02)
            from spread in G.Uniform(0, 5)
            from method in G.OneOf(DecayMethod.Ols, DecayMethod.Max, DecayMethod.Quantile)
            from seed in G.Seed
            select new TailCase(w, s, tau, logBeta, spread, method, seed);
        G.Check(gen, c =>
        {
            var rng = new Random(c.Seed);
            double beta = Math.Exp(c.LogBeta);
            var phi = new double[c.W, c.S];
            for (int s = 0; s < c.S; s++)
                for (int k = 0; k < c.W; k++)
                    phi[k, s] = k <= c.Tau
                        ? Math.Exp(c.HeadSpread * (2 * rng.NextDouble() - 1))
                        : phi[c.Tau, s] * Math.Pow(beta, k - c.Tau);
            var options = new BiasEstimatorOptions { Method = c.Method, Tau = c.Tau, FitStart = c.Tau };
            var e = BiasEstimator.Estimate(new GradientNormProfile(phi), options, []);
            var phiBar = Enumerable.Range(0, c.W).Select(k => Enumerable.Range(0, c.S).Average(s => phi[k, s])).ToArray();
            if (e.LogBeta >= 0) return false; // β̂ = β < 1 here: no-decay would be a bug
            for (int kk = 1; kk <= c.W; kk++)
            {
                double inWindow = 0;
                for (int k = kk; k < c.W; k++) inWindow += phiBar[k];
                double toInfinity = inWindow, term = phiBar[c.W - 1];
                for (int j = 0; j < 100_000 && term > 1e-18 * toInfinity; j++) toInfinity += term *= beta;
                double bound = Math.Exp(e.LogErrorBound[kk - 1]);
                if (bound < inWindow * (1 - 1e-10) || bound < toInfinity * (1 - 1e-10)) return false;
            }
            return true;
        }, tests: 300);
    }
}
