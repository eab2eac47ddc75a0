using Tbptt.Engine;
using Tbptt.Models;

namespace Tbptt.Training;

/// <summary>Forward-only evaluation of a token model.</summary>
public static class Evaluation
{
    /// <summary>
    /// Mean cross-entropy per scored token (target ≥ 0) over a whole stream: forward only, no dropout, the state
    /// carried across chunks of at most <paramref name="chunk"/> steps (the chunk length bounds memory, it does not
    /// change the result).
    /// </summary>
    public static double MeanLoss(SequenceModel<float> model, TokenStream stream, int chunk = 200) =>
        new Evaluator(model, [stream], chunk).MeanLosses()[0];
}

/// <summary>
/// Evaluates one token stream, or several side by side as ONE batch (validation and test of a model, say), forward
/// only. In evaluation the batch columns never meet (no dropout, each column its own state, row-wise kernels, and
/// GEMMs that never split a row's sum), so each stream's loss is what it would be alone; the wider batch is what
/// makes it cheaper: the per-step recurrent GEMM reads the weights once for all columns. Streams shorter than the
/// longest are padded (inputs 0, no loss). A target of −1 is not scored (padding, or a column's warm-up context):
/// a stream's mean is over its scored targets.
/// </summary>
/// <remarks>
/// Nothing is kept for a backward pass: no tape, no gradient buffer, no per-step gates or cell states beyond the
/// step being computed (<see cref="RecurrentLayer{T}.Infer"/>). A chunk of steps goes through the stack layer by
/// layer — the input projections of a layer over the chunk are one GEMM — and the decoder and log-softmax run
/// over the whole chunk at once: one [n·ΣB × Hd]·[Hd × V] product. The chunk is as long as
/// <see cref="MaxChunkFloats"/> allows (at most the trainer's <c>EvalChunk</c>); every buffer is kept from
/// round to round, so evaluation allocates nothing after the first.
/// </remarks>
internal sealed class Evaluator
{
    /// <summary>Floats of the chunk buffers (inputs, gates, every layer's outputs, logits): 16 MB, so they stay near the cache.</summary>
    public const int MaxChunkFloats = 1 << 22;

    private readonly SequenceModel<float> _model;
    private readonly TokenStream[] _streams;
    private readonly int[] _first;              // first batch column of each stream
    private readonly int _steps, _chunk, _width;
    private readonly RecurrentLayer<float>[] _layers;
    private readonly float[] _x0;               // [chunk, ΣB, In0] embedded inputs
    private readonly float[] _gates;            // [chunk, ΣB, G·Hd] one layer's gates at a time
    private readonly float[][] _h;              // per layer [(chunk+1), ΣB, Hd]; slot 0 is the carried state
    private readonly float[][] _cell;           // per layer [ΣB, Hd] an LSTM's carried c (empty otherwise)
    private readonly float[] _logits;           // [chunk, ΣB, O]
    private readonly int[] _inputs, _targets;   // [chunk, ΣB] one chunk, the streams' columns side by side
    private readonly double[] _columnLoss;      // [ΣB]
    private readonly long[] _scored;            // per stream: targets that count (not −1)

    public Evaluator(SequenceModel<float> model, IReadOnlyList<TokenStream> streams, int chunk)
    {
        if (streams.Count == 0) throw new ArgumentException("nothing to evaluate: no stream given.", nameof(streams));
        var c = model.Config;
        if (c.Input != InputKind.Tokens || c.Loss != LossKind.CrossEntropy)
            throw new NotSupportedException("evaluation reads token streams: it needs a token-input, cross-entropy model.");
        _model = model;
        _streams = [.. streams];
        _first = new int[_streams.Length];
        for (int i = 0; i < _streams.Length; i++) { _first[i] = _width; _width += _streams[i].Batch; }
        _steps = _streams.Max(s => s.Steps);
        int hd = c.HiddenSize, perStep = _width * (c.FirstLayerInputSize + c.GateCount * hd + c.Layers * hd + c.OutputSize);
        _chunk = Math.Max(1, Math.Min(Math.Min(chunk, _steps), MaxChunkFloats / perStep));
        _layers = new RecurrentLayer<float>[c.Layers];
        for (int l = 0; l < c.Layers; l++) _layers[l] = RecurrentLayer<float>.Create(c, model.Layers[l], l, _width);
        _x0 = new float[_chunk * _width * c.FirstLayerInputSize];
        _gates = new float[_chunk * _width * c.GateCount * hd];
        _h = _layers.Select(_ => new float[(_chunk + 1) * _width * hd]).ToArray();
        _cell = _layers.Select(_ => c.Cell == CellKind.Lstm ? new float[_width * hd] : []).ToArray();
        _logits = new float[_chunk * _width * c.OutputSize];
        _inputs = new int[_chunk * _width];
        _targets = new int[_chunk * _width];
        _columnLoss = new double[_width];
        _scored = _streams.Select(s => Scored(s.Targets)).ToArray();
        for (int i = 0; i < _streams.Length; i++)
            if (_scored[i] == 0) throw new ArgumentException($"stream {i} has no scored target.", nameof(streams));
    }

    /// <summary>Targets that count: every one but the negative (AddLosses skips those).</summary>
    private static long Scored(ReadOnlySpan<int> targets)
    {
        long n = 0;
        foreach (int y in targets) if (y >= 0) n++;
        return n;
    }

    /// <summary>Steps per chunk actually used (memory bound; the result does not depend on it).</summary>
    public int Chunk => _chunk;

    /// <summary>Mean cross-entropy per scored token of each stream at the model's current parameters.</summary>
    public double[] MeanLosses()
    {
        using var flush = Numerics.Denormals.FlushToZero();
        int bh = _width * _model.Config.HiddenSize;
        foreach (var h in _h) h.AsSpan(0, bh).Clear();
        foreach (var c in _cell) Array.Clear(c);
        Array.Clear(_columnLoss);
        for (int t = 0; t < _steps; t += _chunk)
        {
            int n = Math.Min(_chunk, _steps - t);
            Gather(t, n);
            Forward(n);
            AddLosses(n);
            foreach (var h in _h) h.AsSpan(n * bh, bh).CopyTo(h); // the state after the chunk carries into the next
        }
        var means = new double[_streams.Length];
        for (int i = 0; i < _streams.Length; i++)
        {
            var s = _streams[i];
            double sum = 0;
            for (int b = 0; b < s.Batch; b++) sum += _columnLoss[_first[i] + b];
            means[i] = sum / _scored[i];
        }
        return means;
    }

    /// <summary>n steps of the chunk through the embedding and every layer: the top layer's outputs land in _h[^1][1..n].</summary>
    private void Forward(int n)
    {
        var c = _model.Config;
        var p = _model.Parameters;
        int in0 = c.FirstLayerInputSize, vocab = c.InputSize, hd = c.HiddenSize;
        var emb = p.Values(_model.Embedding!);
        var x0 = _x0.AsSpan(0, n * _width * in0);
        for (int r = 0; r < n * _width; r++)
        {
            int id = _inputs[r];
            if ((uint)id >= (uint)vocab) throw new ArgumentOutOfRangeException("tokens", id, $"token id must be in [0, {vocab}).");
            emb.Slice(id * in0, in0).CopyTo(x0.Slice(r * in0, in0));
        }
        for (int l = 0; l < _layers.Length; l++)
        {
            ReadOnlySpan<float> x = l == 0 ? x0 : _h[l - 1].AsSpan(_width * hd, n * _width * hd);
            _layers[l].Infer(x, n, p, _gates, _h[l].AsSpan(0, (n + 1) * _width * hd), _cell[l]);
        }
    }

    /// <summary>
    /// The decoder and log-softmax over all n·ΣB rows of the chunk at once — z = H_top · W_decᵀ + b — and each row's
    /// cross-entropy added to its column (the tape's evaluation, operation for operation). A target of −1 marks a
    /// padding row.
    /// </summary>
    private void AddLosses(int n)
    {
        var p = _model.Parameters;
        int hd = _model.Config.HiddenSize, o = _model.Config.OutputSize, rows = n * _width;
        var z = _logits.AsSpan(0, rows * o);
        var bias = p.Values(_model.DecoderBias);
        for (int r = 0; r < rows; r++) bias.CopyTo(z.Slice(r * o, o));
        Numerics.Blas.Gemm(false, true, rows, o, hd, 1f, _h[^1].AsSpan(_width * hd, rows * hd), hd,
            p.Values(_model.DecoderWeight), hd, 1f, z, o);
        for (int r = 0; r < rows; r++)
            if (_targets[r] >= 0) _columnLoss[r % _width] += Losses.CrossEntropy(z.Slice(r * o, o), _targets[r]);
    }

    /// <summary>Steps [t, t+n) of every stream into the chunk buffers, [n, ΣB]; past a stream's end: input 0, target −1.</summary>
    private void Gather(int t, int n)
    {
        for (int i = 0; i < _streams.Length; i++)
        {
            var s = _streams[i];
            int b = s.Batch, live = Math.Clamp(s.Steps - t, 0, n);
            for (int j = 0; j < n; j++)
            {
                var inRow = _inputs.AsSpan(j * _width + _first[i], b);
                var outRow = _targets.AsSpan(j * _width + _first[i], b);
                if (j < live)
                {
                    s.Inputs.Slice((t + j) * b, b).CopyTo(inRow);
                    s.Targets.Slice((t + j) * b, b).CopyTo(outRow);
                }
                else { inRow.Clear(); outRow.Fill(-1); }
            }
        }
    }
}
