using Tbptt.BiasEstimation;
using Tbptt.Models;
using Tbptt.Probes;
using Tbptt.Training;
using Tbptt.Truncation;
using static Tbptt.Tests.TestModels;

namespace Tbptt.Tests;

/// <summary>
/// The controller on a model whose gradient decay is known exactly: a linear Elman cell with W_hh = ρ·Q, Q
/// orthogonal. Then ∂L/∂h_{W−k} = (ρQᵀ)^k ∂L/∂h_W, so every sample's φ_k = ρ^k φ_0 and φ̄_k = c·ρ^k.
/// </summary>
/// <remarks>
/// Closed form (docs §4–§6, approximate C_K, ols from lag 0): the fit of ℓ_k = log c + k log ρ is exact, so
/// β̂ = ρ. For K ≤ τ, Ê(K) = Σ_{k=K}^{τ−1} cρ^k + cρ^τ/(1−ρ) = c(ρ^K − ρ^τ)/(1−ρ) + cρ^τ/(1−ρ) = cρ^K/(1−ρ);
/// for K ≥ τ, Ê(K) = cρ^τ·ρ^{K−τ}/(1−ρ) = cρ^K/(1−ρ) too. C_K = c(1−ρ^K)/(1−ρ), so C_K − Ê(K) =
/// c(1 − 2ρ^K)/(1−ρ), largest at K = W: Ĝ = c(1 − 2ρ^W)/(1−ρ). Hence δ̂(K) = ρ^K/(1 − 2ρ^W) — independent of τ
/// and c — and κ̂(δ) is the smallest K with ρ^K &lt; δ(1 − 2ρ^W): K = ⌊log(δ(1 − 2ρ^W))/log ρ⌋ + 1, clamped.
/// </remarks>
public class AdaptiveControllerTests
{
    private const int W = 40;

    private static (SequenceModel<double> Model, Func<GradientNormProfile> Probe) LinearElman(double rho, int samples = 4)
    {
        var config = Tokens(CellKind.Elman, 1, Nonlinearity.Identity) with { HiddenSize = 6 };
        var model = SequenceModel<double>.Create(config, 3);
        GradientProbeTests.OrthogonalRecurrence(model, rho, seed: 9);
        var data = RandomTokens(400, config.InputSize, 4);
        var probe = new GradientProbe<double>(model, new ProbeOptions { Window = W, BurnIn = 5, Samples = samples });
        var rng = new Random(2);
        return (model, () =>
        {
            var r = probe.Run(data.AsSpan(0, 399), data.AsSpan(1), probe.RandomOffsets(399, rng));
            return new GradientNormProfile(r.Phi, r.MeanGradient);
        });
    }

    public static int ClosedFormK(double rho, double delta, int kmin, int kmax)
    {
        double x = Math.Log(delta * (1 - 2 * Math.Pow(rho, W))) / Math.Log(rho);
        Assert.True(Math.Abs(x - Math.Round(x)) > 1e-6, "choose (ρ, δ) away from a tie so the test is decisive");
        int k = Math.Clamp((int)Math.Floor(x) + 1, 1, W);
        return Math.Clamp(k, kmin, kmax);
    }

    [Theory]
    [InlineData(0.8, 0.1, 15)]
    [InlineData(0.8, 0.5, 2)]
    [InlineData(0.9, 0.1, 2)]
    [InlineData(0.9, 0.3, 40)]
    [InlineData(0.6, 0.05, 30)]
    [InlineData(0.95, 0.6, 7)]
    public void SettlesOnTheClosedFormKAfterTheFirstEstimate(double rho, double delta, int k0)
    {
        var (_, probe) = LinearElman(rho);
        var options = new AdaptiveOptions { Delta = delta, K0 = k0, KMin = 2, KMax = W, Probes = 3 };
        var controller = new AdaptiveTruncation(options, probe);
        Assert.Equal(k0, controller.K);
        var estimate = controller.Reestimate();
        int expected = ClosedFormK(rho, delta, 2, W);
        Assert.Equal(expected, controller.K);
        Assert.All(estimate.ProbeKs, k => Assert.Equal(expected, k));
        Assert.Equal(Math.Log(rho), estimate.LogBeta, 1e-9);
        Assert.Equal(Math.Pow(rho, expected) / (1 - 2 * Math.Pow(rho, W)), estimate.RelativeBiasAtK, 1e-9);
        Assert.Equal(new TruncationWindow(expected, 2 * expected - 1, Math.Sqrt(expected)), controller.Next(new Random(1)));
        controller.Reestimate();
        Assert.Equal(expected, controller.K); // a fixed point
    }

    [Fact]
    public void ClampsToKminAndKmax()
    {
        var (_, probe) = LinearElman(0.8);
        var low = new AdaptiveTruncation(new AdaptiveOptions { Delta = 0.9, K0 = 10, KMin = 5, KMax = 30, Probes = 1 }, probe);
        low.Reestimate();
        Assert.Equal(5, low.K); // κ̂(0.9) = 1 < Kmin
        var high = new AdaptiveTruncation(new AdaptiveOptions { Delta = 1e-6, K0 = 10, KMin = 2, KMax = 12, Probes = 1 }, probe);
        high.Reestimate();
        Assert.Equal(12, high.K);
    }

    [Fact]
    public void EstimatorRecoversRhoAndTheStateSpaceBoundHoldsOnTheProbesOwnVectors()
    {
        const double rho = 0.85;
        var (_, probe) = LinearElman(rho, samples: 6);
        var profile = probe();
        var e = BiasEstimator.Estimate(profile, new BiasEstimatorOptions { Cumulative = CumulativeNorm.Exact }, [0.1]);
        Assert.Equal(rho, e.Beta, 1e-4);
        // δ̂(K) ≥ ‖Σ_{k=K..W−1} ḡ_k‖ / ‖Σ_{k=0..W−1} ḡ_k‖ wherever δ̂ is finite.
        int dim = profile.GradientDimension;
        var total = new double[dim];
        for (int k = 0; k < W; k++) for (int j = 0; j < dim; j++) total[j] += profile.MeanGradient(k)[j];
        double totalNorm = Math.Sqrt(total.Sum(v => v * v));
        int finite = 0;
        for (int kk = 1; kk <= W; kk++)
        {
            var tail = new double[dim];
            for (int k = kk; k < W; k++) for (int j = 0; j < dim; j++) tail[j] += profile.MeanGradient(k)[j];
            double ratio = Math.Sqrt(tail.Sum(v => v * v)) / totalNorm;
            if (!double.IsFinite(e.RelativeBias[kk - 1])) continue;
            finite++;
            Assert.True(e.RelativeBias[kk - 1] >= ratio, $"K = {kk}: δ̂ = {e.RelativeBias[kk - 1]} < true state-space bias {ratio}");
        }
        Assert.True(finite > W / 2);
    }

    [Fact]
    public void FloatEngineRecoversRhoToOneInTenThousand()
    {
        const double rho = 0.9;
        var config = Tokens(CellKind.Elman, 1, Nonlinearity.Identity) with { HiddenSize = 8 };
        var model64 = SequenceModel<double>.Create(config, 3);
        GradientProbeTests.OrthogonalRecurrence(model64, rho, seed: 2);
        var model = new SequenceModel<float>(config);
        model.CopyFrom(model64);
        var data = RandomTokens(300, config.InputSize, 1);
        var probe = new GradientProbe<float>(model, new ProbeOptions { Window = 60, Samples = 8 });
        var r = probe.Run(data.AsSpan(0, 299), data.AsSpan(1), probe.RandomOffsets(299, new Random(3)));
        var e = BiasEstimator.Estimate(new GradientNormProfile(r.Phi, r.MeanGradient), new BiasEstimatorOptions(), [0.1]);
        Assert.Equal(rho, e.Beta, 1e-4);
    }
}
