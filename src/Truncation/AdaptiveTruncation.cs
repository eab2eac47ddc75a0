using Tbptt.BiasEstimation;

namespace Tbptt.Truncation;

/// <summary>Settings of adaptive TBPTT (Algorithm 1, <c>docs/adaptive-tbptt.md</c> §7). Defaults: the paper's copy task.</summary>
public sealed record AdaptiveOptions
{
    /// <summary>δ: the relative gradient bias tolerated.</summary>
    public double Delta { get; init; } = 0.1;
    /// <summary>K0: the truncation before the first estimate.</summary>
    public int K0 { get; init; } = 15;
    /// <summary>The smallest K the controller chooses.</summary>
    public int KMin { get; init; } = 2;
    /// <summary>The largest K the controller chooses (also capped at each probe's window W).</summary>
    public int KMax { get; init; } = 100;
    /// <summary>P: probes per re-estimate; K is the floor of the mean of their κ̂(δ).</summary>
    public int Probes { get; init; } = 5;
    /// <summary>
    /// Updates between re-estimates. <c>null</c> (the default): after every evaluation round the caller reports
    /// through <see cref="AdaptiveTruncation.AfterEvaluation"/>, as the paper did, and in any case once
    /// <see cref="MaxUpdatesBetweenEstimates"/> updates have passed since the last estimate, so a loop that only
    /// calls <see cref="AdaptiveTruncation.AfterUpdate"/> adapts too. <c>0</c>: at evaluation rounds only.
    /// <c>n &gt; 0</c>: every n updates, evaluation rounds ignored.
    /// </summary>
    public int? EstimateEvery { get; init; }
    /// <summary>
    /// Under the default schedule (<see cref="EstimateEvery"/> = null), the most updates without a re-estimate.
    /// Counted from the last estimate (from update 0 before the first), so it depends on nothing but the history
    /// a checkpoint keeps and a resumed run re-estimates where an uninterrupted one would.
    /// </summary>
    public int MaxUpdatesBetweenEstimates { get; init; } = 1000;
    /// <summary>(k1, k2) = (K, 2K − 1) when true (the paper's), (K, K) otherwise.</summary>
    public bool PaperWindows { get; init; } = true;
    /// <summary>Scale the step size by √K (the paper's runs, with the loss averaged per step).</summary>
    public bool ScaleBySqrtK { get; init; } = true;
    /// <summary>Estimator settings (β method, τ, fit range); KMin/KMax here are overridden by this record's.</summary>
    public BiasEstimatorOptions Estimator { get; init; } = new();

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first setting out of range.</summary>
    public void Validate()
    {
        ArgumentNullException.ThrowIfNull(Estimator);
        if (!(Delta > 0 && double.IsFinite(Delta))) throw new ArgumentOutOfRangeException(nameof(Delta), Delta, "δ must be finite and > 0.");
        if (KMin < 1) throw new ArgumentOutOfRangeException(nameof(KMin), KMin, "Kmin must be at least 1.");
        if (KMax < KMin) throw new ArgumentOutOfRangeException(nameof(KMax), KMax, $"Kmax must be ≥ Kmin = {KMin}.");
        if (K0 < 1) throw new ArgumentOutOfRangeException(nameof(K0), K0, "K0 must be at least 1.");
        if (Probes < 1) throw new ArgumentOutOfRangeException(nameof(Probes), Probes, "probes must be at least 1.");
        if (EstimateEvery < 0) throw new ArgumentOutOfRangeException(nameof(EstimateEvery), EstimateEvery, "the re-estimate interval must be ≥ 0 updates (0: after each evaluation).");
        if (MaxUpdatesBetweenEstimates < 1)
            throw new ArgumentOutOfRangeException(nameof(MaxUpdatesBetweenEstimates), MaxUpdatesBetweenEstimates, "the most updates between re-estimates must be at least 1.");
    }
}

/// <summary>
/// One re-estimate: the K chosen (from the mean of the P probes' κ̂) and each probe's κ̂; β̂, δ̂(K) and the tracked
/// κ̂ are those of the last probe (one estimate's diagnostics, not an average).
/// </summary>
/// <param name="Update">The update count at which the estimate ran.</param>
/// <param name="K">The K chosen: clamp(⌊mean of the probes' κ̂⌋, Kmin, Kmax).</param>
/// <param name="LogBeta">log β̂ of the last probe.</param>
/// <param name="RelativeBiasAtK">δ̂(K) of the last probe at the chosen K (NaN when K exceeds its window).</param>
/// <param name="ProbeKs">κ̂(δ) of each probe.</param>
/// <param name="KByTrackedDelta">κ̂ of the last probe for each tracked δ.</param>
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
    private readonly Func<int, IReadOnlyList<GradientNormProfile>> _probes;
    private readonly List<KEstimate> _history = [];
    private readonly double[] _tracked;

    /// <param name="probe">Returns one probe's φ table (W lags × S samples) at the current parameters.</param>
    /// <param name="trackedDeltas">Extra δ values whose κ̂ is recorded at each estimate (for logs and plots).</param>
    /// <param name="options">The controller's settings; validated here.</param>
    public AdaptiveTruncation(AdaptiveOptions options, Func<GradientNormProfile> probe, IReadOnlyList<double>? trackedDeltas = null)
        : this(options, Sequential(probe ?? throw new ArgumentNullException(nameof(probe))), trackedDeltas) { }

    /// <param name="probes">Returns the given number P of φ tables at the current parameters, in the order P calls of
    /// a single probe would (a trainer may run them as one batch: the same tables at less cost).</param>
    /// <param name="trackedDeltas">Extra δ values whose κ̂ is recorded at each estimate (for logs and plots).</param>
    /// <param name="options">The controller's settings; validated here.</param>
    public AdaptiveTruncation(AdaptiveOptions options, Func<int, IReadOnlyList<GradientNormProfile>> probes, IReadOnlyList<double>? trackedDeltas = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(probes);
        options.Validate();
        Options = options;
        _probes = probes;
        _tracked = (trackedDeltas ?? []).ToArray();
        K = Math.Clamp(options.K0, options.KMin, options.KMax);
    }

    /// <summary>The settings this controller was built with.</summary>
    public AdaptiveOptions Options { get; }
    /// <summary>The current truncation length: K0 (clamped) until the first estimate.</summary>
    public int K { get; private set; }
    /// <summary>"δ=" and the tolerance, e.g. "δ=0.1".</summary>
    public string Name => $"δ={Options.Delta.ToString(System.Globalization.CultureInfo.InvariantCulture)}";
    /// <summary>Every re-estimate so far, oldest first.</summary>
    public IReadOnlyList<KEstimate> History => _history;
    /// <summary>The newest re-estimate, or null before the first.</summary>
    public KEstimate? Latest => _history.Count > 0 ? _history[^1] : null;

    /// <summary>(K, 2K − 1) or (K, K), with the step scale √K or 1; <paramref name="rng"/> is not used.</summary>
    public TruncationWindow Next(Random rng) =>
        new(K, Options.PaperWindows ? 2 * K - 1 : K, Options.ScaleBySqrtK ? Math.Sqrt(K) : 1.0);

    /// <summary>Re-estimates when the schedule of <see cref="AdaptiveOptions.EstimateEvery"/> says so.</summary>
    public void AfterUpdate(long updates)
    {
        bool due = Options.EstimateEvery switch
        {
            null => updates - (Latest?.Update ?? 0) >= Options.MaxUpdatesBetweenEstimates,
            0 => false,
            int every => updates % every == 0,
        };
        if (due) Reestimate(updates);
    }

    /// <summary>Re-estimates unless <see cref="AdaptiveOptions.EstimateEvery"/> sets a fixed interval.</summary>
    public void AfterEvaluation(long updates)
    {
        if (Options.EstimateEvery is null or 0) Reestimate(updates);
    }

    /// <summary>Runs the P probes now and updates K; returns the record of this estimate.</summary>
    public KEstimate Reestimate(long update = 0)
    {
        var o = Options;
        var ks = new List<int>(o.Probes);
        BiasEstimate? last = null;
        double[] deltas = [o.Delta, .. _tracked];
        var profiles = _probes(o.Probes);
        if (profiles is null || profiles.Count != o.Probes)
            throw new InvalidOperationException($"the probe callback returned {profiles?.Count ?? 0} φ tables for {o.Probes} probes.");
        foreach (var table in profiles)
        {
            var profile = table ?? throw new InvalidOperationException("the probe callback returned no φ table.");
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

    /// <summary>P tables from P calls of a single probe, in order.</summary>
    private static Func<int, IReadOnlyList<GradientNormProfile>> Sequential(Func<GradientNormProfile> probe) =>
        count =>
        {
            var tables = new GradientNormProfile[count];
            for (int i = 0; i < count; i++) tables[i] = probe();
            return tables;
        };

    /// <summary>Restores K and the estimate history of a resumed run.</summary>
    public void Restore(int k, IEnumerable<KEstimate> history)
    {
        ArgumentNullException.ThrowIfNull(history);
        K = Math.Clamp(k, Options.KMin, Options.KMax);
        _history.Clear();
        _history.AddRange(history);
    }
}
