using System.Numerics;
using System.Numerics.Tensors;
using Tbptt.Models;
using Tbptt.Numerics;

namespace Tbptt.Engine;

/// <summary>
/// The activations of a model over a window of stored steps: input, every layer's tape, decoder. It appends
/// steps (forward), computes the loss of the newest steps with its decoder gradient, and backpropagates over
/// the newest steps of the window. Buffers grow only when the capacity grows; steady state allocates nothing.
/// </summary>
public sealed partial class StackTape<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly SequenceModel<T> _model;
    private readonly RecurrentLayer<T>[] _layers;
    private T[] _x0 = [];     // [cap, B, In0] first layer's input (gathered embeddings or raw vectors)
    private T[] _dx0 = [];    // [cap, B, In0] its gradient (token input only: feeds the embedding)
    private int[] _tokens = []; // [cap, B] token ids, for the embedding gradient
    private T[] _logits = []; // [cap, B, O] decoder outputs, then their gradients
    private readonly DropoutSites<T>? _dropout; // null when the model has no dropout

    /// <summary>An empty tape for <paramref name="model"/> at batch <paramref name="batch"/>, with room for <paramref name="capacity"/> steps (it grows on demand).</summary>
    public StackTape(SequenceModel<T> model, int batch, int capacity)
    {
        if (batch < 1) throw new ArgumentOutOfRangeException(nameof(batch), batch, "batch must be at least 1.");
        _model = model;
        Batch = batch;
        var c = model.Config;
        _layers = new RecurrentLayer<T>[c.Layers];
        for (int l = 0; l < c.Layers; l++) _layers[l] = RecurrentLayer<T>.Create(c, model.Layers[l], l, batch);
        if (c.Dropout > 0)
            _dropout = new DropoutSites<T>(c.Dropout, batch,
                [c.FirstLayerInputSize, .. Enumerable.Repeat(c.HiddenSize, c.Layers)]);
        EnsureCapacity(Math.Max(1, capacity));
    }

    /// <summary>
    /// Training mode applies the model's dropout; evaluation mode (false) runs the network as is. Set it while
    /// the tape holds no steps: a window's forward and backward must see the same masks.
    /// </summary>
    public bool Training { get; set; } = true;

    /// <summary>The generator of dropout masks; part of a run's state, so a resumed run draws the same masks.</summary>
    public SeededRandom DropoutRandom { get; set; } = new(0);

    private bool Dropping => _dropout is not null && Training;

    /// <summary>Batch rows B: independent streams advanced side by side.</summary>
    public int Batch { get; }
    /// <summary>Steps the buffers hold without growing.</summary>
    public int Capacity { get; private set; }
    /// <summary>Steps held on the tape; the state after them is the carried state.</summary>
    public int Stored { get; private set; }
    internal IReadOnlyList<RecurrentLayer<T>> Layers => _layers;
    private int In0 => _model.Config.FirstLayerInputSize;
    private int Out => _model.Config.OutputSize;

    /// <summary>Grows every buffer to hold <paramref name="capacity"/> steps (never shrinks; stored steps are kept).</summary>
    public void EnsureCapacity(int capacity)
    {
        if (capacity <= Capacity) return;
        foreach (var l in _layers) l.EnsureCapacity(capacity);
        _x0 = TapeArrays.Grow(_x0, capacity * Batch * In0);
        if (_model.Config.Input == InputKind.Tokens)
        {
            _dx0 = TapeArrays.Grow(_dx0, capacity * Batch * In0);
            _tokens = TapeArrays.Grow(_tokens, capacity * Batch);
        }
        _logits = TapeArrays.Grow(_logits, capacity * Batch * Out);
        _dropout?.EnsureCapacity(capacity);
        Capacity = capacity;
    }


    /// <summary>Forgets the stored steps and sets the carried state to zero (a new sequence).</summary>
    public void ResetState()
    {
        Stored = 0;
        foreach (var l in _layers) l.ResetState();
    }

    /// <summary>Keeps the newest <paramref name="count"/> steps (and the state before them) at the front.</summary>
    public void Retain(int count)
    {
        if (count < 0 || count > Stored)
            throw new ArgumentOutOfRangeException(nameof(count), count, $"can keep 0..{Stored} steps.");
        if (count == Stored && Stored == 0) return;
        foreach (var l in _layers) l.Retain(Stored, count);
        int from = Stored - count;
        _x0.AsSpan(from * Batch * In0, count * Batch * In0).CopyTo(_x0);
        if (_tokens.Length > 0) _tokens.AsSpan(from * Batch, count * Batch).CopyTo(_tokens);
        _dropout?.Retain(Stored, count);
        Stored = count;
    }

    /// <summary>Runs <paramref name="n"/> more steps forward. Inputs: token ids [n, B], or vectors [n, B, In].</summary>
    public void Append(int n, ReadOnlySpan<int> tokens, ReadOnlySpan<T> vectors)
    {
        using var flush = Denormals.FlushToZero();
        if (Stored + n > Capacity)
            throw new InvalidOperationException($"tape holds {Stored} of {Capacity} steps; cannot append {n}.");
        int s0 = Stored, in0 = In0;
        var x0 = _x0.AsSpan(s0 * Batch * in0, n * Batch * in0);
        if (_model.Config.Input == InputKind.Tokens)
        {
            if (tokens.Length != n * Batch)
                throw new ArgumentException($"expected {n}×{Batch} = {n * Batch} input tokens, got {tokens.Length}.", nameof(tokens));
            var emb = _model.Parameters.Values(_model.Embedding!);
            int vocab = _model.Config.InputSize;
            for (int r = 0; r < tokens.Length; r++)
            {
                int id = tokens[r];
                if ((uint)id >= (uint)vocab)
                    throw new ArgumentOutOfRangeException(nameof(tokens), id, $"token id must be in [0, {vocab}).");
                emb.Slice(id * in0, in0).CopyTo(x0.Slice(r * in0, in0));
            }
            tokens.CopyTo(_tokens.AsSpan(s0 * Batch));
        }
        else
        {
            if (vectors.Length != n * Batch * in0)
                throw new ArgumentException($"expected {n}×{Batch}×{in0} = {n * Batch * in0} input values, got {vectors.Length}.", nameof(vectors));
            vectors.CopyTo(x0);
        }
        var p = _model.Parameters;
        int bh = Batch * _model.Config.HiddenSize;
        if (Dropping) _dropout!.ForwardInPlace(0, x0, s0, n, DropoutRandom);
        for (int l = 0; l < _layers.Length; l++)
        {
            _layers[l].Forward(LayerInput(l), s0, n, p);
            if (Dropping) _dropout!.Forward(l + 1, _layers[l].H.AsSpan((s0 + 1) * bh, n * bh), s0, n, DropoutRandom);
        }
        Stored += n;
    }

    /// <summary>
    /// What layer l reads, [cap, B, In_l]: the (masked) first input, or the outputs of layer l−1 — its H from
    /// slot 1 on, or their masked copy under dropout.
    /// </summary>
    private ReadOnlySpan<T> LayerInput(int l) =>
        l == 0 ? _x0 : Dropping ? _dropout!.Output(l) : _layers[l - 1].H.AsSpan(Batch * _model.Config.HiddenSize);

    /// <summary>The decoder's input for <paramref name="rows"/> rows from step <paramref name="first"/>.</summary>
    private ReadOnlySpan<T> DecoderInput(int first, int rows)
    {
        int hd = _model.Config.HiddenSize;
        return Dropping
            ? _dropout!.Output(_layers.Length).AsSpan(first * Batch * hd, rows * hd)
            : _layers[^1].H.AsSpan((first + 1) * Batch * hd, rows * hd);
    }

    /// <summary>
    /// Loss of the newest <paramref name="lossSteps"/> steps through the decoder, its gradient (times
    /// <paramref name="scale"/>) accumulated into the decoder parameters, and ∂/∂h of the top layer written
    /// for the newest <paramref name="window"/> steps (zero where a step has no loss). Returns the loss sum.
    /// </summary>
    /// <param name="weights">False: the decoder's parameter gradients are not accumulated (a probe's state
    /// gradients need only ∂/∂h), and nothing is written to the gradient buffer.</param>
    public double Loss(int lossSteps, int window, ReadOnlySpan<int> targetTokens, ReadOnlySpan<T> targetVectors, T scale, bool weights = true)
    {
        using var flush = Denormals.FlushToZero();
        var c = _model.Config;
        var p = _model.Parameters;
        int hd = c.HiddenSize, o = Out, rows = lossSteps * Batch;
        int first = Stored - lossSteps; // first loss step
        var top = _layers[^1];
        var hTop = DecoderInput(first, rows);
        var z = _logits.AsSpan(0, rows * o);
        // z (rows × O) = H_top (rows × Hd) · W_decᵀ + b, the whole window in one product
        for (int r = 0; r < rows; r++) p.Values(_model.DecoderBias).CopyTo(z.Slice(r * o, o));
        Blas.Gemm(false, true, rows, o, hd, T.One, hTop, hd, p.Values(_model.DecoderWeight), hd, T.One, z, o);
        double loss = c.Loss switch
        {
            LossKind.CrossEntropy => Losses.SoftmaxCrossEntropy(z, o, CheckTargets(targetTokens, rows), scale),
            _ => Losses.SquaredError(z, targetVectors, c.Loss == LossKind.SigmoidSquaredError, scale),
        };
        if (weights)
        {
            // dW_dec (O × Hd) += dzᵀ · H_top; db_dec += Σ_rows dz
            Blas.Gemm(true, false, o, hd, rows, T.One, z, o, hTop, hd, T.One, p.Gradient(_model.DecoderWeight), hd);
            var db = p.Gradient(_model.DecoderBias);
            for (int r = 0; r < rows; r++) TensorPrimitives.Add(db, z.Slice(r * o, o), db);
        }
        // ∂L/∂h_top for window steps: zero, then dz · W_dec where the step has a loss and lies in the window
        int w0 = Stored - window, from = Math.Max(first, w0);
        top.DHin.AsSpan(w0 * Batch * hd, (from - w0) * Batch * hd).Clear();
        if (from < Stored)
        {
            int n = Stored - from;
            Blas.Gemm(false, false, n * Batch, hd, o, T.One, z.Slice((from - first) * Batch * o, n * Batch * o), o,
                p.Values(_model.DecoderWeight), hd, T.Zero, top.DHin.AsSpan(from * Batch * hd, n * Batch * hd), hd);
            if (Dropping) _dropout!.Backward(_layers.Length, top.DHin, from, n);
        }
        return loss;
    }

    /// <summary>
    /// Cross-entropy of the newest <paramref name="lossSteps"/> steps without touching any gradient (forward with
    /// the state carried, no backward): the reference the forward-only <c>Evaluator</c> is tested against. Returns the loss sum.
    /// </summary>
    public double EvaluateLoss(int lossSteps, ReadOnlySpan<int> targetTokens)
    {
        using var flush = Denormals.FlushToZero();
        var p = _model.Parameters;
        int hd = _model.Config.HiddenSize, o = Out, rows = lossSteps * Batch, first = Stored - lossSteps;
        var z = _logits.AsSpan(0, rows * o);
        for (int r = 0; r < rows; r++) p.Values(_model.DecoderBias).CopyTo(z.Slice(r * o, o));
        Blas.Gemm(false, true, rows, o, hd, T.One, DecoderInput(first, rows), hd, p.Values(_model.DecoderWeight), hd, T.One, z, o);
        return Losses.SoftmaxCrossEntropy(z, o, CheckTargets(targetTokens, rows), T.Zero);
    }

    /// <summary>Decoder outputs (logits) of the newest step for every batch row, [B, O], e.g. for sampling.</summary>
    public void LastLogits(Span<T> logits)
    {
        using var flush = Denormals.FlushToZero();
        var p = _model.Parameters;
        int hd = _model.Config.HiddenSize, o = Out;
        for (int r = 0; r < Batch; r++) p.Values(_model.DecoderBias).CopyTo(logits.Slice(r * o, o));
        Blas.Gemm(false, true, Batch, o, hd, T.One, _layers[^1].H.AsSpan(Stored * Batch * hd, Batch * hd), hd,
            p.Values(_model.DecoderWeight), hd, T.One, logits, o);
    }

    private ReadOnlySpan<int> CheckTargets(ReadOnlySpan<int> targets, int rows)
    {
        if (targets.Length != rows)
            throw new ArgumentException($"expected {rows} target tokens, got {targets.Length}.", nameof(targets));
        return targets;
    }

    /// <summary>
    /// Backpropagates over the newest <paramref name="window"/> steps (the state before them is constant),
    /// layer by layer from the top: each layer's dX is the next lower layer's incoming gradient.
    /// </summary>
    /// <param name="stateGrads">Null, or one [window, B, StateWidth] buffer per layer (see
    /// <see cref="RecurrentLayer{T}.BackwardThroughTime"/>).</param>
    /// <param name="snapshotLags">Ascending lags K (1 ≤ K ≤ window). Weight gradients are then accumulated newest
    /// steps first, and after the steps of the newest K lags are in, <paramref name="snapshot"/>(K) is called:
    /// the gradient buffer then holds the K-truncated gradient ĝ_K (decoder terms included). One backward pass
    /// serves every K.</param>
    /// <param name="weights">False: state gradients only, no weight or embedding gradient (a φ table needs none;
    /// it is most of the backward's matrix products). Then no snapshot lags may be asked for.</param>
    public void Backward(int window, IReadOnlyList<T[]>? stateGrads = null,
        ReadOnlySpan<int> snapshotLags = default, Action<int>? snapshot = null, bool weights = true)
    {
        if (window < 1 || window > Stored)
            throw new ArgumentOutOfRangeException(nameof(window), window, $"window must be in [1, {Stored}].");
        using var flush = Denormals.FlushToZero();
        var c = _model.Config;
        var p = _model.Parameters;
        int w0 = Stored - window;
        bool tokens = c.Input == InputKind.Tokens;
        for (int l = _layers.Length - 1; l >= 0; l--)
        {
            var sg = stateGrads is null ? Span<T>.Empty : stateGrads[l].AsSpan(0, window * Batch * _layers[l].StateWidth);
            _layers[l].BackwardThroughTime(w0, window, p, sg);
            var dx = l > 0 ? _layers[l - 1].DHin : tokens && weights ? _dx0 : null; // _dx0 feeds the embedding gradient only
            if (dx is null) continue;
            _layers[l].InputGradient(dx, w0, window, p);
            if (Dropping) _dropout!.Backward(l, dx, w0, window);
        }
        if (!weights)
        {
            if (!snapshotLags.IsEmpty) throw new ArgumentException("snapshots of ĝ_K need the weight gradients.", nameof(snapshotLags));
            return;
        }
        int done = 0; // lags whose weight gradients are accumulated
        foreach (int k in snapshotLags)
        {
            if (k <= done || k > window)
                throw new ArgumentOutOfRangeException(nameof(snapshotLags), k, $"lags must ascend within [1, {window}].");
            AccumulateWeights(Stored - k, k - done);
            done = k;
            snapshot?.Invoke(k);
        }
        if (done < window) AccumulateWeights(w0, window - done);
    }

    /// <summary>Weight (and embedding) gradients of steps [from, from+n) for every layer.</summary>
    private void AccumulateWeights(int from, int n)
    {
        var p = _model.Parameters;
        for (int l = 0; l < _layers.Length; l++)
            _layers[l].WeightGradients(LayerInput(l), from, n, p);
        if (_model.Config.Input != InputKind.Tokens) return;
        // Embedding gradient: scatter-add each step's dX row into its token's row.
        var dEmb = p.Gradient(_model.Embedding!);
        int in0 = In0;
        for (int r = from * Batch; r < (from + n) * Batch; r++)
        {
            var row = dEmb.Slice(_tokens[r] * in0, in0);
            TensorPrimitives.Add(row, _dx0.AsSpan(r * in0, in0), row);
        }
    }
}
