using System.Globalization;

namespace Tbptt.BiasEstimation;

/// <summary>
/// The gradient-norm profile of design doc §3: φ_k = ‖∂L_W/∂h_{W−k}‖ for lags k = 0..W−1 (rows) and
/// samples s = 0..S−1 (columns), optionally with the per-lag mean vectors ḡ_k needed for the exact C_K.
/// </summary>
/// <remarks>
/// The profile is the only input of the estimator and knows nothing of a model, so any trainer (PyTorch,
/// TorchSharp, ours) can build one from a table of norms. It is immutable: constructors copy their input.
/// A zero φ is a legal measurement ("the gradient vanished"); it becomes −∞ in log space, is left out of
/// the β fit and contributes nothing to sums.
/// </remarks>
public sealed class GradientNormProfile
{
    private readonly double[,] _phi;            // (lag, sample)
    private readonly double[][]? _meanGradients; // W × dim, or null

    /// <summary>Builds a profile from a (lag, sample) table of norms.</summary>
    /// <param name="phi">φ[k, s] for k = 0..W−1, s = 0..S−1; W ≥ 2, S ≥ 1, every entry finite and ≥ 0.</param>
    /// <param name="meanGradients">Optional ḡ_k, one vector of equal length per lag (W × dim), for
    /// <see cref="CumulativeNorm.Exact"/>.</param>
    /// <exception cref="ArgumentException">A shape is wrong or a value is NaN, infinite or negative; the message
    /// names the argument, the lag, the sample and the value.</exception>
    public GradientNormProfile(double[,] phi, double[][]? meanGradients = null)
    {
        ArgumentNullException.ThrowIfNull(phi);
        int w = phi.GetLength(0), s = phi.GetLength(1);
        CheckShape(w, s, nameof(phi));
        _phi = new double[w, s];
        for (int k = 0; k < w; k++)
            for (int j = 0; j < s; j++)
                _phi[k, j] = CheckNorm(phi[k, j], k, j, nameof(phi));
        _meanGradients = CopyMeanGradients(meanGradients, w);
    }

    /// <summary>Builds a profile from jagged rows, one row per lag k = 0..W−1, one entry per sample.</summary>
    /// <param name="rows">W rows of equal length S; W ≥ 2, S ≥ 1, every entry finite and ≥ 0.</param>
    /// <param name="meanGradients">Optional ḡ_k (W × dim) for <see cref="CumulativeNorm.Exact"/>.</param>
    /// <exception cref="ArgumentException">Ragged rows, a wrong shape or a bad value.</exception>
    public GradientNormProfile(IReadOnlyList<double[]> rows, double[][]? meanGradients = null)
    {
        ArgumentNullException.ThrowIfNull(rows);
        int w = rows.Count;
        int s = w > 0 ? (rows[0] ?? throw new ArgumentException("row for lag 0 is null", nameof(rows))).Length : 0;
        CheckShape(w, s, nameof(rows));
        _phi = new double[w, s];
        for (int k = 0; k < w; k++)
        {
            double[] row = rows[k] ?? throw new ArgumentException($"row for lag {k} is null", nameof(rows));
            if (row.Length != s)
                throw new ArgumentException(
                    $"ragged profile: lag {k} has {row.Length} samples but lag 0 has {s}", nameof(rows));
            for (int j = 0; j < s; j++) _phi[k, j] = CheckNorm(row[j], k, j, nameof(rows));
        }
        _meanGradients = CopyMeanGradients(meanGradients, w);
    }

    /// <summary>The window W: number of lags k = 0..W−1.</summary>
    public int Window => _phi.GetLength(0);

    /// <summary>The number of samples S (probe positions).</summary>
    public int Samples => _phi.GetLength(1);

    /// <summary>φ_k of one sample.</summary>
    public double this[int lag, int sample] => _phi[lag, sample];

    /// <summary>Whether the per-lag mean vectors ḡ_k were given, so <see cref="CumulativeNorm.Exact"/> is possible.</summary>
    public bool HasMeanGradients => _meanGradients is not null;

    /// <summary>Length of each ḡ_k, or 0 without mean gradients.</summary>
    public int GradientDimension => _meanGradients?[0].Length ?? 0;

    /// <summary>The mean state gradient ḡ_k at lag k (empty without mean gradients).</summary>
    public ReadOnlySpan<double> MeanGradient(int lag) =>
        _meanGradients is null ? ReadOnlySpan<double>.Empty : _meanGradients[lag];

    /// <summary>
    /// ℓ_k = log φ̄_k for k = 0..W−1, computed in log space so that neither a sum of huge norms overflows nor a
    /// product of tiny ones underflows. −∞ marks a lag whose aggregate is zero.
    /// </summary>
    public double[] LogPhiBar(Aggregation aggregation)
    {
        int w = Window, s = Samples;
        var result = new double[w];
        var logs = new double[s];
        double logS = Math.Log(s);
        for (int k = 0; k < w; k++)
        {
            for (int j = 0; j < s; j++) logs[j] = Math.Log(_phi[k, j]);
            result[k] = aggregation switch
            {
                Aggregation.Mean => LogMath.LogSumExp(logs) - logS,
                Aggregation.GeometricMean => logs.Average(),
                _ => throw new ArgumentOutOfRangeException(nameof(aggregation), aggregation, "unknown aggregation"),
            };
        }
        return result;
    }

    /// <summary>
    /// log C_K for K = 1..W (index K−1). <see cref="CumulativeNorm.Approximate"/>: C_K = Σ_{k&lt;K} φ̄_k;
    /// <see cref="CumulativeNorm.Exact"/>: C_K = ‖Σ_{k&lt;K} ḡ_k‖.
    /// </summary>
    /// <exception cref="ArgumentException">Exact was asked for but the profile has no mean gradients.</exception>
    public double[] LogCumulativeNorm(CumulativeNorm mode, Aggregation aggregation) =>
        LogCumulativeNorm(mode, LogPhiBar(aggregation));

    internal double[] LogCumulativeNorm(CumulativeNorm mode, double[] logPhiBar)
    {
        switch (mode)
        {
            case CumulativeNorm.Approximate:
                var c = new double[logPhiBar.Length];
                double acc = double.NegativeInfinity;
                for (int k = 0; k < c.Length; k++) c[k] = acc = LogMath.LogAddExp(acc, logPhiBar[k]);
                return c;
            case CumulativeNorm.Exact:
                if (_meanGradients is null)
                    throw new ArgumentException(
                        "the exact cumulative norm C_K = ‖Σ ḡ_k‖ needs the per-lag mean gradient vectors, " +
                        "but this profile was built from norms only; use CumulativeNorm.Approximate", nameof(mode));
                return ExactLogCumulativeNorm(_meanGradients);
            default:
                throw new ArgumentOutOfRangeException(nameof(mode), mode, "unknown cumulative-norm mode");
        }
    }

    private static double[] ExactLogCumulativeNorm(double[][] g)
    {
        int w = g.Length, dim = g[0].Length;
        double maxAbs = 0;
        foreach (double[] row in g) foreach (double v in row) maxAbs = Math.Max(maxAbs, Math.Abs(v));
        // Scale by a power of two (exact) only when the running sum could overflow; scaling always would push
        // tiny early lags into the subnormal range for no reason.
        int shift = maxAbs * w > 1e300 ? -Math.ILogB(maxAbs) : 0;
        var sum = new double[dim];
        var result = new double[w];
        for (int k = 0; k < w; k++)
        {
            for (int i = 0; i < dim; i++) sum[i] += Math.ScaleB(g[k][i], shift);
            result[k] = LogNorm(sum) - shift * Math.Log(2.0);
        }
        return result;
    }

    /// <summary>log ‖v‖₂ without overflow or underflow in the squares (scale by the largest entry first).</summary>
    private static double LogNorm(double[] v)
    {
        double m = 0;
        foreach (double x in v) m = Math.Max(m, Math.Abs(x));
        if (m == 0) return double.NegativeInfinity;
        double ss = 0;
        foreach (double x in v) { double r = x / m; ss += r * r; }
        return Math.Log(m) + 0.5 * Math.Log(ss);
    }

    private static void CheckShape(int w, int s, string paramName)
    {
        if (w < 2)
            throw new ArgumentException(
                $"the profile needs at least 2 lags (W ≥ 2) to see any decay, but has W = {w}", paramName);
        if (s < 1)
            throw new ArgumentException($"the profile needs at least 1 sample (S ≥ 1), but has S = {s}", paramName);
    }

    private static double CheckNorm(double v, int lag, int sample, string paramName)
    {
        if (double.IsNaN(v) || double.IsInfinity(v) || v < 0)
            throw new ArgumentException(
                $"{paramName}[lag {lag}, sample {sample}] = {v.ToString(CultureInfo.InvariantCulture)}: " +
                "a gradient norm φ must be finite and non-negative", paramName);
        return v;
    }

    private static double[][]? CopyMeanGradients(double[][]? g, int w)
    {
        const string name = "meanGradients";
        if (g is null) return null;
        if (g.Length != w)
            throw new ArgumentException($"{name} has {g.Length} lags but the norms have W = {w}", name);
        int dim = g[0]?.Length ?? 0;
        if (dim < 1) throw new ArgumentException($"{name}[lag 0] is null or empty", name);
        var copy = new double[w][];
        for (int k = 0; k < w; k++)
        {
            double[] row = g[k] ?? throw new ArgumentException($"{name}[lag {k}] is null", name);
            if (row.Length != dim)
                throw new ArgumentException($"{name}[lag {k}] has length {row.Length} but lag 0 has {dim}", name);
            for (int i = 0; i < dim; i++)
                if (!double.IsFinite(row[i]))
                    throw new ArgumentException(
                        $"{name}[lag {k}][{i}] = {row[i].ToString(CultureInfo.InvariantCulture)}: must be finite", name);
            copy[k] = (double[])row.Clone();
        }
        return copy;
    }
}
