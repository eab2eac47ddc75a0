using System.Diagnostics;
using FsCheck.Fluent;
using Tbptt.BiasEstimation;

namespace Tbptt.Tests.BiasEstimation;

/// <summary>
/// Issue 11 §4: a clearly geometric profile whose tail has vanished (exactly zero, or more than e^50 below the
/// largest) must give every method a finite δ̂ and the K of the closed form ⌈log δ / log β⌉, not "no decay" and
/// K = W; and the estimator stays linear in W (quantile bounded).
/// </summary>
public class VanishedTailTests
{
    private static readonly DecayMethod[] Methods = [DecayMethod.Ols, DecayMethod.Max, DecayMethod.Quantile];

    private static int ClosedForm(double delta, double beta) => (int)Math.Ceiling(Math.Log(delta) / Math.Log(beta));

    /// <summary>The issue's reproduction: β = 0.84, W = 400; lags past 286 are more than e^50 below φ̄_0 = 1, so
    /// nothing usable is left past τ = 360. Before the fix max and quantile returned log β = 0 and K = 400.</summary>
    [Theory]
    [InlineData(DecayMethod.Ols)]
    [InlineData(DecayMethod.Max)]
    [InlineData(DecayMethod.Quantile)]
    public void The_issue_profile_gives_the_closed_form_K_for_every_method(DecayMethod method)
    {
        const double beta = 0.84;
        var phi = Enumerable.Range(0, 400).Select(k => Math.Pow(beta, k)).ToArray();
        var e = Profiles.Estimate(Profiles.Single(phi), new BiasEstimatorOptions { Method = method }, 0.9, 0.5, 0.1);
        Assert.True(Math.Abs(e.LogBeta - Math.Log(beta)) < 1e-9, $"log β̂ = {e.LogBeta}");
        Assert.True(e.Diagnostics.HasFlag(BiasDiagnostics.TailVanished), string.Join("; ", e.Messages));
        Assert.False(e.Diagnostics.HasFlag(BiasDiagnostics.NoDecay));
        Assert.Contains(e.Messages, m => m.Contains("vanishes after lag 286") && m.Contains("treated as zero"));
        foreach (var (delta, k) in e.KByDelta) Assert.InRange(k, ClosedForm(delta, beta), ClosedForm(delta, beta) + 1);
        Assert.Equal(14, e.ChooseK(0.1)); // ⌈log 0.1 / log 0.84⌉ = ⌈13.2⌉
        Assert.All(e.RelativeBias, d => Assert.True(double.IsFinite(d)));
    }

    /// <summary>Float32 underflow: the same profile stored as floats is exactly zero from lag ~590 on (β = 0.84 and W =
    /// 700), and a zero tail is a zero tail for every method.</summary>
    [Fact]
    public void An_underflowed_float_tail_is_a_zero_tail()
    {
        var phi = Enumerable.Range(0, 700).Select(k => (double)(float)Math.Pow(0.84, k)).ToArray();
        Assert.Equal(0.0, phi[^1]);
        foreach (var method in Methods)
        {
            var e = Profiles.Estimate(Profiles.Single(phi), new BiasEstimatorOptions { Method = method }, 0.1);
            Assert.InRange(e.KByDelta[0].K, 14, 15);
            Assert.True(e.Diagnostics.HasFlag(BiasDiagnostics.TailVanished));
        }
    }

    /// <summary>Only lag 0 is non-zero: truncating at K = 1 loses nothing, and the estimator says so.</summary>
    [Fact]
    public void A_single_non_zero_lag_needs_K_1()
    {
        var e = Profiles.Estimate(Profiles.Single(1, 0, 0), new(), 0.5);
        Assert.Equal(1, e.KByDelta[0].K);
        Assert.Equal(BiasDiagnostics.TooFewPoints | BiasDiagnostics.ZeroGradients | BiasDiagnostics.TailVanished, e.Diagnostics);
        Assert.All(e.RelativeBias, d => Assert.Equal(0.0, d));
    }

    private sealed record Case(double Beta, double Delta, int W, int Cut, int Tau, bool Zero, DecayMethod Method, int S, int Seed);

    /// <summary>
    /// φ̄_k = c·β^k up to a cut lag L and zero (or e^−60·β^k: more than e^50 below the largest) after it, with L far
    /// enough that β^(L+1) ≤ 10⁻³·δ (the cut changes the true bias by less than that) and anywhere relative to τ:
    /// every method gives a finite δ̂ and a K within 1 of ⌈log δ / log β⌉.
    /// </summary>
    [Fact]
    public void Every_method_gives_the_closed_form_K_when_the_tail_is_cut()
    {
        var gen =
            from beta in G.Uniform(0.3, 0.95)
            from delta in G.OneOf(0.9, 0.5, 0.1, 0.01)
            let minCut = ClosedForm(delta, beta) + ClosedForm(1e-3, beta) + 2
            from w in Gen.Choose(minCut + 2, minCut + 400)
            from cut in Gen.Choose(minCut, w - 2)
            from tau in Gen.Choose(0, w - 1)
            from zero in Gen.Elements(true, false)
            from method in Gen.Elements(Methods)
            from s in Gen.Choose(1, 4)
            from seed in G.Seed
            select new Case(beta, delta, w, cut, tau, zero, method, s, seed);
        int vanished = 0, normal = 0;
        G.Check(gen, c =>
        {
            var rng = new Random(c.Seed);
            var scale = Enumerable.Range(0, c.S).Select(_ => Math.Exp(4 * rng.NextDouble() - 2)).ToArray();
            double logC = 40 * rng.NextDouble() - 20;
            var phi = new double[c.W, c.S];
            for (int k = 0; k < c.W; k++)
                for (int j = 0; j < c.S; j++)
                    phi[k, j] = k <= c.Cut ? scale[j] * Math.Exp(logC + k * Math.Log(c.Beta))
                        : c.Zero ? 0 : scale[j] * Math.Exp(logC - 60 + k * Math.Log(c.Beta));
            var e = BiasEstimator.Estimate(new GradientNormProfile(phi), new BiasEstimatorOptions { Method = c.Method, Tau = c.Tau }, [c.Delta]);
            if (e.Diagnostics.HasFlag(BiasDiagnostics.TailVanished)) vanished++; else normal++;
            int k0 = ClosedForm(c.Delta, c.Beta);
            return e.RelativeBias.All(double.IsFinite) && e.KByDelta[0].K >= k0 - 1 && e.KByDelta[0].K <= k0 + 1;
        }, tests: 500);
        // Both branches (fitted tail, vanished tail) must have been exercised.
        Assert.True(vanished >= 50 && normal >= 50, $"vanished {vanished}, fitted {normal} of 500");
    }

    /// <summary>The checks of a long profile are linear in W (the zero-lag scan used to rescan the profile per lag:
    /// 200,000 lags took over 20 s), and quantile's pairwise slopes stay bounded (τ = 0 over 70,000 lags used to
    /// overflow an int product; 50,000 allocated over 2 GB).</summary>
    [Fact]
    public void Long_profiles_are_estimated_in_bounded_time_and_memory()
    {
        var phi = Enumerable.Range(0, 200_000).Select(k => Math.Exp(-0.001 * k) * (1 + 0.1 * Math.Sin(k))).ToArray();
        var profile = Profiles.Single(phi);
        var clock = Stopwatch.StartNew();
        var ols = BiasEstimator.Estimate(profile, new(), [0.1]);
        Assert.True(clock.Elapsed.TotalSeconds < 5, $"ols on W = 200,000 took {clock.Elapsed.TotalSeconds:F1} s");
        Assert.True(ols.LogBeta < 0);

        var quantileProfile = Profiles.Single(phi.AsSpan(0, 70_000).ToArray());
        long before = GC.GetAllocatedBytesForCurrentThread();
        clock.Restart();
        var q = BiasEstimator.Estimate(quantileProfile, new BiasEstimatorOptions { Method = DecayMethod.Quantile, Tau = 0 }, [0.1]);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < 200_000_000, $"quantile over 70,000 lags allocated {allocated / 1e6:F0} MB");
        Assert.True(clock.Elapsed.TotalSeconds < 10, $"quantile over 70,000 lags took {clock.Elapsed.TotalSeconds:F1} s");
        Assert.True(Math.Abs(q.LogBeta + 0.001) < 2e-4, $"log β̂ = {q.LogBeta}");
        Assert.Contains(q.Messages, m => m.Contains("evenly spaced lags"));
    }
}
