namespace Tbptt.BiasEstimation;

/// <summary>Estimator of the geometric decay rate log β from ℓ_k = log φ̄_k (design doc §4).</summary>
public enum DecayMethod
{
    /// <summary>Least-squares slope of ℓ_k against k over k ∈ [fitStart, W−1]. The default, as in the paper's code.</summary>
    Ols,

    /// <summary>The largest slope from τ: max over j ∈ (τ, W−1] of (ℓ_j − ℓ_τ)/(j − τ). The most conservative.</summary>
    Max,

    /// <summary>The q-quantile of all pairwise slopes (ℓ_j − ℓ_i)/(j − i), τ ≤ i &lt; j ≤ W−1.</summary>
    Quantile,
}
