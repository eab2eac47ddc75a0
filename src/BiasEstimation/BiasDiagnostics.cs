namespace Tbptt.BiasEstimation;

/// <summary>
/// Conditions a caller should log or act on; the plain-English explanation of each is in
/// <see cref="BiasEstimate.Messages"/>. Several can hold at once (too few points implies no decay).
/// </summary>
[Flags]
public enum BiasDiagnostics
{
    /// <summary>Nothing to report.</summary>
    None = 0,

    /// <summary>log β̂ ≥ 0: no geometric decay detected, δ̂(K) is infinite for every K and κ̂ = W (then clamped).</summary>
    NoDecay = 1 << 0,

    /// <summary>Fewer than two usable lags in the estimator's range: log β̂ was set to 0.</summary>
    TooFewPoints = 1 << 1,

    /// <summary>C_K − Ê(K) ≤ 0 for every K: no positive lower bound Ĝ on the gradient norm, so δ̂ is infinite.
    /// Typical when β̂ is close to 1 (the tail bound φ̄_τ/(1−β) dominates) or τ is too early.</summary>
    BoundNotPositive = 1 << 2,

    /// <summary>At least one lag had φ̄_k = 0 (or was more than <see cref="DecayRate.ZeroGradientLogGap"/> nats below
    /// the largest) and was left out of the fit.</summary>
    ZeroGradients = 1 << 3,

    /// <summary>For at least one δ no K in 1..W had δ̂(K) &lt; δ, so κ̂(δ) = W before clamping.</summary>
    DeltaNotReached = 1 << 4,

    /// <summary>At least one κ̂(δ) was moved by the clamp to [KMin, KMax].</summary>
    Clamped = 1 << 5,

    /// <summary>No usable lag is left past τ and the profile ends in zero (or negligible) lags: the tail beyond
    /// the last usable lag was treated as zero instead of fitted (see <see cref="BiasEstimator"/>).</summary>
    TailVanished = 1 << 6,
}
