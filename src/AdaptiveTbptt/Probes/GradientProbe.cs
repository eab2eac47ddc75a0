using System.Numerics;
using System.Numerics.Tensors;
using Tbptt.Engine;
using Tbptt.Models;

namespace Tbptt.Probes;

/// <summary>Probe settings (docs §3). Defaults follow the paper's language-model runs.</summary>
public sealed record ProbeOptions
{
    /// <summary>W: lags recorded, k = 0..W−1.</summary>
    public int Window { get; init; } = 400;
    /// <summary>b: forward-only steps from the zero state before the window; null means W/10.</summary>
    public int? BurnIn { get; init; }
    /// <summary>S: sample positions per probe (one batch row each).</summary>
    public int Samples { get; init; } = 64;
    /// <summary>K grid for the measured bias ‖ĝ_K − ĝ_W‖/‖ĝ_W‖ (empty: not measured).</summary>
    public IReadOnlyList<int> BiasGrid { get; init; } = [];

    /// <summary>The burn-in b in use: <see cref="BurnIn"/>, or W/10 when that is null.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public int EffectiveBurnIn => BurnIn ?? Window / 10;

    /// <summary>The largest window and burn-in accepted (each; their sum stays far inside an int).</summary>
    public const int MaxSteps = 100_000_000;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first setting out of range.</summary>
    public void Validate()
    {
        if (Window < 2) throw new ArgumentOutOfRangeException(nameof(Window), Window, "the probe window W must be at least 2.");
        if (EffectiveBurnIn < 0) throw new ArgumentOutOfRangeException(nameof(BurnIn), BurnIn, "burn-in must be ≥ 0.");
        if (Samples < 1) throw new ArgumentOutOfRangeException(nameof(Samples), Samples, "samples must be at least 1.");
        // Stream positions are ints: burn-in + W (+ the target after them) must stay one.
        if (Window > MaxSteps) throw new ArgumentOutOfRangeException(nameof(Window), Window, $"the probe window W must be at most {MaxSteps:N0}.");
        if (EffectiveBurnIn > MaxSteps) throw new ArgumentOutOfRangeException(nameof(BurnIn), BurnIn, $"burn-in must be at most {MaxSteps:N0}.");
        int last = 0;
        foreach (int k in BiasGrid)
        {
            if (k <= last || k > Window)
                throw new ArgumentOutOfRangeException(nameof(BiasGrid), k, $"bias grid values must ascend within [1, {Window}].");
            last = k;
        }
    }
}

/// <summary>What one probe measured.</summary>
/// <param name="Phi">φ[k, s] = ‖∂L_W/∂h_{W−k}‖₂ for lag k and sample s (W × S).</param>
/// <param name="MeanGradient">ḡ_k: the per-lag mean over samples of ∂L_W/∂h_{W−k} (W × state size).</param>
/// <param name="Offsets">Start of each sample (burn-in included) in the stream.</param>
/// <param name="MeasuredBias">(K, ‖ĝ_K − ĝ_W‖/‖ĝ_W‖) for the grid: the true relative parameter-gradient bias.</param>
public sealed record ProbeResult(double[,] Phi, double[][] MeanGradient, int[] Offsets, IReadOnlyList<(int K, double Bias)> MeasuredBias)
{
    /// <summary>W: lags recorded.</summary>
    public int Window => Phi.GetLength(0);
    /// <summary>S: samples.</summary>
    public int Samples => Phi.GetLength(1);
}

/// <summary>
/// The gradient-norm profile of docs §3. For S sample positions it runs the model forward without gradients
/// through a burn-in of b steps from the zero state, then W steps, backpropagates the loss of the last step
/// only, and records for every lag the norm of the gradient with respect to the state h_{W−k} (every layer's
/// hidden and, for an LSTM, cell vector). All S samples go through the engine as one batch: one forward and
/// one backward pass per probe; buffers are allocated once per probe object. Built for G groups, it runs G probes
/// (G·S samples) as that one batch and returns each group's table: the rows never meet, so each table is the
/// one its probe alone would give (bit for bit on the managed kernel), at one pass over the weights per step.
/// </summary>
/// <remarks>
/// "Gradient with respect to the state" is taken in the state view: h_t is the input of step t+1, so
/// ∂L_W/∂h^l_t flows only through layer l's own recurrence at step t+1 (the path through layer l+1 at time t
/// belongs to h^{l+1}_t, which is another component of the same state). For k = 0 only the top layer's h
/// receives the decoder gradient. This is what PyTorch reports as <c>.grad</c> of the (h, c) tensors passed
/// between single-step calls, the paper's set-up.
/// A φ table needs state gradients only: without a bias grid no parameter gradient is computed and the
/// gradient buffer is not touched; with one, the buffer is saved and restored, so training is not disturbed.
/// </remarks>
public sealed class GradientProbe<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly SequenceModel<T> _model;
    private readonly ProbeOptions _options;
    private readonly StackTape<T> _tape;
    private readonly T[][] _stateGrads;
    private readonly int[] _inputs, _targets;
    private readonly T[] _savedGrad, _fullGrad; // empty without a bias grid
    private readonly List<T[]> _snapshots = [];
    private readonly int _groups;
    private readonly double[][,] _phi;   // per group [W, S], reused by every run
    private readonly double[][][] _mean; // per group [W][state], reused by every run
    private readonly double[] _row;      // [widest layer state] one sample's state gradient in double

    /// <summary>A probe of <paramref name="model"/> at its current parameters (it reads them at every run).</summary>
    public GradientProbe(SequenceModel<T> model, ProbeOptions options) : this(model, options, 1) { }

    /// <summary>
    /// <paramref name="groups"/> probes of S samples each, run as one batch of groups·S rows by
    /// <see cref="RunGroups"/>. A bias grid needs one group: ĝ_K sums over every row of the batch.
    /// </summary>
    public GradientProbe(SequenceModel<T> model, ProbeOptions options, int groups)
    {
        options.Validate();
        if (model.Config.Input != InputKind.Tokens || model.Config.Loss != LossKind.CrossEntropy)
            throw new NotSupportedException("the probe reads token streams: it needs a token-input, cross-entropy model.");
        if (groups < 1) throw new ArgumentOutOfRangeException(nameof(groups), groups, "a probe runs at least one group.");
        if (groups > 1 && options.BiasGrid.Count > 0)
            throw new ArgumentException("the measured bias ĝ_K is one probe's: probes batched in groups need an empty bias grid.", nameof(groups));
        _model = model;
        _options = options;
        _groups = groups;
        int w = options.Window, s = options.Samples * groups;
        CheckMemory(model.Config, options with { Samples = s });
        // The probe measures the network as it is, without dropout noise.
        _tape = new StackTape<T>(model, s, w) { Training = false };
        _stateGrads = _tape.Layers.Select(l => new T[w * s * l.StateWidth]).ToArray();
        _inputs = new int[w * s];
        _targets = new int[s];
        int n = options.BiasGrid.Count > 0 ? model.Parameters.Length : 0;
        _savedGrad = new T[n];
        _fullGrad = new T[n];
        foreach (var _ in options.BiasGrid) _snapshots.Add(new T[n]);
        _phi = Enumerable.Range(0, groups).Select(_ => new double[w, options.Samples]).ToArray();
        _row = new double[_tape.Layers.Max(l => l.StateWidth)];
        _mean = Enumerable.Range(0, groups).Select(_ => Enumerable.Range(0, w).Select(_ => new double[model.Config.StateSize]).ToArray()).ToArray();
    }

    /// <summary>Probes per batch: G.</summary>
    public int Groups => _groups;

    /// <summary>The settings this probe was built with.</summary>
    public ProbeOptions Options => _options;

    /// <summary>
    /// Bytes a probe of this size holds, roughly: the tape of W steps × S samples (states, gates and their
    /// gradients per layer, inputs, logits), the state gradients and the φ table.
    /// </summary>
    public static double EstimateBytes(ModelConfig c, ProbeOptions o)
    {
        double perStep = c.Layers * (double)c.HiddenSize * (2 * c.GateCount + 4) + 2.0 * c.FirstLayerInputSize + c.OutputSize + c.StateSize;
        return (double)o.Window * o.Samples * (perStep * System.Runtime.CompilerServices.Unsafe.SizeOf<T>() + sizeof(double))
            + (double)o.Window * c.StateSize * sizeof(double);
    }

    /// <summary>Refuses a probe that could not be held (before anything is allocated), naming its size.</summary>
    private static void CheckMemory(ModelConfig c, ProbeOptions o)
    {
        double limit = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 2.0, bytes = EstimateBytes(c, o);
        double largest = (double)o.Window * o.Samples * Math.Max(c.StateSize, c.Layers > 0 ? (double)c.HiddenSize * c.GateCount : 0);
        if (bytes > limit || largest > Array.MaxLength)
            throw new ArgumentOutOfRangeException(nameof(o.Samples), o.Samples, string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"a probe of W = {o.Window} lags × S = {o.Samples} samples on this model needs about {bytes / 1e9:G3} GB, more than the {limit / 1e9:G3} GB allowed (half this machine's memory): lower --samples or --window."));
    }

    /// <summary>Steps of forward and backward compute one run costs (for compute accounting): G·S·(b + 2W), each
    /// sample's forward through burn-in and window and its backward through the window — counted as steps, like
    /// training's, though a probe's backward computes state gradients only.</summary>
    public long ComputeSteps => (long)_groups * _options.Samples * (_options.EffectiveBurnIn + 2L * _options.Window);

    /// <summary>Random sample offsets, seeded: each sample needs b + W inputs and the target after them.</summary>
    public int[] RandomOffsets(int streamLength, Random rng)
    {
        int span = _options.EffectiveBurnIn + _options.Window;
        if (streamLength < span)
            throw new ArgumentException($"the stream has {streamLength} steps; a probe sample needs burn-in + W = {span}.");
        return Enumerable.Range(0, _options.Samples).Select(_ => rng.Next(streamLength - span + 1)).ToArray();
    }

    /// <summary>
    /// Probes at <paramref name="offsets"/> (one per sample) of a single-column stream where step t has input
    /// <paramref name="inputs"/>[t] and target <paramref name="targets"/>[t]. The result's φ and ḡ arrays are this
    /// probe's own buffers, overwritten by its next run: copy what you keep (as <c>GradientNormProfile</c> does).
    /// </summary>
    public ProbeResult Run(ReadOnlySpan<int> inputs, ReadOnlySpan<int> targets, int[] offsets) =>
        Run(inputs, targets, 1, offsets);

    /// <summary>
    /// Probes a step-major stream of <paramref name="columns"/> columns ([steps, columns], the engine's layout) in
    /// place. An offset o names column o / steps, step o % steps, so one integer names a position and every
    /// sample's window stays within its column.
    /// </summary>
    public ProbeResult Run(ReadOnlySpan<int> inputs, ReadOnlySpan<int> targets, int columns, int[] offsets)
    {
        if (_groups != 1) throw new InvalidOperationException($"this probe runs {_groups} groups at once: call RunGroups.");
        return RunGroups(inputs, targets, columns, offsets)[0];
    }

    /// <summary>
    /// G probes as one batch: offsets [g·S, (g+1)·S) are probe g's samples (as <see cref="Run(ReadOnlySpan{int}, ReadOnlySpan{int}, int, int[])"/>
    /// takes them). Returns one result per group, each on this probe's own buffers.
    /// </summary>
    public ProbeResult[] RunGroups(ReadOnlySpan<int> inputs, ReadOnlySpan<int> targets, int columns, int[] offsets)
    {
        int w = _options.Window, s = _options.Samples * _groups, b = _options.EffectiveBurnIn;
        if (offsets.Length != s) throw new ArgumentException($"{offsets.Length} offsets given for {_groups} × {_options.Samples} samples.", nameof(offsets));
        if (targets.Length != inputs.Length) throw new ArgumentException("inputs and targets differ in length.", nameof(targets));
        if (columns < 1 || inputs.Length % columns != 0)
            throw new ArgumentException($"{inputs.Length} tokens do not split into {columns} columns.", nameof(columns));
        using var flush = Numerics.Denormals.FlushToZero();
        int steps = inputs.Length / columns;
        foreach (int o in offsets)
            if (o < 0 || o % steps + b + w > steps || o / steps >= columns)
                throw new ArgumentOutOfRangeException(nameof(offsets), o, $"a sample needs steps [offset, offset + {b + w}) within one column of {steps} steps.");

        var p = _model.Parameters;
        var grid = _options.BiasGrid;
        int[] lags = grid.ToArray();
        bool weights = lags.Length > 0;
        if (weights) p.Grad.CopyTo(_savedGrad, 0);
        _tape.ResetState();
        // Burn-in without gradients, at most W steps at a time: only the final state is kept.
        for (int done = 0; done < b;)
        {
            int n = Math.Min(w, b - done);
            Gather(inputs, columns, steps, offsets, done, n);
            _tape.Append(n, _inputs.AsSpan(0, n * s), default);
            _tape.Retain(0);
            done += n;
        }
        Gather(inputs, columns, steps, offsets, b, w);
        _tape.Append(w, _inputs.AsSpan(0, w * s), default);
        for (int i = 0; i < s; i++) _targets[i] = targets[Index(offsets[i], b + w - 1, columns, steps)];

        if (weights) p.ZeroGrad();
        // Loss of the last step only, unscaled: each sample's state gradient is its own ∂L_W/∂h. φ needs state
        // gradients only; the parameter gradients (decoder's included) are computed when a measured bias asks for them.
        _tape.Loss(1, w, _targets, default, T.One, weights);
        _tape.Backward(w, _stateGrads, lags, k => p.Grad.CopyTo(_snapshots[Array.IndexOf(lags, k)], 0), weights);
        if (weights)
        {
            p.Grad.CopyTo(_fullGrad, 0);
            _savedGrad.CopyTo(p.Grad, 0);
        }

        var results = new ProbeResult[_groups];
        for (int g = 0; g < _groups; g++)
        {
            var (phi, mean) = Profile(g);
            results[g] = new ProbeResult(phi, mean, offsets[(g * _options.Samples)..((g + 1) * _options.Samples)], g == 0 ? MeasuredBias(lags) : []);
        }
        return results;
    }

    /// <summary>(K, ‖ĝ_K − ĝ_W‖/‖ĝ_W‖) for each lag of the grid, from the snapshots of the last run.</summary>
    private List<(int, double)> MeasuredBias(int[] lags)
    {
        var bias = new List<(int, double)>();
        double fullNorm = Optimizers.GradientClipping.Norm<T>(_fullGrad);
        for (int i = 0; i < lags.Length; i++)
        {
            double d = 0;
            for (int j = 0; j < _fullGrad.Length; j++) { double e = double.CreateTruncating(_snapshots[i][j] - _fullGrad[j]); d += e * e; }
            bias.Add((lags[i], fullNorm > 0 ? Math.Sqrt(d) / fullNorm : double.PositiveInfinity));
        }
        return bias;
    }

    /// <summary>Rows [from, from+n) of the sample windows, step-major, into the input buffer.</summary>
    private void Gather(ReadOnlySpan<int> inputs, int columns, int steps, int[] offsets, int from, int n)
    {
        int s = offsets.Length;
        for (int t = 0; t < n; t++)
            for (int i = 0; i < s; i++)
                _inputs[t * s + i] = inputs[Index(offsets[i], from + t, columns, steps)];
    }

    /// <summary>Where step <paramref name="t"/> of the sample starting at <paramref name="offset"/> sits in a step-major stream.</summary>
    private static int Index(int offset, int t, int columns, int steps) => (offset % steps + t) * columns + offset / steps;

    /// <summary>φ and ḡ of group <paramref name="g"/> (batch rows [g·S, (g+1)·S)) from the recorded state gradients.
    /// Lag k ≥ 1 is row W−k of each layer's buffer (the gradient step W−k passes back to the state it read); lag 0
    /// is the decoder's gradient on the top h.</summary>
    private (double[,] Phi, double[][] Mean) Profile(int g)
    {
        int w = _options.Window, s = _options.Samples, rows = s * _groups, hd = _model.Config.HiddenSize;
        var phi = _phi[g];
        var mean = _mean[g];
        var layers = _tape.Layers;
        for (int k = 0; k < w; k++)
        {
            var m = mean[k];
            Array.Clear(m);
            for (int i = 0; i < s; i++)
            {
                double sq = 0;
                int o = 0;
                for (int l = 0; l < layers.Count; l++)
                {
                    int width = layers[l].StateWidth;
                    int row = g * s + i;
                    ReadOnlySpan<T> v = k == 0
                        ? (l == layers.Count - 1 ? layers[l].DHin.AsSpan(((_tape.Stored - 1) * rows + row) * hd, hd) : default)
                        : _stateGrads[l].AsSpan(((w - k) * rows + row) * width, width);
                    // In double, as before: the squares summed in order (φ bit for bit), then x / S added to the
                    // mean element-wise with SIMD (each element's operations, so each result, unchanged).
                    var x = _row.AsSpan(0, v.Length);
                    TensorPrimitives.ConvertTruncating<T, double>(v, x);
                    for (int j = 0; j < x.Length; j++) sq += x[j] * x[j];
                    TensorPrimitives.Divide(x, s, x);
                    TensorPrimitives.Add(m.AsSpan(o, x.Length), x, m.AsSpan(o, x.Length));
                    o += width;
                }
                phi[k, i] = Math.Sqrt(sq);
            }
        }
        return (phi, mean);
    }
}
