using Tbptt.BiasEstimation;

namespace Tbptt.Tests.BiasEstimation;

/// <summary>Invalid profiles and options are rejected with messages that name the argument and the value.</summary>
public class ValidationTests
{
    [Theory]
    [InlineData(400, 360)]
    [InlineData(100, 90)]
    [InlineData(10, 9)]
    [InlineData(9, 8)] // W − W/10 = 9 would be outside the window: capped at W − 1
    [InlineData(2, 1)]
    public void Default_tau_is_W_minus_W_over_10_capped_inside_the_window(int w, int tau)
    {
        Assert.Equal(tau, BiasEstimatorOptions.DefaultTau(w));
        Assert.Equal(tau, new BiasEstimatorOptions().ResolveTau(w));
        new BiasEstimatorOptions().Validate(w);
    }

    [Fact]
    public void Defaults_are_the_documented_ones()
    {
        var o = new BiasEstimatorOptions();
        Assert.Equal(DecayMethod.Ols, o.Method);
        Assert.Equal(0, o.FitStart);
        Assert.Equal(0.95, o.Quantile);
        Assert.Null(o.Tau);
        Assert.Equal(Aggregation.Mean, o.Aggregation);
        Assert.Equal(CumulativeNorm.Approximate, o.Cumulative);
        Assert.Equal(1, o.KMin);
        Assert.Null(o.KMax);
        Assert.Equal(50, o.ResolveKMax(50));
    }

    public static TheoryData<BiasEstimatorOptions, string, string> BadOptions => new()
    {
        { new() { Tau = -1 }, "Tau", "-1" },
        { new() { Tau = 10 }, "Tau", "10" },
        { new() { FitStart = -1 }, "FitStart", "-1" },
        { new() { FitStart = 9 }, "FitStart", "9" },
        { new() { Quantile = 0 }, "Quantile", "0" },
        { new() { Quantile = 1 }, "Quantile", "1" },
        { new() { Quantile = double.NaN }, "Quantile", "NaN" },
        { new() { KMin = 0 }, "KMin", "0" },
        { new() { KMin = 5, KMax = 4 }, "KMin", "5" },
        { new() { KMax = 11 }, "KMax", "11" },
        { new() { Method = (DecayMethod)7 }, "Method", "7" },
    };

    [Theory]
    [MemberData(nameof(BadOptions))]
    public void Options_out_of_range_name_the_setting_and_the_value(BiasEstimatorOptions o, string name, string value)
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => o.Validate(10));
        Assert.Equal(name, ex.ParamName);
        Assert.Contains($"{name} = {value}", ex.Message);
    }

    [Fact]
    public void A_window_below_two_is_rejected()
    {
        Assert.Equal("window", Assert.Throws<ArgumentOutOfRangeException>(() => new BiasEstimatorOptions().Validate(1)).ParamName);
    }

    [Theory]
    [InlineData(double.NaN, "NaN")]
    [InlineData(-0.5, "-0.5")]
    [InlineData(double.PositiveInfinity, "Infinity")]
    public void Bad_norms_name_the_lag_the_sample_and_the_value(double bad, string shown)
    {
        var phi = new double[,] { { 1, 1 }, { 1, 1 }, { 1, bad } };
        var ex = Assert.Throws<ArgumentException>(() => new GradientNormProfile(phi));
        Assert.Equal("phi", ex.ParamName);
        Assert.Contains("lag 2", ex.Message);
        Assert.Contains("sample 1", ex.Message);
        Assert.Contains(shown, ex.Message);
    }

    [Fact]
    public void Profiles_need_two_lags_and_one_sample()
    {
        Assert.Contains("W = 1", Assert.Throws<ArgumentException>(() => new GradientNormProfile(new double[1, 3])).Message);
        Assert.Contains("S = 0", Assert.Throws<ArgumentException>(() => new GradientNormProfile(new double[3, 0])).Message);
    }

    [Fact]
    public void Jagged_rows_must_be_rectangular()
    {
        var ex = Assert.Throws<ArgumentException>(() => new GradientNormProfile([[1.0, 2.0], [1.0]]));
        Assert.Equal("rows", ex.ParamName);
        Assert.Contains("lag 1", ex.Message);
        var ok = new GradientNormProfile([[1.0, 2.0], [3.0, 4.0]]);
        Assert.Equal(4.0, ok[1, 1]);
        Assert.Equal(2, ok.Window);
    }

    [Fact]
    public void Zero_norms_are_allowed()
    {
        var p = new GradientNormProfile(new double[,] { { 0 }, { 0 } });
        Assert.All(p.LogPhiBar(Aggregation.Mean), l => Assert.Equal(double.NegativeInfinity, l));
    }

    [Fact]
    public void Mean_gradients_must_match_the_window_and_each_other()
    {
        var phi = new double[,] { { 1 }, { 1 } };
        Assert.Throws<ArgumentException>(() => new GradientNormProfile(phi, [[1.0]]));
        Assert.Throws<ArgumentException>(() => new GradientNormProfile(phi, [[1.0, 2.0], [1.0]]));
        Assert.Contains("[lag 1][0]", Assert.Throws<ArgumentException>(() =>
            new GradientNormProfile(phi, [[1.0], [double.NaN]])).Message);
        var p = new GradientNormProfile(phi, [[1.0, 2.0], [3.0, 4.0]]);
        Assert.True(p.HasMeanGradients);
        Assert.Equal(2, p.GradientDimension);
        Assert.Equal(4.0, p.MeanGradient(1)[1]);
    }

    [Fact]
    public void Constructors_copy_their_input()
    {
        var phi = new double[,] { { 1 }, { 2 } };
        var p = new GradientNormProfile(phi);
        phi[1, 0] = 99;
        Assert.Equal(2.0, p[1, 0]);
    }
}
