using Tbptt.BiasEstimation;
using Tbptt.Truncation;

namespace Tbptt.Tests;

/// <summary>
/// The controller without a model: a probe callback that returns a geometric profile and counts its calls, so
/// the tests see exactly when the controller re-estimates, and which K an estimate gives.
/// </summary>
public class ControllerTests
{
    private sealed class CountingProbe(double beta)
    {
        public int Calls { get; private set; }

        public GradientNormProfile Next()
        {
            Calls++;
            var phi = new double[60, 3];
            for (int k = 0; k < 60; k++)
                for (int s = 0; s < 3; s++) phi[k, s] = (1 + 0.1 * s) * Math.Pow(beta, k);
            return new GradientNormProfile(phi);
        }
    }

    [Fact]
    public void NullArgumentsAreNamed()
    {
        var probe = new CountingProbe(0.8);
        Assert.Equal("options", Assert.Throws<ArgumentNullException>(() => new AdaptiveTruncation(null!, probe.Next)).ParamName);
        Assert.Equal("probe", Assert.Throws<ArgumentNullException>(() => new AdaptiveTruncation(new AdaptiveOptions(), (Func<GradientNormProfile>)null!)).ParamName);
        Assert.Equal("probes", Assert.Throws<ArgumentNullException>(() => new AdaptiveTruncation(new AdaptiveOptions(), (Func<int, IReadOnlyList<GradientNormProfile>>)null!)).ParamName);
        Assert.Throws<ArgumentNullException>(() => new AdaptiveTruncation(new AdaptiveOptions { Estimator = null! }, probe.Next));
        var controller = new AdaptiveTruncation(new AdaptiveOptions(), probe.Next);
        Assert.Equal("history", Assert.Throws<ArgumentNullException>(() => controller.Restore(5, null!)).ParamName);
        Assert.Equal("rng", Assert.Throws<ArgumentNullException>(() => new VariableLengthTruncation(10).Next(null!)).ParamName);
        var empty = new AdaptiveTruncation(new AdaptiveOptions { Probes = 1 }, () => null!);
        Assert.Contains("no φ table", Assert.Throws<InvalidOperationException>(() => empty.Reestimate()).Message);
        var short_ = new AdaptiveTruncation(new AdaptiveOptions { Probes = 3 }, count => [probe.Next()]);
        Assert.Contains("1 φ tables for 3 probes", Assert.Throws<InvalidOperationException>(() => short_.Reestimate()).Message);
    }

    [Fact]
    public void ABatchedProbeCallbackChoosesTheKOfTheSameTablesCalledOneByOne()
    {
        var options = new AdaptiveOptions { Probes = 3, K0 = 5, KMin = 1, KMax = 60 };
        var single = new AdaptiveTruncation(options, new CountingProbe(0.8).Next);
        var tables = new CountingProbe(0.8);
        var batched = new AdaptiveTruncation(options, count => Enumerable.Range(0, count).Select(_ => tables.Next()).ToArray());
        for (int i = 0; i < 3; i++)
        {
            var a = single.Reestimate(i);
            var b = batched.Reestimate(i);
            Assert.Equal(a.K, b.K);
            Assert.Equal(a.ProbeKs, b.ProbeKs);
            Assert.Equal(a.LogBeta, b.LogBeta);
        }
    }

    [Fact]
    public void TheDefaultReestimatesFromAfterUpdateAlone()
    {
        var probe = new CountingProbe(0.8);
        var options = new AdaptiveOptions { K0 = 30, Probes = 2, MaxUpdatesBetweenEstimates = 10 };
        Assert.Null(options.EstimateEvery);
        var controller = new AdaptiveTruncation(options, probe.Next);
        for (long u = 1; u <= 9; u++) controller.AfterUpdate(u);
        Assert.Equal((0, 30), (probe.Calls, controller.K));
        controller.AfterUpdate(10);
        Assert.Equal(2, probe.Calls);
        Assert.Equal(10, controller.Latest!.Update);
        // φ̄_k ∝ 0.8^k with W = 60: δ̂(K) = 0.8^K/(1 − 2·0.8^60) (the closed form of AdaptiveControllerTests), so
        // the default δ = 0.1 needs 0.8^K < 0.1: K = 11.
        Assert.Equal(11, controller.K);
        for (long u = 11; u <= 30; u++) controller.AfterUpdate(u);
        Assert.Equal([10L, 20L, 30L], controller.History.Select(h => h.Update));
    }

    [Fact]
    public void UnderTheDefaultAnEvaluationRoundRestartsTheCount()
    {
        var probe = new CountingProbe(0.8);
        var controller = new AdaptiveTruncation(new AdaptiveOptions { Probes = 1, MaxUpdatesBetweenEstimates = 10 }, probe.Next);
        for (long u = 1; u <= 25; u++)
        {
            controller.AfterUpdate(u);
            if (u == 7) controller.AfterEvaluation(u);
        }
        Assert.Equal([7L, 17L], controller.History.Select(h => h.Update));
    }

    [Fact]
    public void ZeroMeansEvaluationRoundsOnlyAndAPositiveIntervalIgnoresThem()
    {
        var rounds = new CountingProbe(0.8);
        var byRound = new AdaptiveTruncation(new AdaptiveOptions { Probes = 1, EstimateEvery = 0, MaxUpdatesBetweenEstimates = 3 }, rounds.Next);
        for (long u = 1; u <= 20; u++) byRound.AfterUpdate(u);
        Assert.Equal(0, rounds.Calls);
        byRound.AfterEvaluation(20);
        Assert.Equal([20L], byRound.History.Select(h => h.Update));

        var counted = new CountingProbe(0.8);
        var every = new AdaptiveTruncation(new AdaptiveOptions { Probes = 1, EstimateEvery = 4 }, counted.Next);
        for (long u = 1; u <= 12; u++)
        {
            every.AfterUpdate(u);
            every.AfterEvaluation(u);
        }
        Assert.Equal([4L, 8L, 12L], every.History.Select(h => h.Update));
    }

    [Fact]
    public void AResumedControllerReestimatesWhereAnUninterruptedOneWould()
    {
        var options = new AdaptiveOptions { Probes = 1, MaxUpdatesBetweenEstimates = 10 };
        var whole = new AdaptiveTruncation(options, new CountingProbe(0.8).Next);
        for (long u = 1; u <= 35; u++) whole.AfterUpdate(u);

        var first = new AdaptiveTruncation(options, new CountingProbe(0.8).Next);
        for (long u = 1; u <= 14; u++) first.AfterUpdate(u);
        var resumed = new AdaptiveTruncation(options, new CountingProbe(0.8).Next);
        resumed.Restore(first.K, first.History);
        for (long u = 15; u <= 35; u++) resumed.AfterUpdate(u);
        Assert.Equal(whole.History.Select(h => (h.Update, h.K)), resumed.History.Select(h => (h.Update, h.K)));
    }

    [Fact]
    public void TheFallbackIntervalIsValidated()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() =>
            new AdaptiveTruncation(new AdaptiveOptions { MaxUpdatesBetweenEstimates = 0 }, new CountingProbe(0.8).Next));
        Assert.Equal(nameof(AdaptiveOptions.MaxUpdatesBetweenEstimates), e.ParamName);
    }
}
