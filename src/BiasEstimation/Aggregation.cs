namespace Tbptt.BiasEstimation;

/// <summary>How the per-sample norms φ_k of one lag are combined into the profile φ̄_k (design doc §3).</summary>
public enum Aggregation
{
    /// <summary>φ̄_k = mean over samples of φ_k: what the paper uses, and what the bias bound needs
    /// (‖ḡ_k‖ ≤ mean of the per-sample norms by the triangle inequality).</summary>
    Mean,

    /// <summary>φ̄_k = exp(mean over samples of log φ_k): robust to a few exploding samples, but no longer an
    /// upper bound on ‖ḡ_k‖, so δ̂ is then an estimate only. A zero φ in any sample makes φ̄_k zero.</summary>
    GeometricMean,
}
