namespace Tbptt.BiasEstimation;

/// <summary>
/// Everything <see cref="BiasEstimator.Estimate"/> computed, so a caller can log it, plot the δ̂ curve, or choose
/// K for a δ it did not ask about. Immutable. Curves indexed by K are stored at index K−1 (K = 1..W).
/// </summary>
public sealed class BiasEstimate
{
    internal BiasEstimate(
        BiasEstimatorOptions options, int window, int samples, int tau, int kMin, int kMax, DecayFit fit,
        double[] logPhiBar, double[] logCumulativeNorm, double[] logErrorBound, double logGradientLowerBound,
        double[] logRelativeBias, double[] relativeBias, (double Delta, int K)[] kByDelta,
        BiasDiagnostics diagnostics, string[] messages)
    {
        Options = options;
        Window = window;
        Samples = samples;
        Tau = tau;
        KMin = kMin;
        KMax = kMax;
        LogBeta = fit.LogBeta;
        PointsUsed = fit.PointsUsed;
        LogPhiBar = Array.AsReadOnly(logPhiBar);
        LogCumulativeNorm = Array.AsReadOnly(logCumulativeNorm);
        LogErrorBound = Array.AsReadOnly(logErrorBound);
        LogGradientLowerBound = logGradientLowerBound;
        LogRelativeBias = Array.AsReadOnly(logRelativeBias);
        RelativeBias = Array.AsReadOnly(relativeBias);
        KByDelta = Array.AsReadOnly(kByDelta);
        Diagnostics = diagnostics;
        Messages = Array.AsReadOnly(messages);
    }

    /// <summary>The options the estimate was made with (as given; see <see cref="Tau"/>, <see cref="KMin"/>,
    /// <see cref="KMax"/> for the resolved values).</summary>
    public BiasEstimatorOptions Options { get; }

    /// <summary>The decay estimator used.</summary>
    public DecayMethod Method => Options.Method;

    /// <summary>W, the number of lags in the profile.</summary>
    public int Window { get; }

    /// <summary>S, the number of samples in the profile.</summary>
    public int Samples { get; }

    /// <summary>τ, resolved: the lag from which geometric decay is assumed.</summary>
    public int Tau { get; }

    /// <summary>Lower clamp of κ̂, resolved.</summary>
    public int KMin { get; }

    /// <summary>Upper clamp of κ̂, resolved (W when not given).</summary>
    public int KMax { get; }

    /// <summary>log β̂ (0 when too few points).</summary>
    public double LogBeta { get; }

    /// <summary>β̂ = exp(log β̂).</summary>
    public double Beta => Math.Exp(LogBeta);

    /// <summary>Usable lags the β fit rested on.</summary>
    public int PointsUsed { get; }

    /// <summary>ℓ_k = log φ̄_k for k = 0..W−1; −∞ for a zero aggregate.</summary>
    public IReadOnlyList<double> LogPhiBar { get; }

    /// <summary>log C_K at index K−1.</summary>
    public IReadOnlyList<double> LogCumulativeNorm { get; }

    /// <summary>log Ê(K) at index K−1; +∞ when there is no decay (log β̂ ≥ 0).</summary>
    public IReadOnlyList<double> LogErrorBound { get; }

    /// <summary>log Ĝ, or −∞ when no K' gives C_{K'} − Ê(K') &gt; 0.</summary>
    public double LogGradientLowerBound { get; }

    /// <summary>log δ̂(K) at index K−1 (+∞ where δ̂ is infinite): the curve to plot, free of under/overflow.</summary>
    public IReadOnlyList<double> LogRelativeBias { get; }

    /// <summary>δ̂(K) = Ê(K)/Ĝ at index K−1; +∞ where infinite. Non-increasing in K.</summary>
    public IReadOnlyList<double> RelativeBias { get; }

    /// <summary>κ̂(δ) for each δ given to the estimator, in the order given.</summary>
    public IReadOnlyList<(double Delta, int K)> KByDelta { get; }

    /// <summary>Conditions worth reporting; see <see cref="Messages"/> for their explanation.</summary>
    public BiasDiagnostics Diagnostics { get; }

    /// <summary>One plain-English sentence per diagnostic, for a user reading a log.</summary>
    public IReadOnlyList<string> Messages { get; }

    /// <summary>
    /// κ̂(δ): the smallest K in [1, W] with δ̂(K) &lt; δ, or W if there is none, then clamped to [KMin, KMax].
    /// Non-increasing in δ because δ̂ is non-increasing in K.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">δ is NaN or not positive.</exception>
    public int ChooseK(double delta) => Math.Clamp(ChooseUnclamped(delta), KMin, KMax);

    internal int ChooseUnclamped(double delta)
    {
        BiasEstimator.CheckDelta(delta);
        return BiasEstimator.FirstBelow(RelativeBias, delta);
    }
}
