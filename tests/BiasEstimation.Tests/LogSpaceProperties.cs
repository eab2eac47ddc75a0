using FsCheck.Fluent;
using Tbptt.BiasEstimation;

namespace Tbptt.Tests.BiasEstimation;

/// <summary>
/// The log-space computation against a plain double-precision reference where that one works, and against
/// rescaled copies of itself where the plain one under- or overflows.
/// </summary>
public class LogSpaceProperties
{
    /// <summary>The formulas of design doc §5 evaluated the obvious way, in linear space.</summary>
    private sealed record Naive(double[] PhiBar, double[] C, double[] E, double G, double[] Delta);

    private static Naive Reference(ProfileCase c, double logBeta)
    {
        double[,] phi = c.Phi();
        int w = c.W, tau = c.Tau;
        var phiBar = new double[w];
        for (int k = 0; k < w; k++)
        {
            double sum = 0, logSum = 0;
            for (int s = 0; s < c.S; s++) { sum += phi[k, s]; logSum += Math.Log(phi[k, s]); }
            phiBar[k] = c.Aggregation == Aggregation.Mean ? sum / c.S : Math.Exp(logSum / c.S);
        }
        var cum = new double[w];
        double[][]? g = c.MeanGradients();
        var vec = new double[c.Dim];
        double acc = 0;
        for (int k = 0; k < w; k++)
        {
            if (g is null) { acc += phiBar[k]; cum[k] = acc; continue; }
            for (int i = 0; i < c.Dim; i++) vec[i] += g[k][i];
            cum[k] = Math.Sqrt(vec.Sum(x => x * x));
        }
        double beta = Math.Exp(logBeta);
        var e = new double[w];
        // A vanished tail (no usable lag past τ, unusable lags at the end): Ê(K) is the measured sum from K on.
        double floor = phiBar.Max() * Math.Exp(-DecayRate.ZeroGradientLogGap);
        int last = Array.FindLastIndex(phiBar, p => p > 0 && p >= floor);
        bool vanished = last >= 0 && last <= tau && last < w - 1;
        for (int kk = 1; kk <= w; kk++)
        {
            if (vanished) { e[kk - 1] = phiBar.Skip(kk).Sum(); continue; }
            if (logBeta >= 0) { e[kk - 1] = double.PositiveInfinity; continue; }
            double head = 0;
            for (int k = kk; k < tau; k++) head += phiBar[k];
            e[kk - 1] = head + phiBar[tau] * Math.Pow(beta, Math.Max(kk - tau, 0)) / (1 - beta);
        }
        double gHat = double.NaN;
        for (int k = 0; k < w; k++)
            if (cum[k] - e[k] > 0 && !(cum[k] - e[k] <= gHat)) gHat = cum[k] - e[k];
        var delta = e.Select(x => double.IsNaN(gHat) ? double.PositiveInfinity : x / gHat).ToArray();
        return new Naive(phiBar, cum, e, gHat, delta);
    }

    private static bool Close(double expected, double actual, double rel) =>
        expected == actual || Math.Abs(expected - actual) <= rel * Math.Abs(expected);

    [Fact]
    public void Log_space_agrees_with_the_plain_computation_where_that_does_not_under_or_overflow()
    {
        // Values stay within e^±80, lags ≥ 2 % apart in decay: nothing here over- or underflows in linear space.
        var gen = ProfileCase.Gen(-20, 20).Where(c => c.LogBeta < -0.02 || c.LogBeta > 0);
        G.Check(gen, c =>
        {
            var e = BiasEstimator.Estimate(c.Profile(), c.Options(), []);
            var n = Reference(c, e.LogBeta);
            double maxC = n.C.Max();
            for (int k = 0; k < c.W; k++)
            {
                if (!Close(n.PhiBar[k], Math.Exp(e.LogPhiBar[k]), 1e-12)) return false;
                if (!Close(n.C[k], Math.Exp(e.LogCumulativeNorm[k]), 1e-11)) return false;
                if (!Close(n.E[k], Math.Exp(e.LogErrorBound[k]), 1e-10)) return false;
            }
            if (double.IsNaN(n.G)) return double.IsNegativeInfinity(e.LogGradientLowerBound);
            // The plain C − Ê cancels: its relative error grows like ε·C/Ĝ, the log-space one does not.
            double gTol = 1e-10 + 1e-13 * maxC / n.G;
            if (!Close(n.G, Math.Exp(e.LogGradientLowerBound), gTol)) return false;
            for (int k = 0; k < c.W; k++)
                if (!Close(n.Delta[k], e.RelativeBias[k], gTol + 1e-10)) return false;
            return true;
        }, tests: 300);
    }

    [Fact]
    public void Ols_log_beta_agrees_with_the_textbook_slope_formula()
    {
        var gen = ProfileCase.Gen(zeros: false);
        G.Check(gen, c =>
        {
            var e = BiasEstimator.Estimate(c.Profile(), c.Options() with { Method = DecayMethod.Ols }, []);
            double n = 0, sk = 0, sl = 0, skk = 0, skl = 0;
            for (int k = c.FitStart; k < c.W; k++)
            {
                double l = e.LogPhiBar[k];
                n++; sk += k; sl += l; skk += k * k; skl += k * l;
            }
            double slope = (n * skl - sk * sl) / (n * skk - sk * sk);
            return Math.Abs(slope - e.LogBeta) <= 1e-9 * (1 + Math.Abs(slope)) || e.PointsUsed < n;
        });
    }

    private sealed record ScaleCase(ProfileCase Profile, double Log10Scale, double[] Deltas);

    [Fact]
    public void Scaling_every_norm_leaves_beta_relative_bias_and_K_unchanged()
    {
        // Base profile within e^±60 ≈ 1e±26, scale 1e±250: scaled norms stay normal doubles.
        var gen =
            from p in ProfileCase.Gen(-20, 20)
            from u in G.Uniform(-250, 250)
            from deltas in G.Uniform(-8, 1).ArrayOf(4)
            select new ScaleCase(p, u, deltas.Select(Math.Exp).ToArray());
        G.Check(gen, c =>
        {
            var p = c.Profile;
            double scale = Math.Pow(10, c.Log10Scale), logScale = Math.Log(scale);
            var a = BiasEstimator.Estimate(p.Profile(), p.Options(), c.Deltas);
            var b = BiasEstimator.Estimate(p.Profile(scale), p.Options(), c.Deltas);
            // Log-space values carry a shift of |log scale| ≤ 576, so compare with a tolerance relative to it.
            double tol = 1e-11 * (1 + Math.Abs(logScale));
            if (Math.Abs(a.LogBeta - b.LogBeta) > tol) return false;
            for (int k = 0; k < p.W; k++)
            {
                if (!SameLog(a.LogPhiBar[k] + logScale, b.LogPhiBar[k], tol)) return false;
                if (!SameLog(a.LogRelativeBias[k], b.LogRelativeBias[k], tol * 10)) return false;
            }
            for (int i = 0; i < c.Deltas.Length; i++)
            {
                // κ̂ may legitimately flip when δ̂(K) is within rounding of δ; such cases are skipped.
                double logD = Math.Log(c.Deltas[i]);
                bool borderline = a.LogRelativeBias.Any(l => Math.Abs(l - logD) < 1e-6);
                if (!borderline && a.KByDelta[i].K != b.KByDelta[i].K) return false;
            }
            return true;
        }, tests: 300);
    }

    private static bool SameLog(double x, double y, double tol) =>
        x == y || Math.Abs(x - y) <= tol;

    [Fact]
    public void Norms_near_the_ends_of_the_double_range_stay_finite_in_log_space()
    {
        // φ_{k,s} = base·β^k with base 1e-300 (tiny) or 1.2e308 (four samples of it overflow a plain sum, and β close
        // to 1 overflows φ̄_τ/(1−β)). The log-space results must be finite and equal those of the moderate profile
        // shifted by log(base).
        var gen =
            from w in Gen.Choose(2, 30)
            from logBeta in G.Uniform(-0.2, -0.0001)
            from seed in G.Seed
            select (W: w, LogBeta: logBeta, Seed: seed);
        G.Check(gen, c =>
        {
            var rng = new Random(c.Seed);
            var unit = new double[c.W, 4];
            for (int k = 0; k < c.W; k++)
                for (int s = 0; s < 4; s++) unit[k, s] = Math.Exp(k * c.LogBeta + 0.1 * rng.NextDouble());
            var reference = BiasEstimator.Estimate(new GradientNormProfile(unit), new(), []);
            foreach (double b in new[] { 1e-300, 1.2e308 })
            {
                var phi = new double[c.W, 4];
                double plainSum = 0;
                for (int k = 0; k < c.W; k++)
                    for (int s = 0; s < 4; s++) { phi[k, s] = unit[k, s] * b; if (k == 0) plainSum += phi[k, s]; }
                if (b > 1 && !double.IsInfinity(plainSum)) return false; // the regime we mean to test
                var e = BiasEstimator.Estimate(new GradientNormProfile(phi), new(), []);
                if (Math.Abs(e.LogBeta - reference.LogBeta) > 1e-9) return false;
                bool decays = reference.LogBeta < 0; // the 10 % noise can hide a very slow decay on few lags
                double shift = Math.Log(b), tol = 1e-12 * Math.Abs(shift) + 1e-9;
                for (int k = 0; k < c.W; k++)
                {
                    if (!double.IsFinite(e.LogPhiBar[k]) || !double.IsFinite(e.LogCumulativeNorm[k])) return false;
                    if (decays && (!double.IsFinite(e.LogErrorBound[k]) ||
                        Math.Abs(e.LogErrorBound[k] - reference.LogErrorBound[k] - shift) > tol * 100)) return false;
                    if (Math.Abs(e.LogCumulativeNorm[k] - reference.LogCumulativeNorm[k] - shift) > tol) return false;
                }
                if (Math.Abs(e.LogGradientLowerBound - reference.LogGradientLowerBound - shift) > tol * 100 &&
                    !(double.IsNegativeInfinity(e.LogGradientLowerBound) && double.IsNegativeInfinity(reference.LogGradientLowerBound)))
                    return false;
            }
            return true;
        }, tests: 200);
    }
}
