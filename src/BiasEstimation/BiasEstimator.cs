using System.Globalization;

namespace Tbptt.BiasEstimation;

/// <summary>
/// The bias bound and the choice of K of design doc §5–§6, computed entirely in log space.
/// </summary>
/// <remarks>
/// <para>For log β &lt; 0 the bound on the gradient mass beyond K lags is</para>
/// <para>Ê(K) = Σ_{k=K..τ−1} φ̄_k + φ̄_τ/(1−β) for K ≤ τ, and Ê(K) = φ̄_τ·β^(K−τ)/(1−β) for K ≥ τ.</para>
/// <para>The paper's code adds φ̄_τ once more for K &lt; τ (its sum runs to τ inclusive before the geometric
/// tail from τ). We follow the design doc's form, which is continuous at K = τ and is exactly the geometric
/// bound Σ_{k≥K} φ̄_k when φ̄ decays at rate β from τ on; the difference is negligible for large τ.</para>
/// <para>A <em>vanished tail</em>: when the profile ends in unusable lags (zero, or more than e^50 below the
/// largest) and no usable lag is left past τ, the tail from τ cannot be fitted, yet it is not unknown — it is
/// negligible. Every method then fits β on the usable lags (max and quantile on a range of the same length as
/// [τ, W−1], shifted to end at the last usable lag L; ols as always), and the bound extrapolates nothing: the
/// tail beyond L counts as measured, Ê(K) = Σ_{k=K..W−1} φ̄_k, where every term past L is zero or more than e^50
/// below the largest (so Ê(K) = Σ_{k=K..L} φ̄_k to double precision, and is negligible for K &gt; L), and nothing
/// is assumed beyond the window. The paper's code arrives at the same place by treating log β = 0 with φ̄_τ under
/// its zero threshold as a zero tail. <see cref="BiasDiagnostics.TailVanished"/> says so.</para>
/// <para>Ĝ = max over K' of C_{K'} − Ê(K') where positive, δ̂(K) = Ê(K)/Ĝ, and κ̂(δ) is the smallest K with
/// δ̂(K) &lt; δ (else W), clamped to [KMin, KMax]. The constant M of the paper cancels in δ̂, which is therefore
/// measured in state-gradient units: with <see cref="CumulativeNorm.Exact"/> and mean aggregation it bounds the
/// relative bias of the summed state gradient, and for parameter gradients it is an estimate.</para>
/// </remarks>
public static class BiasEstimator
{
    /// <summary>Estimates β̂, Ê, Ĝ, δ̂ and κ̂(δ) for every δ in <paramref name="deltas"/>.</summary>
    /// <param name="profile">The measured norms φ (and optionally ḡ).</param>
    /// <param name="options">Estimator settings; validated against the profile's window.</param>
    /// <param name="deltas">Target relative biases δ &gt; 0 (δ ≥ 1 is allowed and usually gives K = 1).</param>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range, or a δ is not positive.</exception>
    /// <exception cref="ArgumentException">Exact C_K requested for a profile without mean gradients.</exception>
    public static BiasEstimate Estimate(
        GradientNormProfile profile, BiasEstimatorOptions options, IReadOnlyList<double> deltas)
    {
        ArgumentNullException.ThrowIfNull(profile);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(deltas);
        int w = profile.Window;
        options.Validate(w);
        foreach (double d in deltas) CheckDelta(d);
        if (options.Cumulative == CumulativeNorm.Exact && !profile.HasMeanGradients)
            throw new ArgumentException(
                "Cumulative = Exact needs the per-lag mean gradient vectors ḡ_k, but the profile was built from " +
                "norms only; use CumulativeNorm.Approximate or pass meanGradients", nameof(options));

        int tau = options.ResolveTau(w);
        double[] logPhiBar = profile.LogPhiBar(options.Aggregation);
        double[] logC = profile.LogCumulativeNorm(options.Cumulative, logPhiBar);
        bool[] usable = DecayRate.UsableLags(logPhiBar);
        int last = Array.LastIndexOf(usable, true);
        bool vanished = last >= 0 && last <= tau && last < w - 1;
        DecayFit fit = !vanished || options.Method == DecayMethod.Ols
            ? DecayRate.EstimateLogBeta(logPhiBar, options.Method, options.FitStart, tau, options.Quantile)
            : last == 0 ? new DecayFit(0, 1) // one usable lag: no slope to fit, and no tail either
            : DecayRate.EstimateLogBeta(logPhiBar.AsSpan(0, last + 1), options.Method, 0, Math.Max(0, last - (w - 1 - tau)), options.Quantile);
        bool decays = fit.LogBeta < 0;

        double[] logE = vanished ? LogMeasuredTail(logPhiBar)
            : decays ? LogErrorBound(logPhiBar, tau, fit.LogBeta) : Filled(w, double.PositiveInfinity);
        double logG = LogGradientLowerBound(logC, logE);
        bool finite = (decays || vanished) && !double.IsNegativeInfinity(logG);

        var logDelta = new double[w];
        var delta = new double[w];
        for (int k = 0; k < w; k++)
        {
            logDelta[k] = finite ? logE[k] - logG : double.PositiveInfinity;
            delta[k] = Math.Exp(logDelta[k]);
        }

        var messages = new List<string>();
        var flags = Describe(fit, usable, decays || vanished, logG, messages);
        if (vanished)
        {
            flags |= BiasDiagnostics.TailVanished;
            messages.Add($"the profile vanishes after lag {last} (no usable lag past τ = {tau}): the tail beyond lag {last} " +
                         "is treated as zero (Ê sums the measured φ̄ and extrapolates nothing)" +
                         (options.Method == DecayMethod.Ols ? "" : $"; β was fitted on lags {Math.Max(0, last - (w - 1 - tau))}..{last}"));
        }
        if (options.Method == DecayMethod.Quantile && fit.PointsUsed > DecayRate.MaxQuantileLags)
            messages.Add($"the quantile estimator paired {DecayRate.MaxQuantileLags} evenly spaced lags of the {fit.PointsUsed} usable ones " +
                         "(its bound on time and memory)");
        int kMin = options.KMin, kMax = options.ResolveKMax(w);
        var kByDelta = new (double, int)[deltas.Count];
        for (int i = 0; i < deltas.Count; i++)
        {
            double d = deltas[i];
            int raw = FirstBelow(delta, d);
            int k = Math.Clamp(raw, kMin, kMax);
            kByDelta[i] = (d, k);
            if (raw == w && !(delta[w - 1] < d) && finite)
            {
                flags |= BiasDiagnostics.DeltaNotReached;
                messages.Add($"no K in 1..{w} has δ̂(K) < δ = {F(d)} (the smallest is δ̂({w}) = {F(delta[w - 1])}); " +
                             $"using K = W = {w}");
            }
            if (k != raw)
            {
                flags |= BiasDiagnostics.Clamped;
                messages.Add($"κ̂(δ = {F(d)}) = {raw} was clamped to {k} (KMin = {kMin}, KMax = {kMax})");
            }
        }

        return new BiasEstimate(options, w, profile.Samples, tau, kMin, kMax, fit, logPhiBar, logC, logE, logG,
            logDelta, delta, kByDelta, flags, messages.ToArray());
    }

    /// <summary>log Ê(K) for K = 1..W (index K−1), for log β &lt; 0; see the class remarks for the formula.</summary>
    internal static double[] LogErrorBound(double[] logPhiBar, int tau, double logBeta)
    {
        int w = logPhiBar.Length;
        var logE = new double[w];
        double logTail = logPhiBar[tau] - LogMath.Log1mExp(logBeta); // log(φ̄_τ/(1−β)) = log Ê(τ)
        for (int kk = Math.Max(tau, 1); kk <= w; kk++) logE[kk - 1] = logTail + (kk - tau) * logBeta;
        // K < τ: Ê(K) = φ̄_K + Ê(K+1), accumulated from τ down; LogAddExp never decreases, so Ê stays monotone.
        double acc = logTail;
        for (int kk = tau - 1; kk >= 1; kk--) logE[kk - 1] = acc = LogMath.LogAddExp(logPhiBar[kk], acc);
        return logE;
    }

    /// <summary>log Ê(K) = log Σ_{k=K..W−1} φ̄_k for K = 1..W (−∞ at K = W): the bound of a vanished tail.</summary>
    internal static double[] LogMeasuredTail(double[] logPhiBar)
    {
        int w = logPhiBar.Length;
        var logE = new double[w];
        double acc = double.NegativeInfinity;
        logE[w - 1] = acc;
        for (int kk = w - 1; kk >= 1; kk--) logE[kk - 1] = acc = LogMath.LogAddExp(logPhiBar[kk], acc);
        return logE;
    }

    /// <summary>log Ĝ = log max over K' of (C_{K'} − Ê(K')) where positive; −∞ when no K' qualifies.</summary>
    internal static double LogGradientLowerBound(double[] logC, double[] logE)
    {
        double best = double.NegativeInfinity;
        for (int k = 0; k < logC.Length; k++)
            if (logC[k] > logE[k]) best = Math.Max(best, LogMath.LogDiffExp(logC[k], logE[k]));
        return best;
    }

    internal static void CheckDelta(double delta)
    {
        if (!(delta > 0 && double.IsFinite(delta)))
            throw new ArgumentOutOfRangeException("deltas", delta,
                $"δ = {delta.ToString(CultureInfo.InvariantCulture)}: the target relative bias must be positive and finite");
    }

    /// <summary>The smallest K with δ̂(K) &lt; δ (strictly), or W when none is.</summary>
    internal static int FirstBelow(IReadOnlyList<double> relativeBias, double delta)
    {
        for (int k = 1; k <= relativeBias.Count; k++)
            if (relativeBias[k - 1] < delta) return k;
        return relativeBias.Count;
    }

    private static BiasDiagnostics Describe(
        DecayFit fit, bool[] usable, bool decays, double logG, List<string> messages)
    {
        var flags = BiasDiagnostics.None;
        var zeros = new List<int>();
        for (int k = 0; k < usable.Length; k++) if (!usable[k]) zeros.Add(k);
        if (zeros.Count > 0)
        {
            flags |= BiasDiagnostics.ZeroGradients;
            string list = string.Join(", ", zeros.Take(10)) + (zeros.Count > 10 ? ", …" : "");
            messages.Add($"{zeros.Count} lag(s) have zero mean gradient norm (or one more than e^50 below the largest) " +
                         $"and were left out of the β fit: k = {list}");
        }
        if (fit.TooFewPoints)
        {
            flags |= BiasDiagnostics.TooFewPoints;
            messages.Add($"only {fit.PointsUsed} usable lag(s) in the fit range, fewer than the 2 a slope needs; " +
                         "log β was set to 0 (widen the window, lower the fit start or τ)");
        }
        if (!decays)
        {
            flags |= BiasDiagnostics.NoDecay;
            messages.Add($"no geometric decay detected (log β = {F(fit.LogBeta)} ≥ 0): " +
                         "the relative bias is infinite for every K, so K = W (then clamped)");
        }
        else if (double.IsNegativeInfinity(logG))
        {
            flags |= BiasDiagnostics.BoundNotPositive;
            messages.Add($"the gradient lower bound Ĝ = max(C_K − Ê(K)) is not positive for any K " +
                         $"(β = {F(Math.Exp(fit.LogBeta))}): the relative bias is infinite for every K; " +
                         "the tail bound dominates, try a larger window or a later τ");
        }
        return flags;
    }

    private static double[] Filled(int n, double value)
    {
        var a = new double[n];
        Array.Fill(a, value);
        return a;
    }

    private static string F(double x) => x.ToString("G4", CultureInfo.InvariantCulture);
}
