using Tbptt.BiasEstimation;

namespace Tbptt.Training;

/// <summary>Settings of adaptive TBPTT (Algorithm 1 of the paper, docs §7). Defaults: the paper's copy task.</summary>
public sealed record AdaptiveOptions
{
    /// <summary>δ: the relative gradient bias tolerated.</summary>
    public double Delta { get; init; } = 0.1;
    /// <summary>K0: the truncation before the first estimate.</summary>
    public int K0 { get; init; } = 15;
    public int KMin { get; init; } = 2;
    public int KMax { get; init; } = 100;
    /// <summary>P: probes per re-estimate; K is the floor of the mean of their κ̂(δ).</summary>
    public int Probes { get; init; } = 5;
    /// <summary>Updates between re-estimates; 0 (the default) re-estimates after every evaluation round, as the paper did.</summary>
    public int EstimateEvery { get; init; }
    /// <summary>(k1, k2) = (K, 2K − 1) when true (the paper's), (K, K) otherwise.</summary>
    public bool PaperWindows { get; init; } = true;
    /// <summary>Scale the step size by √K (the paper's runs, with the loss averaged per step).</summary>
    public bool ScaleBySqrtK { get; init; } = true;
    /// <summary>Estimator settings (β method, τ, fit range); KMin/KMax here are overridden by this record's.</summary>
    public BiasEstimatorOptions Estimator { get; init; } = new();

    public void Validate()
    {
        if (!(Delta > 0 && double.IsFinite(Delta))) throw new ArgumentOutOfRangeException(nameof(Delta), Delta, "δ must be finite and > 0.");
        if (KMin < 1) throw new ArgumentOutOfRangeException(nameof(KMin), KMin, "Kmin must be at least 1.");
        if (KMax < KMin) throw new ArgumentOutOfRangeException(nameof(KMax), KMax, $"Kmax must be ≥ Kmin = {KMin}.");
        if (K0 < 1) throw new ArgumentOutOfRangeException(nameof(K0), K0, "K0 must be at least 1.");
        if (Probes < 1) throw new ArgumentOutOfRangeException(nameof(Probes), Probes, "probes must be at least 1.");
        if (EstimateEvery < 0) throw new ArgumentOutOfRangeException(nameof(EstimateEvery), EstimateEvery, "the re-estimate interval must be ≥ 0 updates (0: after each evaluation).");
    }
}

/// <summary>
/// One re-estimate: the K chosen (from the mean of the P probes' κ̂) and each probe's κ̂; β̂, δ̂(K) and the tracked
/// κ̂ are those of the last probe (one estimate's diagnostics, not an average).
/// </summary>
/// <param name="Last">The last probe's full estimate (not kept across a resume).</param>
public sealed record KEstimate(long Update, int K, double LogBeta, double RelativeBiasAtK, IReadOnlyList<int> ProbeKs,
    IReadOnlyList<(double Delta, int K)> KByTrackedDelta, BiasEstimate? Last);

/// <summary>
/// Adaptive TBPTT: every <see cref="AdaptiveOptions.EstimateEvery"/> updates it runs P probes through a
/// callback, takes κ̂(δ) of each and sets K = clamp(⌊mean⌋, Kmin, Kmax). The callback is the whole coupling to
/// a model: any trainer (ours, or someone else's) that can produce a φ table by lag can drive it.
/// </summary>
public sealed class AdaptiveTruncation : ITruncationPolicy
{
    private readonly Func<GradientNormProfile> _probe;
    private readonly List<KEstimate> _history = [];
    private readonly double[] _tracked;

    /// <param name="probe">Returns one probe's φ table (W lags × S samples) at the current parameters.</param>
    /// <param name="trackedDeltas">Extra δ values whose κ̂ is recorded at each estimate (for logs and plots).</param>
    public AdaptiveTruncation(AdaptiveOptions options, Func<GradientNormProfile> probe, IReadOnlyList<double>? trackedDeltas = null)
    {
        options.Validate();
        Options = options;
        _probe = probe;
        _tracked = (trackedDeltas ?? []).ToArray();
        K = Math.Clamp(options.K0, options.KMin, options.KMax);
    }

    public AdaptiveOptions Options { get; }
    public int K { get; private set; }
    public string Name => $"δ={Options.Delta.ToString(System.Globalization.CultureInfo.InvariantCulture)}";
    public IReadOnlyList<KEstimate> History => _history;
    public KEstimate? Latest => _history.Count > 0 ? _history[^1] : null;

    public TruncationWindow Next(Random rng) =>
        new(K, Options.PaperWindows ? 2 * K - 1 : K, Options.ScaleBySqrtK ? Math.Sqrt(K) : 1.0);

    public void AfterUpdate(long updates)
    {
        if (Options.EstimateEvery > 0 && updates % Options.EstimateEvery == 0) Reestimate(updates);
    }

    public void AfterEvaluation(long updates)
    {
        if (Options.EstimateEvery == 0) Reestimate(updates);
    }

    /// <summary>Runs the P probes now and updates K; returns the record of this estimate.</summary>
    public KEstimate Reestimate(long update = 0)
    {
        var o = Options;
        var ks = new List<int>(o.Probes);
        BiasEstimate? last = null;
        double[] deltas = [o.Delta, .. _tracked];
        for (int i = 0; i < o.Probes; i++)
        {
            var profile = _probe();
            var options = o.Estimator with { KMin = Math.Min(o.KMin, profile.Window), KMax = Math.Min(o.KMax, profile.Window) };
            last = BiasEstimator.Estimate(profile, options, deltas);
            ks.Add(last.KByDelta[0].K);
        }
        K = Math.Clamp((int)Math.Floor(ks.Average()), o.KMin, o.KMax);
        var estimate = new KEstimate(update, K, last!.LogBeta,
            K <= last.Window ? last.RelativeBias[K - 1] : double.NaN, ks, last.KByDelta.Skip(1).ToList(), last);
        _history.Add(estimate);
        return estimate;
    }

    /// <summary>Restores K and the estimate history of a resumed run.</summary>
    public void Restore(int k, IEnumerable<KEstimate> history)
    {
        K = Math.Clamp(k, Options.KMin, Options.KMax);
        _history.Clear();
        _history.AddRange(history);
    }
}
