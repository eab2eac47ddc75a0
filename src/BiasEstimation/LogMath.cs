namespace Tbptt.BiasEstimation;

/// <summary>
/// Log-space arithmetic. φ̄ can span hundreds of orders of magnitude (a probe window of W = 400 lags with
/// β = 0.1 covers 10^-400), so every sum of norms in this library is a log-sum-exp, and every difference is a
/// log-diff-exp. .NET's <c>double.LogP1</c>/<c>double.ExpM1</c> are computed as <c>Log(1 + x)</c> and
/// <c>Exp(x) - 1</c>, which lose all digits for small x, so accurate versions live here.
/// </summary>
internal static class LogMath
{
    /// <summary>log(1 + x), accurate for small |x| (Goldberg's trick: the rounding of 1 + x cancels).</summary>
    public static double Log1p(double x)
    {
        double u = 1.0 + x;
        if (u == 1.0) return x;
        if (double.IsPositiveInfinity(u)) return Math.Log(x);
        return Math.Log(u) * x / (u - 1.0);
    }

    /// <summary>exp(x) − 1, accurate for small |x| (Kahan's trick).</summary>
    public static double Expm1(double x)
    {
        double u = Math.Exp(x);
        if (u == 1.0) return x;
        double um1 = u - 1.0;
        if (um1 == -1.0) return -1.0;
        if (double.IsPositiveInfinity(u)) return u;
        return um1 * x / Math.Log(u);
    }

    /// <summary>
    /// log(1 − exp(x)) for x ≤ 0: the log of 1 − β from log β, and the core of <see cref="LogDiffExp"/>.
    /// Uses the split at −ln 2 of Mächler (2012) so neither branch cancels catastrophically.
    /// </summary>
    public static double Log1mExp(double x)
    {
        if (x > 0 || double.IsNaN(x)) return double.NaN;
        if (x == 0) return double.NegativeInfinity;
        return x > -Math.Log(2.0) ? Math.Log(-Expm1(x)) : Log1p(-Math.Exp(x));
    }

    /// <summary>log(exp(a) + exp(b)); −∞ stands for a zero term and contributes nothing.</summary>
    public static double LogAddExp(double a, double b)
    {
        if (double.IsNegativeInfinity(a)) return b;
        if (double.IsNegativeInfinity(b)) return a;
        double max = Math.Max(a, b);
        if (double.IsPositiveInfinity(max)) return max;
        // max + a non-negative term: the sum can never come out below its larger part, which keeps
        // suffix and prefix sums monotone in floating point as well as on paper.
        return max + Log1p(Math.Exp(-Math.Abs(a - b)));
    }

    /// <summary>log Σ exp(xᵢ) over a span; −∞ for an empty span or one of all zeros.</summary>
    public static double LogSumExp(ReadOnlySpan<double> x)
    {
        double max = double.NegativeInfinity;
        foreach (double v in x) if (v > max) max = v;
        if (double.IsInfinity(max)) return max;
        double sum = 0;
        foreach (double v in x) sum += Math.Exp(v - max);
        return max + Math.Log(sum);
    }

    /// <summary>
    /// log(exp(a) − exp(b)) for a &gt; b, computed as a + log(1 − exp(b − a)) so that neither exponential is
    /// ever formed. Returns NaN when a ≤ b (the difference is not positive); callers test that first.
    /// </summary>
    public static double LogDiffExp(double a, double b)
    {
        if (!(a > b)) return double.NaN;
        if (double.IsNegativeInfinity(b)) return a;
        return a + Log1mExp(b - a);
    }
}
