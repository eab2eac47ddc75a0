using System.Globalization;

namespace Tbptt.BiasEstimation;

/// <summary>The result of a log β fit: the rate and how many lags it rests on.</summary>
/// <param name="LogBeta">log β̂; 0 when fewer than two usable lags exist (no decay can be claimed).</param>
/// <param name="PointsUsed">Usable lags in the estimator's range (for max: τ and the lags after it).</param>
public readonly record struct DecayFit(double LogBeta, int PointsUsed)
{
    /// <summary>Fewer than two usable lags: <see cref="LogBeta"/> is 0 by convention, not a measurement.</summary>
    public bool TooFewPoints => PointsUsed < 2;
}

/// <summary>
/// Estimators of the geometric decay rate log β from ℓ_k = log φ̄_k (design doc §4).
/// </summary>
/// <remarks>
/// A lag is <em>usable</em> when ℓ_k is finite and ℓ_k ≥ max_j ℓ_j − <see cref="ZeroGradientLogGap"/>. The
/// doc (and the paper's code) drop ℓ_k &lt; −50 in absolute terms, which assumes φ̄_0 ≈ 1; we measure the 50 nats
/// from the largest ℓ instead. The two agree when max ℓ ≈ 0, and only the relative form makes β̂ invariant to the
/// scale of the loss (a profile of 1e-300·β^k is then fitted like one of β^k instead of being all "zero").
/// </remarks>
public static class DecayRate
{
    /// <summary>Lags more than this many nats (a factor e^50 ≈ 5e21) below the largest φ̄ count as zero gradient.</summary>
    public const double ZeroGradientLogGap = 50;

    /// <summary>
    /// The most usable lags the quantile estimator pairs up: their L(L−1)/2 slopes (2,096,128 here, 16 MB) are
    /// held and sorted. Beyond it the lags are thinned to this many, evenly spaced with the first and last kept,
    /// so time and memory stay bounded whatever W is; the thinned set still spans the whole range.
    /// </summary>
    public const int MaxQuantileLags = 2048;

    /// <summary>Dispatches to <see cref="Ols"/>, <see cref="Max"/> or <see cref="Quantile"/>.</summary>
    /// <param name="logPhiBar">ℓ_k for k = 0..W−1; −∞ allowed (zero gradient), NaN and +∞ are not.</param>
    /// <param name="method">The estimator.</param>
    /// <param name="fitStart">First lag of the ols fit, in [0, W−2].</param>
    /// <param name="tau">τ in [0, W−1], the start of the max and quantile ranges.</param>
    /// <param name="quantile">q in (0, 1), used by quantile only.</param>
    public static DecayFit EstimateLogBeta(
        ReadOnlySpan<double> logPhiBar, DecayMethod method, int fitStart, int tau, double quantile) => method switch
        {
            DecayMethod.Ols => Ols(logPhiBar, fitStart),
            DecayMethod.Max => Max(logPhiBar, tau),
            DecayMethod.Quantile => Quantile(logPhiBar, tau, quantile),
            _ => throw new ArgumentOutOfRangeException(nameof(method), method, "unknown decay method"),
        };

    /// <summary>Least-squares slope of ℓ_k against k over the usable k ∈ [fitStart, W−1].</summary>
    public static DecayFit Ols(ReadOnlySpan<double> logPhiBar, int fitStart)
    {
        double floor = UsableFloor(logPhiBar);
        CheckIndex(fitStart, 0, logPhiBar.Length - 2, nameof(fitStart));
        int n = 0;
        double meanK = 0, meanL = 0;
        for (int k = fitStart; k < logPhiBar.Length; k++)
            if (IsUsable(logPhiBar[k], floor)) { n++; meanK += k; meanL += logPhiBar[k]; }
        if (n < 2) return new DecayFit(0, n);
        meanK /= n;
        meanL /= n;
        // Two passes with centred ℓ: ℓ may sit near −700 for tiny norms, and uncentred sums would cancel.
        double sxy = 0, sxx = 0;
        for (int k = fitStart; k < logPhiBar.Length; k++)
        {
            if (!IsUsable(logPhiBar[k], floor)) continue;
            double dk = k - meanK;
            sxy += dk * (logPhiBar[k] - meanL);
            sxx += dk * dk;
        }
        return new DecayFit(sxy / sxx, n);
    }

    /// <summary>The steepest-ascent (most conservative) slope from τ: max over usable j ∈ (τ, W−1] of
    /// (ℓ_j − ℓ_τ)/(j − τ). Too few points when ℓ_τ itself is unusable or no later lag is.</summary>
    public static DecayFit Max(ReadOnlySpan<double> logPhiBar, int tau)
    {
        double floor = UsableFloor(logPhiBar);
        CheckIndex(tau, 0, logPhiBar.Length - 1, nameof(tau));
        if (!IsUsable(logPhiBar[tau], floor)) return new DecayFit(0, 0);
        int n = 1;
        double best = double.NegativeInfinity;
        for (int j = tau + 1; j < logPhiBar.Length; j++)
        {
            if (!IsUsable(logPhiBar[j], floor)) continue;
            n++;
            best = Math.Max(best, (logPhiBar[j] - logPhiBar[tau]) / (j - tau));
        }
        return n < 2 ? new DecayFit(0, n) : new DecayFit(best, n);
    }

    /// <summary>
    /// The q-quantile of the pairwise slopes (ℓ_j − ℓ_i)/(j − i) over usable τ ≤ i &lt; j ≤ W−1, with linear
    /// interpolation between order statistics (numpy's default, which the paper's Python code used).
    /// </summary>
    public static DecayFit Quantile(ReadOnlySpan<double> logPhiBar, int tau, double quantile)
    {
        double floor = UsableFloor(logPhiBar);
        CheckIndex(tau, 0, logPhiBar.Length - 1, nameof(tau));
        if (!(quantile > 0 && quantile < 1))
            throw new ArgumentOutOfRangeException(nameof(quantile), quantile,
                $"quantile = {quantile.ToString(CultureInfo.InvariantCulture)}: q must lie strictly between 0 and 1");
        var usable = new List<int>();
        for (int k = tau; k < logPhiBar.Length; k++) if (IsUsable(logPhiBar[k], floor)) usable.Add(k);
        if (usable.Count < 2) return new DecayFit(0, usable.Count);
        int found = usable.Count;
        if (found > MaxQuantileLags)
            usable = Enumerable.Range(0, MaxQuantileLags).Select(i => usable[(int)((long)i * (found - 1) / (MaxQuantileLags - 1))]).ToList();
        var slopes = new double[(long)usable.Count * (usable.Count - 1) / 2];
        int m = 0;
        for (int a = 0; a < usable.Count; a++)
            for (int b = a + 1; b < usable.Count; b++)
            {
                int i = usable[a], j = usable[b];
                slopes[m++] = (logPhiBar[j] - logPhiBar[i]) / (j - i);
            }
        Array.Sort(slopes);
        double h = (slopes.Length - 1) * quantile;
        int lo = (int)Math.Floor(h);
        int hi = Math.Min(lo + 1, slopes.Length - 1);
        return new DecayFit(slopes[lo] + (h - lo) * (slopes[hi] - slopes[lo]), found);
    }

    /// <summary>Whether lag k counts in a fit: finite and within <see cref="ZeroGradientLogGap"/> of the largest ℓ.
    /// One call scans the whole profile; for every lag use <see cref="UsableLags"/>.</summary>
    public static bool IsUsable(ReadOnlySpan<double> logPhiBar, int k) => IsUsable(logPhiBar[k], UsableFloor(logPhiBar));

    /// <summary><see cref="IsUsable(ReadOnlySpan{double}, int)"/> for every lag, in one pass.</summary>
    public static bool[] UsableLags(ReadOnlySpan<double> logPhiBar)
    {
        double floor = UsableFloor(logPhiBar);
        var usable = new bool[logPhiBar.Length];
        for (int k = 0; k < usable.Length; k++) usable[k] = IsUsable(logPhiBar[k], floor);
        return usable;
    }

    private static bool IsUsable(double l, double floor) => double.IsFinite(l) && l >= floor;

    private static double UsableFloor(ReadOnlySpan<double> logPhiBar)
    {
        if (logPhiBar.Length < 2)
            throw new ArgumentException(
                $"log φ̄ needs at least 2 lags to fit a decay, but has {logPhiBar.Length}", nameof(logPhiBar));
        double max = double.NegativeInfinity;
        for (int k = 0; k < logPhiBar.Length; k++)
        {
            double l = logPhiBar[k];
            if (double.IsNaN(l) || double.IsPositiveInfinity(l))
                throw new ArgumentException(
                    $"logPhiBar[lag {k}] = {l.ToString(CultureInfo.InvariantCulture)}: must be finite or −∞",
                    nameof(logPhiBar));
            max = Math.Max(max, l);
        }
        return max - ZeroGradientLogGap;
    }

    private static void CheckIndex(int value, int lo, int hi, string name)
    {
        if (value < lo || value > hi)
            throw new ArgumentOutOfRangeException(name, value, $"{name} = {value}: must lie in [{lo}, {hi}]");
    }
}
