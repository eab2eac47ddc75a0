using System.Runtime.CompilerServices;
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
/// over the whole chunk at once: one [n·B × Hd]·[Hd × V] product. Two things make a step cheaper than training's
/// forward:
/// <list type="bullet">
/// <item>The first layer's input projection is a lookup: without dropout a token's embedding is always the same
/// row, so E·W_ihᵀ is computed once per evaluation ([V, G·Hd], the same product on the embedding's rows) and each
/// step copies its tokens' rows — when the vocabulary is no larger than a chunk's rows, so the table costs no more
/// memory or arithmetic than one chunk's projection.</item>
/// <item>The columns are cut into lanes, one per GEMM thread, each running the whole stream on its own columns
/// with its own layers and buffers and single-threaded products (<see cref="Numerics.GemmThreads"/> runs a nested
/// call serially): no hand-off between threads at every step, and the cells' nonlinearities run in parallel too.</item>
/// </list>
/// Neither changes a number on the managed kernel, whose products never split a row's sum: each row's sums are the
/// ones the tape computes (a native BLAS may round a narrower or a table-sized product differently, by float
/// rounding). The chunk is as long as
/// <see cref="MaxChunkFloats"/> allows (at most the trainer's <c>EvalChunk</c>); every buffer is kept from
/// round to round, so evaluation allocates nothing after the first.
/// </remarks>
internal sealed class Evaluator
{
    /// <summary>Floats of the chunk buffers (inputs, gates, every layer's outputs, logits): 16 MB, so they stay near the cache.</summary>
    public const int MaxChunkFloats = 1 << 22;

    /// <summary>Fewest columns a lane is given: below two microkernel tiles of rows a lane's products idle.</summary>
    public const int MinLaneColumns = 12;

    private readonly SequenceModel<float> _model;
    private readonly TokenStream[] _streams;
    private readonly int[] _first;              // first batch column of each stream
    private readonly int _steps, _chunk, _width;
    private readonly Lane[] _lanes;
    private readonly float[] _table;            // [V, G·Hd] the first layer's input projection of every token; empty: per chunk
    private readonly double[] _columnLoss;      // [ΣB]
    private readonly long[] _scored;            // per stream: targets that count (not −1)

    /// <param name="lanes">Column lanes run in parallel: 0 chooses (one per GEMM thread of the managed kernel or the AMX
    /// tiles, at least <see cref="MinLaneColumns"/> columns each; one on a native BLAS, which threads its own products). Another
    /// count is taken as it is, up to one lane per column (tests and benchmarks: the thread team grows to it).</param>
    /// <param name="tokenTable">Look the first layer's input projections up (the default; false projects every chunk).</param>
    public Evaluator(SequenceModel<float> model, IReadOnlyList<TokenStream> streams, int chunk, int lanes = 0, bool tokenTable = true)
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
        if (lanes <= 0)
            lanes = Numerics.Blas.Active switch
            {
                Numerics.ManagedBlas m => Math.Min(m.MaxThreads, _width / MinLaneColumns),
                Numerics.AmxBlas a => Math.Min(a.MaxThreads, _width / MinLaneColumns), // 0.22 of training per character against 0.31 in one lane
                _ => 1, // a native BLAS threads its own products
            };
        lanes = Math.Clamp(lanes, 1, _width);
        _table = tokenTable && c.InputSize <= _chunk * _width ? new float[c.InputSize * c.GateCount * hd] : [];
        _lanes = new Lane[lanes];
        for (int i = 0; i < lanes; i++)
        {
            int c0 = (int)((long)_width * i / lanes), c1 = (int)((long)_width * (i + 1) / lanes);
            _lanes[i] = new Lane(this, c0, c1 - c0);
        }
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

    /// <summary>Column lanes run in parallel (the result does not depend on them).</summary>
    public int Lanes => _lanes.Length;

    /// <summary>Whether the first layer's input projections are looked up (the result does not depend on it).</summary>
    public bool UsesTokenTable => _table.Length > 0;

    /// <summary>Mean cross-entropy per scored token of each stream at the model's current parameters, on the calling
    /// thread's backend (a run's matmul precision included; the lane count was fixed at construction).</summary>
    public unsafe double[] MeanLosses()
    {
        using var flush = Numerics.Denormals.FlushToZero();
        Array.Clear(_columnLoss);
        if (_table.Length > 0)
            _lanes[0].Layers[0].ProjectInputs(_model.Parameters.Values(_model.Embedding!), _model.Config.InputSize, _model.Parameters, _table);
        // With the team, each lane's own products run on the lane's thread (GemmThreads' nesting rule); if another
        // thread holds the team, the lanes run one after another here and their products may take it when it frees.
        var self = this;
        Numerics.GemmThreads.Run(_lanes.Length, &RunLane, Unsafe.AsPointer(ref self));
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

    /// <summary>GemmThreads' body: lane i of the evaluator whose reference <paramref name="context"/> points at.</summary>
    private static unsafe void RunLane(void* context, int i) => Unsafe.AsRef<Evaluator>(context)._lanes[i].Run();

    /// <summary>
    /// Columns [C0, C0 + Width) of the batch through every chunk of the streams: its own layers (batch = Width),
    /// chunk buffers and carried state, so lanes share nothing they write but their own columns' losses.
    /// </summary>
    private sealed class Lane
    {
        private readonly Evaluator _e;
        private readonly int _c0, _width;
        public readonly RecurrentLayer<float>[] Layers;
        private readonly float[] _x0;               // [chunk, B, In0] embedded inputs (empty with the token table)
        private readonly float[] _gates;            // [chunk, B, G·Hd] one layer's gates at a time
        private readonly float[][] _h;              // per layer [(chunk+1), B, Hd]; slot 0 is the carried state
        private readonly float[][] _cell;           // per layer [B, Hd] an LSTM's carried c (empty otherwise)
        private readonly float[] _logits;           // [chunk, B, O]
        private readonly int[] _inputs, _targets;   // [chunk, B] one chunk of the lane's columns

        public Lane(Evaluator e, int c0, int width)
        {
            var c = e._model.Config;
            int chunk = e._chunk, hd = c.HiddenSize;
            (_e, _c0, _width) = (e, c0, width);
            Layers = new RecurrentLayer<float>[c.Layers];
            for (int l = 0; l < c.Layers; l++) Layers[l] = RecurrentLayer<float>.Create(c, e._model.Layers[l], l, width);
            _x0 = e._table.Length > 0 ? [] : new float[chunk * width * c.FirstLayerInputSize];
            _gates = new float[chunk * width * c.GateCount * hd];
            _h = Layers.Select(_ => new float[(chunk + 1) * width * hd]).ToArray();
            _cell = Layers.Select(_ => c.Cell == CellKind.Lstm ? new float[width * hd] : []).ToArray();
            _logits = new float[chunk * width * c.OutputSize];
            _inputs = new int[chunk * width];
            _targets = new int[chunk * width];
        }

        public void Run()
        {
            int bh = _width * _e._model.Config.HiddenSize;
            foreach (var h in _h) h.AsSpan(0, bh).Clear();
            foreach (var c in _cell) Array.Clear(c);
            for (int t = 0; t < _e._steps; t += _e._chunk)
            {
                int n = Math.Min(_e._chunk, _e._steps - t);
                Gather(t, n);
                Forward(n);
                AddLosses(n);
                foreach (var h in _h) h.AsSpan(n * bh, bh).CopyTo(h); // the state after the chunk carries into the next
            }
        }

        /// <summary>n steps of the chunk through the first layer's input side and every layer: the top layer's outputs land in _h[^1][1..n].</summary>
        private void Forward(int n)
        {
            var c = _e._model.Config;
            var p = _e._model.Parameters;
            int in0 = c.FirstLayerInputSize, vocab = c.InputSize, hd = c.HiddenSize, rows = n * _width;
            var first = Layers[0];
            var h0 = _h[0].AsSpan(0, (n + 1) * _width * hd);
            // Each row's input side is its token's row of the table; without the table, its embedding, projected by Infer.
            var table = _e._table;
            bool lookUp = table.Length > 0;
            int rowWidth = lookUp ? first.GateWidth : in0;
            var rowsFrom = lookUp ? table : p.Values(_e._model.Embedding!);
            var rowsTo = lookUp ? first.Projections(n, _gates, h0) : _x0.AsSpan(0, rows * in0);
            for (int r = 0; r < rows; r++)
            {
                int id = _inputs[r];
                if ((uint)id >= (uint)vocab) throw new ArgumentOutOfRangeException("tokens", id, $"token id must be in [0, {vocab}).");
                rowsFrom.Slice(id * rowWidth, rowWidth).CopyTo(rowsTo.Slice(r * rowWidth, rowWidth));
            }
            if (lookUp) first.InferProjected(n, p, _gates, h0, _cell[0]);
            else first.Infer(rowsTo, n, p, _gates, h0, _cell[0]);
            for (int l = 1; l < Layers.Length; l++)
                Layers[l].Infer(_h[l - 1].AsSpan(_width * hd, rows * hd), n, p, _gates, _h[l].AsSpan(0, (n + 1) * _width * hd), _cell[l]);
        }

        /// <summary>
        /// The decoder and log-softmax over all n·B rows of the chunk at once — z = H_top · W_decᵀ + b — and each row's
        /// cross-entropy added to its column (the tape's evaluation, operation for operation). A target of −1 marks a
        /// padding row.
        /// </summary>
        private void AddLosses(int n)
        {
            var p = _e._model.Parameters;
            int hd = _e._model.Config.HiddenSize, o = _e._model.Config.OutputSize, rows = n * _width;
            var z = _logits.AsSpan(0, rows * o);
            var bias = p.Values(_e._model.DecoderBias);
            for (int r = 0; r < rows; r++) bias.CopyTo(z.Slice(r * o, o));
            Numerics.Blas.Gemm(false, true, rows, o, hd, 1f, _h[^1].AsSpan(_width * hd, rows * hd), hd,
                p.Values(_e._model.DecoderWeight), hd, 1f, z, o);
            var loss = _e._columnLoss.AsSpan(_c0, _width);
            for (int r = 0; r < rows; r++)
                if (_targets[r] >= 0) loss[r % _width] += Losses.CrossEntropy(z.Slice(r * o, o), _targets[r]);
        }

        /// <summary>Steps [t, t+n) of the lane's columns into the chunk buffers, [n, B]; past a stream's end: input 0, target −1.</summary>
        private void Gather(int t, int n)
        {
            for (int i = 0; i < _e._streams.Length; i++)
            {
                // The stream's columns [first, first + B) that fall in the lane's [c0, c0 + width).
                var s = _e._streams[i];
                int lo = Math.Max(_e._first[i], _c0), hi = Math.Min(_e._first[i] + s.Batch, _c0 + _width);
                if (lo >= hi) continue;
                int b = s.Batch, from = lo - _e._first[i], to = lo - _c0, count = hi - lo, live = Math.Clamp(s.Steps - t, 0, n);
                for (int j = 0; j < n; j++)
                {
                    var inRow = _inputs.AsSpan(j * _width + to, count);
                    var outRow = _targets.AsSpan(j * _width + to, count);
                    if (j < live)
                    {
                        s.Inputs.Slice((t + j) * b + from, count).CopyTo(inRow);
                        s.Targets.Slice((t + j) * b + from, count).CopyTo(outRow);
                    }
                    else { inRow.Clear(); outRow.Fill(-1); }
                }
            }
        }
    }
}
