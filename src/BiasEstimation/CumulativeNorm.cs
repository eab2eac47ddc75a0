namespace Tbptt.BiasEstimation;

/// <summary>How the cumulative norm C_K of the first K lags is formed (design doc §3).</summary>
public enum CumulativeNorm
{
    /// <summary>C_K = Σ_{k&lt;K} φ̄_k: the paper's cheap approximation, used in its reference runs.
    /// It can only overstate ‖Σ_{k&lt;K} ḡ_k‖, so Ĝ may be too large and δ̂ too small.</summary>
    Approximate,

    /// <summary>C_K = ‖Σ_{k&lt;K} ḡ_k‖ from the per-lag mean gradient vectors. Needed for δ̂ to be a
    /// provable upper bound (in state space); requires a profile constructed with mean gradients.</summary>
    Exact,
}
