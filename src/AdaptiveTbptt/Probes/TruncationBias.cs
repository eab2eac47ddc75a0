using System.Numerics;
using Tbptt.Engine;
using Tbptt.Models;

namespace Tbptt.Probes;

/// <summary>
/// The measured relative bias of truncating the parameter gradient at one K (docs §5, the quantity δ̂(K) estimates):
/// per sample s, b_s(K) = ‖ĝ_K,s − ĝ_W,s‖ / ‖ĝ_W,s‖ with ĝ_K,s = ∇θ L_W of sample s backpropagated through its newest
/// K steps; and for the samples' mean gradient, ‖Σ_s (ĝ_K,s − ĝ_W,s)‖ / ‖Σ_s ĝ_W,s‖ (the bias of a mini-batch's
/// gradient, which <see cref="ProbeResult.MeasuredBias"/> reports for one batched probe).
/// </summary>
/// <param name="K">Lags kept: the losses' gradients flow through the states of lags 0..K−1.</param>
/// <param name="MeanGradientBias">Relative bias of the samples' summed (equivalently, mean) gradient.</param>
/// <param name="PerSample">b_s(K) for each sample, in the order of the offsets (∞ where ‖ĝ_W,s‖ = 0).</param>
public sealed record TruncationBiasPoint(int K, double MeanGradientBias, IReadOnlyList<double> PerSample)
{
    /// <summary>Mean of the per-sample biases.</summary>
    public double Mean => PerSample.Average();
    /// <summary>Standard deviation of the per-sample biases (population, over the S samples).</summary>
    public double Std => Math.Sqrt(PerSample.Average(b => (b - Mean) * (b - Mean)));
    /// <summary>The q-quantile of the per-sample biases (linear interpolation between order statistics).</summary>
    public double Quantile(double q)
    {
        if (!(q >= 0 && q <= 1)) throw new ArgumentOutOfRangeException(nameof(q), q, "a quantile must be in [0, 1].");
        var sorted = PerSample.Order().ToArray();
        double at = q * (sorted.Length - 1);
        int lo = (int)Math.Floor(at), hi = Math.Min(lo + 1, sorted.Length - 1);
        return sorted[lo] + (at - lo) * (sorted[hi] - sorted[lo]);
    }
}

/// <summary>
/// Measures <see cref="TruncationBiasPoint"/> for a grid of K at the samples a <see cref="GradientProbe{T}"/> takes
/// (same burn-in, window and loss: L_W of the last step, each sample's own, unscaled; no dropout). Each sample runs
/// alone (batch 1), because a batched backward sums the samples' weight gradients; one backward pass per sample
/// serves every K (<see cref="StackTape{T}.Backward"/> snapshots ĝ_K). The model's gradient buffer is saved and
/// restored. Costs S·(b + 2W) steps at batch 1: about what the probe costs, at matrix–vector speed; holds two
/// parameter-sized buffers per K.
/// </summary>
public sealed class TruncationBias<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly SequenceModel<T> _model;
    private readonly ProbeOptions _options;
    private readonly int[] _grid;
    private readonly StackTape<T> _tape;
    private readonly T[] _saved, _full;
    private readonly T[][] _snapshots;

    /// <summary>A measurement of <paramref name="model"/> at its current parameters over the K of
    /// <paramref name="options"/>.BiasGrid (W is added as the reference if missing; its bias is 0).</summary>
    public TruncationBias(SequenceModel<T> model, ProbeOptions options)
    {
        options.Validate();
        if (model.Config.Input != InputKind.Tokens || model.Config.Loss != LossKind.CrossEntropy)
            throw new NotSupportedException("the bias measurement reads token streams: it needs a token-input, cross-entropy model.");
        if (options.BiasGrid.Count == 0) throw new ArgumentException("give at least one K in the bias grid.", nameof(options));
        _model = model;
        _options = options;
        _grid = options.BiasGrid[^1] == options.Window ? [.. options.BiasGrid] : [.. options.BiasGrid, options.Window];
        int n = model.Parameters.Length;
        // Per K: ĝ_K of one sample (T) and the samples' summed difference (double); refused before anything is held.
        double bytes = (double)_grid.Length * n * (System.Runtime.CompilerServices.Unsafe.SizeOf<T>() + sizeof(double)),
            limit = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 2.0;
        if (bytes > limit)
            throw new ArgumentOutOfRangeException(nameof(options), _grid.Length, string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"measuring {_grid.Length} values of K on a model of {n:N0} parameters needs about {bytes / 1e9:G3} GB, more than the {limit / 1e9:G3} GB allowed (half this machine's memory): give fewer K."));
        _tape = new StackTape<T>(model, 1, options.Window) { Training = false };
        _saved = new T[n];
        _full = new T[n];
        _snapshots = _grid.Select(_ => new T[n]).ToArray();
    }

    /// <summary>The K measured, ascending, W last.</summary>
    public IReadOnlyList<int> Grid => _grid;

    /// <summary>Steps of forward and backward compute one measurement costs: S·(b + 2W) at batch 1.</summary>
    public long ComputeSteps(int samples) => (long)samples * (_options.EffectiveBurnIn + 2L * _options.Window);

    /// <summary>
    /// Measures at <paramref name="offsets"/> of a step-major stream of <paramref name="columns"/> columns, offsets
    /// named as <see cref="GradientProbe{T}.Run(ReadOnlySpan{int}, ReadOnlySpan{int}, int, int[])"/> names them.
    /// Any number of offsets; one point per K of <see cref="Grid"/>.
    /// </summary>
    public IReadOnlyList<TruncationBiasPoint> Measure(ReadOnlySpan<int> inputs, ReadOnlySpan<int> targets, int columns, int[] offsets)
    {
        int w = _options.Window, b = _options.EffectiveBurnIn;
        if (offsets.Length == 0) throw new ArgumentException("give at least one offset.", nameof(offsets));
        if (targets.Length != inputs.Length) throw new ArgumentException("inputs and targets differ in length.", nameof(targets));
        if (columns < 1 || inputs.Length % columns != 0)
            throw new ArgumentException($"{inputs.Length} tokens do not split into {columns} columns.", nameof(columns));
        using var flush = Numerics.Denormals.FlushToZero();
        int steps = inputs.Length / columns;
        foreach (int o in offsets)
            if (o < 0 || o % steps + b + w > steps || o / steps >= columns)
                throw new ArgumentOutOfRangeException(nameof(offsets), o, $"a sample needs steps [offset, offset + {b + w}) within one column of {steps} steps.");

        var p = _model.Parameters;
        int n = p.Length;
        p.Grad.CopyTo(_saved, 0);
        var perSample = _grid.Select(_ => new double[offsets.Length]).ToArray();
        var sumDiff = _grid.Select(_ => new double[n]).ToArray();
        var sumFull = new double[n];
        var window = new int[w];
        try
        {
            for (int s = 0; s < offsets.Length; s++)
            {
                int column = offsets[s] / steps, first = offsets[s] % steps;
                int At(int t) => (first + t) * columns + column;
                _tape.ResetState();
                for (int done = 0; done < b;)
                {
                    int len = Math.Min(w, b - done);
                    for (int t = 0; t < len; t++) window[t] = inputs[At(done + t)];
                    _tape.Append(len, window.AsSpan(0, len), default);
                    _tape.Retain(0);
                    done += len;
                }
                for (int t = 0; t < w; t++) window[t] = inputs[At(b + t)];
                _tape.Append(w, window, default);
                p.ZeroGrad();
                _tape.Loss(1, w, [targets[At(b + w - 1)]], default, T.One);
                _tape.Backward(w, null, _grid, k => p.Grad.CopyTo(_snapshots[Array.IndexOf(_grid, k)], 0));
                p.Grad.CopyTo(_full, 0);

                double fullSq = 0;
                for (int j = 0; j < n; j++)
                {
                    double f = double.CreateTruncating(_full[j]);
                    fullSq += f * f;
                    sumFull[j] += f;
                }
                for (int i = 0; i < _grid.Length; i++)
                {
                    double d = 0;
                    var snap = _snapshots[i];
                    var sum = sumDiff[i];
                    for (int j = 0; j < n; j++)
                    {
                        double e = double.CreateTruncating(snap[j]) - double.CreateTruncating(_full[j]);
                        d += e * e;
                        sum[j] += e;
                    }
                    perSample[i][s] = fullSq > 0 ? Math.Sqrt(d / fullSq) : double.PositiveInfinity;
                }
            }
        }
        finally
        {
            _saved.CopyTo(p.Grad, 0);
        }
        double fullNorm = Math.Sqrt(sumFull.Sum(v => v * v));
        return [.. _grid.Select((k, i) => new TruncationBiasPoint(k,
            fullNorm > 0 ? Math.Sqrt(sumDiff[i].Sum(v => v * v)) / fullNorm : double.PositiveInfinity, perSample[i]))];
    }
}
