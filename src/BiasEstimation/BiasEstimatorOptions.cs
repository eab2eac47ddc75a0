using System.Globalization;

namespace Tbptt.BiasEstimation;

/// <summary>
/// Settings of <see cref="BiasEstimator.Estimate"/>. Defaults follow design doc §4–§6 and the paper's code:
/// ols over all lags, τ = W − W/10, mean aggregation, the approximate cumulative norm, K ∈ [1, W].
/// </summary>
public sealed record BiasEstimatorOptions
{
    /// <summary>The log β estimator. Default <see cref="DecayMethod.Ols"/>.</summary>
    public DecayMethod Method { get; init; } = DecayMethod.Ols;

    /// <summary>First lag of the ols fit, in [0, W−2] so that at least two lags are fitted. Default 0, as in the
    /// paper's code; set it past the transient of the first lags when they do not decay geometrically yet.</summary>
    public int FitStart { get; init; }

    /// <summary>q of <see cref="DecayMethod.Quantile"/>, in (0, 1). Default 0.95.</summary>
    public double Quantile { get; init; } = 0.95;

    /// <summary>τ, the lag from which geometric decay is assumed; in [0, W−1]. Null means W − W/10 (integer
    /// division), capped at W−1 so that windows of fewer than 10 lags still have a τ inside them.</summary>
    public int? Tau { get; init; }

    /// <summary>How per-sample norms are aggregated into φ̄_k. Default <see cref="BiasEstimation.Aggregation.Mean"/>.</summary>
    public Aggregation Aggregation { get; init; } = Aggregation.Mean;

    /// <summary>How C_K is formed. Default <see cref="CumulativeNorm.Approximate"/>, as in the paper's runs.</summary>
    public CumulativeNorm Cumulative { get; init; } = CumulativeNorm.Approximate;

    /// <summary>Lower clamp of κ̂(δ); at least 1. Default 1.</summary>
    public int KMin { get; init; } = 1;

    /// <summary>Upper clamp of κ̂(δ); at most W. Null means W.</summary>
    public int? KMax { get; init; }

    /// <summary>The default τ for a window: W − W/10, but at most W−1.</summary>
    public static int DefaultTau(int window) => Math.Min(window - window / 10, window - 1);

    /// <summary>τ for this window: <see cref="Tau"/> or <see cref="DefaultTau"/>.</summary>
    public int ResolveTau(int window) => Tau ?? DefaultTau(window);

    /// <summary>The upper clamp for this window: <see cref="KMax"/> or W.</summary>
    public int ResolveKMax(int window) => KMax ?? window;

    /// <summary>
    /// Rejects settings that cannot apply to a window of W lags, naming the setting and its value, so that a
    /// command-line user learns which flag to fix rather than getting a silently clamped result.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A setting is outside its range.</exception>
    public void Validate(int window)
    {
        if (window < 2) throw Bad(nameof(window), window, "the window needs at least 2 lags");
        if (!Enum.IsDefined(Method)) throw Bad(nameof(Method), Method, "unknown decay method");
        if (!Enum.IsDefined(Aggregation)) throw Bad(nameof(Aggregation), Aggregation, "unknown aggregation");
        if (!Enum.IsDefined(Cumulative)) throw Bad(nameof(Cumulative), Cumulative, "unknown cumulative-norm mode");
        int tau = ResolveTau(window);
        if (tau < 0 || tau > window - 1)
            throw Bad(nameof(Tau), tau, $"τ must lie in [0, W−1] = [0, {window - 1}]");
        if (FitStart < 0 || FitStart > window - 2)
            throw Bad(nameof(FitStart), FitStart,
                $"the fit start must lie in [0, W−2] = [0, {window - 2}] so that at least two lags are fitted");
        if (!(Quantile > 0 && Quantile < 1))
            throw Bad(nameof(Quantile), Quantile, "the quantile q must lie strictly between 0 and 1");
        int kMax = ResolveKMax(window);
        if (KMin < 1) throw Bad(nameof(KMin), KMin, "KMin must be at least 1");
        if (kMax > window) throw Bad(nameof(KMax), kMax, $"KMax must be at most W = {window}");
        if (KMin > kMax) throw Bad(nameof(KMin), KMin, $"KMin must not exceed KMax = {kMax}");
    }

    private static ArgumentOutOfRangeException Bad(string name, object value, string why) =>
        new(name, value, $"{name} = {Convert.ToString(value, CultureInfo.InvariantCulture)}: {why}");
}
