using Tbptt.BiasEstimation;
using static Tbptt.Tests.BiasEstimation.Profiles;

namespace Tbptt.Tests.BiasEstimation;

/// <summary>Ê, Ĝ, δ̂ and κ̂ on profiles small enough to compute by hand, one test per branch.</summary>
public class BiasEstimatorTests
{
    private const double Tol = 1e-12;

    private static void Near(double expected, double actual, double rel = Tol) =>
        Assert.True(Math.Abs(expected - actual) <= rel * Math.Max(1, Math.Abs(expected)),
            $"expected {expected:R}, got {actual:R}");

    private static void NearAll(double[] expected, IReadOnlyList<double> actual)
    {
        Assert.Equal(expected.Length, actual.Count);
        for (int i = 0; i < expected.Length; i++) Near(expected[i], actual[i]);
    }

    [Fact]
    public void Halving_profile_with_tau_two_gives_the_hand_computed_curve()
    {
        // φ̄ = 8,4,2,1, τ = 2, max: log β = log(1/2). Ê(1) = φ̄_1 + φ̄_2/(1−β) = 4 + 4 = 8 (the paper's code would add
        // φ̄_2 once more: 10), Ê(2) = 2/0.5 = 4, Ê(3) = 2·0.5/0.5 = 2, Ê(4) = 1.
        // C = 8, 12, 14, 15; C − Ê = 0, 8, 12, 14 ⇒ Ĝ = 14; δ̂ = 8/14, 4/14, 2/14, 1/14.
        var e = Estimate(Single(8, 4, 2, 1), new() { Method = DecayMethod.Max, Tau = 2 }, 0.6, 0.5, 0.1, 0.01, 1);
        Near(Math.Log(0.5), e.LogBeta);
        Near(0.5, e.Beta);
        NearAll([Math.Log(8), Math.Log(4), Math.Log(2), 0], e.LogPhiBar);
        NearAll([Math.Log(8), Math.Log(12), Math.Log(14), Math.Log(15)], e.LogCumulativeNorm);
        NearAll([Math.Log(8), Math.Log(4), Math.Log(2), Math.Log(1)], e.LogErrorBound);
        Near(Math.Log(14), e.LogGradientLowerBound);
        NearAll([8 / 14.0, 4 / 14.0, 2 / 14.0, 1 / 14.0], e.RelativeBias);
        // δ̂(1) = 0.571 < 0.6 ⇒ 1; < 0.5 first at K = 2; < 0.1 first at K = 4 (1/14 = 0.071); 0.01 never ⇒ W = 4.
        Assert.Equal([(0.6, 1), (0.5, 2), (0.1, 4), (0.01, 4), (1.0, 1)], e.KByDelta);
        Assert.Equal(BiasDiagnostics.DeltaNotReached, e.Diagnostics);
        Assert.Contains(e.Messages, m => m.Contains("δ = 0.01") && m.Contains("K = W = 4"));
        Assert.Equal(2, e.ChooseK(0.3));
    }

    [Fact]
    public void Lags_before_tau_are_summed_and_lags_from_tau_on_follow_the_geometric_tail()
    {
        // φ̄ = 10,3,4,2,1, τ = 3, max: log β = log(1/2).
        // K ≥ τ: Ê(3) = 2/0.5 = 4, Ê(4) = 2, Ê(5) = 1. K < τ: Ê(2) = 4 + 4 = 8, Ê(1) = 3 + 8 = 11.
        // C = 10,13,17,19,20; C − Ê = −1, 5, 13, 17, 19 ⇒ Ĝ = 19.
        var e = Estimate(Single(10, 3, 4, 2, 1), new() { Method = DecayMethod.Max, Tau = 3 }, 0.5);
        NearAll([11, 8, 4, 2, 1], e.LogErrorBound.Select(Math.Exp).ToArray());
        Near(Math.Log(19), e.LogGradientLowerBound);
        NearAll([11 / 19.0, 8 / 19.0, 4 / 19.0, 2 / 19.0, 1 / 19.0], e.RelativeBias);
        Assert.Equal(2, e.KByDelta[0].K);
    }

    [Fact]
    public void Tau_zero_makes_every_K_geometric()
    {
        // φ̄ = 4,2,1, τ = 0: Ê(K) = 4·0.5^K/0.5 = 4, 2, 1; C = 4, 6, 7 ⇒ Ĝ = 6.
        var e = Estimate(Single(4, 2, 1), new() { Method = DecayMethod.Max, Tau = 0 });
        NearAll([4 / 6.0, 2 / 6.0, 1 / 6.0], e.RelativeBias);
    }

    [Fact]
    public void Mean_aggregation_averages_samples_before_anything_else()
    {
        var phi = new double[,] { { 6, 10 }, { 3, 5 }, { 1, 3 }, { 0.5, 1.5 } }; // means 8, 4, 2, 1
        var e = Estimate(new GradientNormProfile(phi), new() { Method = DecayMethod.Max, Tau = 2 });
        NearAll([8 / 14.0, 4 / 14.0, 2 / 14.0, 1 / 14.0], e.RelativeBias);
        Assert.Equal(2, e.Samples);
    }

    [Fact]
    public void Geometric_aggregation_is_the_exp_mean_log_and_a_zero_sample_zeroes_the_lag()
    {
        var phi = new double[,] { { 2, 8 }, { 1, 4 }, { 0, 5 } };
        var p = new GradientNormProfile(phi);
        var logs = p.LogPhiBar(Aggregation.GeometricMean);
        Near(Math.Log(4), logs[0]);
        Near(Math.Log(2), logs[1]);
        Assert.Equal(double.NegativeInfinity, logs[2]);
        Near(Math.Log(2.5), p.LogPhiBar(Aggregation.Mean)[2]);
    }

    [Fact]
    public void Zero_gradients_are_left_out_of_the_fit_and_add_nothing_to_the_sums()
    {
        // φ̄ = 8,4,0,1: ols over k = 0,1,3 gives log β = −log 2 exactly. τ = W−1 = 3 (W − W/10 = 4, capped).
        // Ê(4) = 1, Ê(3) = 1/0.5 = 2, Ê(2) = 0 + 2 = 2, Ê(1) = 4 + 2 = 6. C = 8, 12, 12, 13 ⇒ C − Ê = 2, 6, 10, 12.
        var e = Estimate(Single(8, 4, 0, 1), new(), 0.5);
        Near(Math.Log(0.5), e.LogBeta);
        Assert.Equal(3, e.Tau);
        Assert.Equal(3, e.PointsUsed);
        NearAll([6 / 12.0, 2 / 12.0, 2 / 12.0, 1 / 12.0], e.RelativeBias);
        Assert.Equal(double.NegativeInfinity, e.LogPhiBar[2]);
        Assert.True(e.Diagnostics.HasFlag(BiasDiagnostics.ZeroGradients));
        Assert.Contains(e.Messages, m => m.Contains("k = 2"));
    }

    [Fact]
    public void Exact_cumulative_norm_uses_the_norm_of_the_summed_mean_vectors()
    {
        // ḡ = (0,4), (0,−2), (1,0) ⇒ C = 4, 2, √5 (the approximation would give 4, 6, 7).
        // φ̄ = 4,2,1, τ = 2, ols: β = 1/2; Ê = 2 + 2, 2, 1 = 4, 2, 1; C − Ê = 0, 0, √5 − 1 ⇒ Ĝ = √5 − 1.
        double[][] g = [[0, 4], [0, -2], [1, 0]];
        var p = new GradientNormProfile(new double[,] { { 4 }, { 2 }, { 1 } }, g);
        var e = Estimate(p, new() { Cumulative = CumulativeNorm.Exact });
        NearAll([Math.Log(4), Math.Log(2), 0.5 * Math.Log(5)], e.LogCumulativeNorm);
        double gHat = Math.Sqrt(5) - 1;
        Near(Math.Log(gHat), e.LogGradientLowerBound);
        NearAll([4 / gHat, 2 / gHat, 1 / gHat], e.RelativeBias);
    }

    [Fact]
    public void No_decay_makes_every_relative_bias_infinite_and_picks_W()
    {
        // φ̄ = 1,2,4: log β = log 2 > 0.
        var e = Estimate(Single(1, 2, 4), new(), 0.5, 100);
        Near(Math.Log(2), e.LogBeta);
        Assert.All(e.RelativeBias, d => Assert.Equal(double.PositiveInfinity, d));
        Assert.All(e.LogErrorBound, d => Assert.Equal(double.PositiveInfinity, d));
        Assert.Equal(double.NegativeInfinity, e.LogGradientLowerBound);
        Assert.Equal([(0.5, 3), (100.0, 3)], e.KByDelta);
        Assert.Equal(BiasDiagnostics.NoDecay, e.Diagnostics);
        Assert.Contains("no geometric decay detected (log β = 0.6931 ≥ 0)", e.Messages.Single());
    }

    [Fact]
    public void Too_few_points_sets_log_beta_to_zero_and_reports_both_conditions()
    {
        // (1, 0, 0) would be a vanished tail (VanishedTailTests); a lone usable lag at the end is not.
        var e = Estimate(Single(0, 0, 1), new(), 0.5);
        Assert.Equal(0.0, e.LogBeta);
        Assert.Equal(BiasDiagnostics.TooFewPoints | BiasDiagnostics.NoDecay | BiasDiagnostics.ZeroGradients,
            e.Diagnostics);
        Assert.Contains(e.Messages, m => m.Contains("only 1 usable lag"));
        Assert.Equal(3, e.KByDelta[0].K);
    }

    [Fact]
    public void A_slow_decay_leaves_no_positive_lower_bound()
    {
        // φ̄ = 1, 0.9, 0.81: β = 0.9, τ = 2. Ê = 0.9 + 0.81/0.1, 8.1, 7.29 = 9, 8.1, 7.29 exceed C = 1, 1.9, 2.71.
        var e = Estimate(Single(1, 0.9, 0.81), new(), 0.5);
        Near(Math.Log(0.9), e.LogBeta);
        NearAll([Math.Log(9), Math.Log(8.1), Math.Log(7.29)], e.LogErrorBound);
        Assert.Equal(double.NegativeInfinity, e.LogGradientLowerBound);
        Assert.All(e.RelativeBias, d => Assert.Equal(double.PositiveInfinity, d));
        Assert.Equal(BiasDiagnostics.BoundNotPositive, e.Diagnostics);
        Assert.Contains("not positive", e.Messages.Single());
        Assert.Equal(3, e.KByDelta[0].K);
    }

    [Fact]
    public void A_delta_equal_to_the_curve_is_not_met_because_the_test_is_strict()
    {
        var e = Estimate(Single(8, 4, 2, 1), new() { Method = DecayMethod.Max, Tau = 2 });
        Assert.Equal(3, e.ChooseK(e.RelativeBias[1])); // δ̂(2) < δ̂(2) is false; δ̂(3) < δ̂(2)
        Assert.Equal(4, e.ChooseK(e.RelativeBias[3])); // nothing is below δ̂(W): K = W
    }

    [Fact]
    public void A_decay_rate_within_rounding_of_one_still_gives_a_finite_tail_bound()
    {
        // ℓ = 0,…,0, log(1 − 2⁻⁵³) over W = 10: the ols slope is about −6e-18, so exp(log β) rounds to exactly 1 and
        // a plain log(1 − β) would be log 0. In log space 1 − β ≈ −log β and Ê(W) ≈ β^(W−τ)/(−log β) ≈ 1.7e17.
        var phi = Enumerable.Repeat(1.0, 9).Append(1 - Math.Pow(2, -53)).ToArray();
        var e = Estimate(Single(phi), new());
        Assert.True(e.LogBeta < 0 && e.LogBeta > -1e-17, $"log β = {e.LogBeta:R}");
        Assert.Equal(1.0, e.Beta);
        Assert.All(e.LogErrorBound, l => Assert.True(double.IsFinite(l)));
        Near(-Math.Log(-e.LogBeta), e.LogErrorBound[^1], 1e-9);
        Assert.Equal(BiasDiagnostics.BoundNotPositive, e.Diagnostics);
    }

    [Fact]
    public void Chosen_K_is_clamped_to_KMin_and_KMax()
    {
        var p = Single(8, 4, 2, 1);
        var low = Estimate(p, new() { Method = DecayMethod.Max, Tau = 2, KMin = 3 }, 0.5);
        Assert.Equal(3, low.KByDelta[0].K); // unclamped 2
        Assert.True(low.Diagnostics.HasFlag(BiasDiagnostics.Clamped));
        Assert.Contains(low.Messages, m => m.Contains("clamped to 3"));
        var high = Estimate(p, new() { Method = DecayMethod.Max, Tau = 2, KMax = 2 }, 0.1);
        Assert.Equal(2, high.KByDelta[0].K); // unclamped 4
        Assert.Equal(2, high.ChooseK(0.1));
        Assert.Equal(2, high.KMax);
    }

    [Fact]
    public void Deltas_must_be_positive_and_one_or_more_is_allowed()
    {
        var p = Single(8, 4, 2, 1);
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => Estimate(p, new(), 0.5, 0));
        Assert.Equal("deltas", ex.ParamName);
        Assert.Contains("δ = 0", ex.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => Estimate(p, new(), -0.1));
        Assert.Throws<ArgumentOutOfRangeException>(() => Estimate(p, new(), double.NaN));
        var e = Estimate(p, new(), 1.5);
        Assert.Equal(1, e.KByDelta[0].K);
        Assert.Throws<ArgumentOutOfRangeException>(() => e.ChooseK(0));
    }

    [Fact]
    public void Exact_cumulative_norm_without_vectors_is_rejected()
    {
        var ex = Assert.Throws<ArgumentException>(() =>
            Estimate(Single(8, 4, 2, 1), new() { Cumulative = CumulativeNorm.Exact }, 0.5));
        Assert.Contains("mean gradient", ex.Message);
    }

    [Fact]
    public void Options_are_validated_against_the_window_before_anything_is_computed()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => Estimate(Single(8, 4, 2, 1), new() { Tau = 4 }));
        Assert.Equal("Tau", ex.ParamName);
    }
}
