using Tbptt.BiasEstimation;

namespace Tbptt.Tests.BiasEstimation;

/// <summary>The three log β estimators on hand-computed ℓ sequences.</summary>
public class DecayRateTests
{
    private static readonly double NegInf = double.NegativeInfinity;

    [Fact]
    public void Ols_is_the_least_squares_slope()
    {
        // k̄ = 1.5; Σ(k−k̄)ℓ = 0.5 − 0.75 − 4.5 = −4.75; Σ(k−k̄)² = 5  ⇒  slope −0.95.
        var fit = DecayRate.Ols([0, -1, -1.5, -3], fitStart: 0);
        Assert.Equal(-0.95, fit.LogBeta, 12);
        Assert.Equal(4, fit.PointsUsed);
        Assert.False(fit.TooFewPoints);
    }

    [Fact]
    public void Ols_fit_start_skips_the_first_lags()
    {
        // From k = 1: points (1,−1), (2,−1.5), (3,−3): k̄ = 2, Σ(k−k̄)ℓ = 1 − 3 = −2, Σ(k−k̄)² = 2 ⇒ −1.
        var fit = DecayRate.Ols([5, -1, -1.5, -3], fitStart: 1);
        Assert.Equal(-1.0, fit.LogBeta, 12);
        Assert.Equal(3, fit.PointsUsed);
    }

    [Fact]
    public void Ols_leaves_out_zero_gradients_and_lags_50_nats_below_the_largest()
    {
        // Usable: (0,0), (1,−1), (3,−3) ⇒ slope −1; ℓ_2 = −∞ and ℓ_4 = −60 (< 0 − 50) are left out.
        var fit = DecayRate.Ols([0, -1, NegInf, -3, -60], fitStart: 0);
        Assert.Equal(-1.0, fit.LogBeta, 12);
        Assert.Equal(3, fit.PointsUsed);
    }

    [Fact]
    public void The_zero_threshold_is_relative_to_the_largest_lag_so_tiny_profiles_are_still_fitted()
    {
        // The doc's absolute ℓ < −50 would discard all of these (φ ≈ 1e-300).
        var fit = DecayRate.Ols([-690, -691, -692], fitStart: 0);
        Assert.Equal(-1.0, fit.LogBeta, 9);
        Assert.Equal(3, fit.PointsUsed);
    }

    [Fact]
    public void Ols_with_fewer_than_two_usable_points_gives_zero_and_says_so()
    {
        var fit = DecayRate.Ols([0, NegInf, NegInf], fitStart: 0);
        Assert.Equal(0.0, fit.LogBeta);
        Assert.Equal(1, fit.PointsUsed);
        Assert.True(fit.TooFewPoints);
    }

    [Fact]
    public void Max_is_the_largest_slope_from_tau()
    {
        // From τ = 1 (ℓ = −1): j=2: −2/1, j=3: −1.5/2 = −0.75, j=4: −3/3 = −1  ⇒  −0.75. ℓ_0 is ignored.
        var fit = DecayRate.Max([0, -1, -3, -2.5, -4], tau: 1);
        Assert.Equal(-0.75, fit.LogBeta, 12);
        Assert.Equal(4, fit.PointsUsed);
    }

    [Fact]
    public void Max_with_a_zero_gradient_at_tau_has_too_few_points()
    {
        var fit = DecayRate.Max([0, -1, NegInf, -3], tau: 2);
        Assert.True(fit.TooFewPoints);
        Assert.Equal(0.0, fit.LogBeta);
    }

    [Fact]
    public void Max_at_the_last_lag_has_too_few_points()
    {
        var fit = DecayRate.Max([0, -1, -2], tau: 2);
        Assert.True(fit.TooFewPoints);
        Assert.Equal(1, fit.PointsUsed);
    }

    [Theory]
    // τ = 1, points k = 1..4 with ℓ = −1, −3, −2.5, −4. Pairwise slopes sorted:
    // −2 (1,2), −1.5 (3,4), −1 (1,4), −0.75 (1,3), −0.5 (2,4), 0.5 (2,3).
    // Linear interpolation at h = 5q: q = 0.5 → h = 2.5 → −0.875; q = 0.95 → h = 4.75 → −0.5 + 0.75·1 = 0.25;
    // q = 0.2 → h = 1 → −1.5.
    [InlineData(0.5, -0.875)]
    [InlineData(0.95, 0.25)]
    [InlineData(0.2, -1.5)]
    public void Quantile_interpolates_the_pairwise_slopes_from_tau(double q, double expected)
    {
        var fit = DecayRate.Quantile([0, -1, -3, -2.5, -4], tau: 1, quantile: q);
        Assert.Equal(expected, fit.LogBeta, 12);
        Assert.Equal(4, fit.PointsUsed);
    }

    [Fact]
    public void Quantile_skips_zero_gradients_and_needs_two_points()
    {
        // Usable from τ = 1: k = 1 (−1) and k = 3 (−2) ⇒ the single slope −0.5 whatever q.
        Assert.Equal(-0.5, DecayRate.Quantile([0, -1, NegInf, -2], 1, 0.95).LogBeta, 12);
        Assert.True(DecayRate.Quantile([0, -1, NegInf, NegInf], 1, 0.5).TooFewPoints);
    }

    [Fact]
    public void EstimateLogBeta_dispatches_on_the_method()
    {
        double[] l = [0, -1, -3, -2.5, -4];
        Assert.Equal(DecayRate.Ols(l, 1), DecayRate.EstimateLogBeta(l, DecayMethod.Ols, 1, 2, 0.5));
        Assert.Equal(DecayRate.Max(l, 2), DecayRate.EstimateLogBeta(l, DecayMethod.Max, 1, 2, 0.5));
        Assert.Equal(DecayRate.Quantile(l, 2, 0.5), DecayRate.EstimateLogBeta(l, DecayMethod.Quantile, 1, 2, 0.5));
    }

    [Fact]
    public void Bad_arguments_are_rejected_with_their_names()
    {
        Assert.Equal("fitStart", Assert.Throws<ArgumentOutOfRangeException>(() => DecayRate.Ols([0, -1, -2], 2)).ParamName);
        Assert.Equal("tau", Assert.Throws<ArgumentOutOfRangeException>(() => DecayRate.Max([0, -1, -2], 3)).ParamName);
        Assert.Equal("quantile",
            Assert.Throws<ArgumentOutOfRangeException>(() => DecayRate.Quantile([0, -1, -2], 0, 1.0)).ParamName);
        var nan = Assert.Throws<ArgumentException>(() => DecayRate.Ols([0, double.NaN, -2], 0));
        Assert.Contains("lag 1", nan.Message);
        Assert.Throws<ArgumentException>(() => DecayRate.Ols([0], 0));
    }
}
