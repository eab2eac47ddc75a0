namespace Tbptt.Truncation;

/// <summary>The (k1, k2) of one update and the step-size multiplier that goes with it.</summary>
/// <param name="K1">Steps forward per update: the losses of the newest k1 steps are included.</param>
/// <param name="K2">Steps backpropagated: the state k2 steps back is held constant.</param>
/// <param name="StepScale">Multiplier of the learning rate for this update.</param>
public readonly record struct TruncationWindow(int K1, int K2, double StepScale);

/// <summary>
/// Chooses the truncation of every update. The trainer asks <see cref="Next"/> before each update and calls
/// <see cref="AfterUpdate"/> after it; an adaptive policy re-estimates K there.
/// </summary>
public interface ITruncationPolicy
{
    /// <summary>Short description for logs and tables, e.g. "K=15" or "δ=0.1".</summary>
    string Name { get; }
    /// <summary>The current base truncation length K.</summary>
    int K { get; }
    /// <summary>The window of the next update. <paramref name="rng"/> serves policies that draw lengths.</summary>
    TruncationWindow Next(Random rng);
    /// <summary>Called after every update with the number of updates done so far.</summary>
    void AfterUpdate(long updates);
    /// <summary>Called after every evaluation round (the paper re-estimates K between its evaluation rounds).</summary>
    void AfterEvaluation(long updates) { }
}

/// <summary>TBPTT(k1, k2) with fixed lengths; optionally the step size scaled by √k1 as in the paper's runs.</summary>
public sealed class FixedTruncation : ITruncationPolicy
{
    /// <summary>TBPTT(<paramref name="k1"/>, <paramref name="k2"/>) at every update.</summary>
    /// <param name="scaleBySqrtK">Scale the step size by √k1.</param>
    public FixedTruncation(int k1, int k2, bool scaleBySqrtK = false)
    {
        if (k1 < 1) throw new ArgumentOutOfRangeException(nameof(k1), k1, "k1 must be at least 1.");
        if (k2 < 1) throw new ArgumentOutOfRangeException(nameof(k2), k2, "k2 must be at least 1.");
        K1 = k1; K2 = k2; ScaleBySqrtK = scaleBySqrtK;
    }

    /// <summary>The paper's form: every loss sees at least K lags, TBPTT(K, 2K − 1).</summary>
    public static FixedTruncation Paper(int k, bool scaleBySqrtK = true) => new(k, 2 * k - 1, scaleBySqrtK);

    /// <summary>Steps forward per update.</summary>
    public int K1 { get; }
    /// <summary>Steps backpropagated per update.</summary>
    public int K2 { get; }
    /// <summary>Whether the step size is scaled by √k1.</summary>
    public bool ScaleBySqrtK { get; }
    /// <summary>k1.</summary>
    public int K => K1;
    /// <summary>"K=" and k1.</summary>
    public string Name => $"K={K1}";
    /// <summary>Always (k1, k2); <paramref name="rng"/> is not used.</summary>
    public TruncationWindow Next(Random rng) => new(K1, K2, ScaleBySqrtK ? Math.Sqrt(K1) : 1.0);
    /// <summary>Nothing to do: the lengths never change.</summary>
    public void AfterUpdate(long updates) { }
}

/// <summary>
/// AWD-LSTM's variable-length BPTT: the base length K with probability p, else K/2; the window length is then
/// drawn from N(base, σ²), at least <see cref="MinLength"/>; the step size is scaled by length/K so that long
/// and short windows weigh in proportion to their tokens. Windows are chunked (k1 = k2).
/// </summary>
public sealed class VariableLengthTruncation : ITruncationPolicy
{
    /// <param name="k">The base length K.</param>
    /// <param name="p">Probability of the base length K (else K/2).</param>
    /// <param name="sigma">Standard deviation σ of the drawn length.</param>
    /// <param name="minLength">The shortest window drawn (at least 1).</param>
    public VariableLengthTruncation(int k, double p = 0.95, double sigma = 5, int minLength = 5)
    {
        if (k < 1) throw new ArgumentOutOfRangeException(nameof(k), k, "K must be at least 1.");
        if (!(p >= 0 && p <= 1)) throw new ArgumentOutOfRangeException(nameof(p), p, "p must be in [0, 1].");
        if (!(sigma >= 0)) throw new ArgumentOutOfRangeException(nameof(sigma), sigma, "σ must be ≥ 0.");
        K = k; P = p; Sigma = sigma; MinLength = Math.Max(1, minLength);
    }

    /// <summary>The base length.</summary>
    public int K { get; }
    /// <summary>Probability of the base length K (else K/2).</summary>
    public double P { get; }
    /// <summary>Standard deviation σ of the drawn length.</summary>
    public double Sigma { get; }
    /// <summary>The shortest window drawn.</summary>
    public int MinLength { get; }
    /// <summary>"var K=" and K.</summary>
    public string Name => $"var K={K}";

    /// <summary>Draws one window length from <paramref name="rng"/>; k1 = k2 = length, step scale length/K.</summary>
    public TruncationWindow Next(Random rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        double baseLength = rng.NextDouble() < P ? K : K / 2.0;
        double u1 = 1.0 - rng.NextDouble(), u2 = rng.NextDouble();
        double normal = Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
        int length = Math.Max(MinLength, (int)(baseLength + Sigma * normal));
        return new TruncationWindow(length, length, (double)length / K);
    }

    /// <summary>Nothing to do: the base length never changes.</summary>
    public void AfterUpdate(long updates) { }
}
