using System.Globalization;

namespace Tbptt.Reporting;

/// <summary>
/// Axis ranges and tick values a reader can do arithmetic with: linear ticks step by 1, 2 or 5 times a power of
/// ten; log ticks sit on decades (10⁻³, 10⁻², …), falling back to 1-2-5 mantissas and then to linear steps when
/// the data spans too few decades for decade ticks to say anything (a perplexity between 1.0 and 1.9, say).
/// </summary>
internal static class NiceTicks
{
    /// <summary>
    /// The smallest of 1, 2, 5 or 10 times a power of ten that is at least <paramref name="span"/> /
    /// <paramref name="maxIntervals"/>, so that the span needs no more than that many intervals.
    /// </summary>
    public static double Step(double span, int maxIntervals)
    {
        if (!(span > 0) || double.IsInfinity(span))
            throw new ArgumentOutOfRangeException(nameof(span), span, "span must be positive and finite.");
        if (maxIntervals < 1)
            throw new ArgumentOutOfRangeException(nameof(maxIntervals), maxIntervals, "maxIntervals must be at least 1.");
        double raw = span / maxIntervals;
        double magnitude = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        foreach (double m in (ReadOnlySpan<double>)[1, 2, 5, 10])
            if (m * magnitude >= raw * (1 - 1e-12)) return m * magnitude;
        return 10 * magnitude;
    }

    /// <summary>
    /// Linear ticks covering [<paramref name="min"/>, <paramref name="max"/>]. With <paramref name="extend"/> the
    /// first and last tick lie on or outside the data (so they can become the axis ends); otherwise only ticks
    /// inside the range are returned.
    /// </summary>
    public static double[] Linear(double min, double max, int maxIntervals = 6, bool extend = true)
    {
        CheckRange(min, max);
        double step = Step(max - min, maxIntervals);
        double first = extend ? Math.Floor(min / step + 1e-9) : Math.Ceiling(min / step - 1e-9);
        double last = extend ? Math.Ceiling(max / step - 1e-9) : Math.Floor(max / step + 1e-9);
        var ticks = new List<double>();
        for (double k = first; k <= last; k++)
        {
            double v = k * step;
            ticks.Add(Math.Abs(v) < step * 1e-9 ? 0.0 : v); // no -0 or 1e-17 where zero is meant
        }
        return [.. ticks];
    }

    /// <summary>
    /// Ticks for a log axis over [<paramref name="min"/>, <paramref name="max"/>] (both positive), extended to
    /// the enclosing tick values: decades when they give at least three ticks (thinned to about ten when there
    /// are many), else the 1-2-5 values of each decade, else linear ticks.
    /// </summary>
    public static double[] Log(double min, double max)
    {
        CheckRange(min, max);
        if (!(min > 0)) throw new ArgumentOutOfRangeException(nameof(min), min, "a log axis needs positive values.");
        int kLo = (int)Math.Floor(Math.Log10(min) + 1e-9), kHi = (int)Math.Ceiling(Math.Log10(max) - 1e-9);
        if (kHi - kLo >= 2)
        {
            int every = Math.Max(1, (int)Math.Ceiling((kHi - kLo + 1) / 10.0));
            kLo = (int)Math.Floor(kLo / (double)every) * every;
            kHi = (int)Math.Ceiling(kHi / (double)every) * every;
            var decades = new List<double>();
            for (int k = kLo; k <= kHi; k += every) decades.Add(Decade(k));
            return [.. decades];
        }
        var ticks = new List<double>();
        for (int k = kLo - 1; k <= kHi; k++)
            foreach (double m in (ReadOnlySpan<double>)[1, 2, 5])
                ticks.Add(m * Decade(k));
        int lo = ticks.FindLastIndex(t => t <= min * (1 + 1e-12));
        int hi = ticks.FindIndex(t => t >= max * (1 - 1e-12));
        if (lo >= 0 && hi >= 0 && hi - lo >= 3) return [.. ticks.GetRange(lo, hi - lo + 1)];
        double[] linear = Linear(min, max, 5);
        return linear[0] > 0 ? linear : Linear(min, max, 5, extend: false) is { Length: > 0 } inner ? inner : [min, max];
    }

    /// <summary>
    /// Short invariant-culture text for a tick value: plain decimals between 10⁻⁴ and 10⁶, otherwise mantissa and
    /// exponent (<c>1e-5</c>, <c>2.5e6</c>); rounding noise such as 0.30000000000000004 is not shown.
    /// </summary>
    public static string Format(double value)
    {
        if (value == 0) return "0";
        if (double.IsNaN(value)) return "NaN";
        if (double.IsInfinity(value)) return value > 0 ? "inf" : "-inf";
        double a = Math.Abs(value);
        return a >= 1e6 || a < 1e-4
            ? value.ToString("0.###e0", CultureInfo.InvariantCulture)
            : value.ToString("0.######", CultureInfo.InvariantCulture);
    }

    // 10^k exactly as the literal would parse (Math.Pow(10, -3) is not always 0.001).
    private static double Decade(int k) => double.Parse("1e" + k.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);

    private static void CheckRange(double min, double max)
    {
        if (!double.IsFinite(min) || !double.IsFinite(max) || !(max > min))
            throw new ArgumentException($"tick range [{min}, {max}] must be finite with max > min.");
    }
}
