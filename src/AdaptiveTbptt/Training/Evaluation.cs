using Tbptt.Engine;
using Tbptt.Models;

namespace Tbptt.Training;

/// <summary>Forward-only evaluation of a token model.</summary>
public static class Evaluation
{
    /// <summary>
    /// Mean cross-entropy per token over a whole stream: forward only, no dropout, the state carried across chunks
    /// of <paramref name="chunk"/> steps (the chunk length bounds memory, it does not change the result).
    /// </summary>
    public static double MeanLoss(SequenceModel<float> model, TokenStream stream, int chunk = 200) =>
        new Evaluator(model, [stream], chunk).MeanLosses()[0];
}

/// <summary>
/// Evaluates several token streams side by side as ONE batch — a trainer's validation and test streams — and
/// keeps its buffers from round to round. In evaluation the batch columns never meet (no dropout, each column its
/// own state, row-wise kernels), so each stream's loss is what it would be alone; the wider batch is what makes
/// it cheaper: the per-step recurrent GEMM reads the weights once for all columns. Streams shorter than the
/// longest are padded (inputs 0, no loss).
/// </summary>
/// <remarks>Memory: the tape holds one chunk of steps (the decoder and softmax then run over the whole chunk in
/// one GEMM); no gradient buffer is touched.</remarks>
internal sealed class Evaluator
{
    private readonly TokenStream[] _streams;
    private readonly int[] _first;         // first batch column of each stream
    private readonly int _steps, _chunk;
    private readonly StackTape<float> _tape;
    private readonly int[] _inputs, _targets; // [chunk, ΣB] one chunk, the streams' columns side by side
    private readonly double[] _columnLoss;    // [ΣB]

    public Evaluator(SequenceModel<float> model, IReadOnlyList<TokenStream> streams, int chunk)
    {
        if (streams.Count == 0) throw new ArgumentException("nothing to evaluate: no stream given.", nameof(streams));
        _streams = [.. streams];
        _first = new int[_streams.Length];
        int width = 0;
        for (int i = 0; i < _streams.Length; i++) { _first[i] = width; width += _streams[i].Batch; }
        _steps = _streams.Max(s => s.Steps);
        _chunk = Math.Max(1, Math.Min(chunk, _steps));
        _tape = new StackTape<float>(model, width, _chunk) { Training = false };
        _inputs = new int[_chunk * width];
        _targets = new int[_chunk * width];
        _columnLoss = new double[width];
    }

    /// <summary>Mean cross-entropy per token of each stream at the model's current parameters.</summary>
    public double[] MeanLosses()
    {
        int width = _tape.Batch;
        _tape.ResetState();
        Array.Clear(_columnLoss);
        for (int t = 0; t < _steps; t += _chunk)
        {
            int n = Math.Min(_chunk, _steps - t);
            Gather(t, n);
            _tape.Append(n, _inputs.AsSpan(0, n * width), default);
            _tape.EvaluateColumnLosses(n, _targets.AsSpan(0, n * width), _columnLoss);
            _tape.Retain(0);
        }
        var means = new double[_streams.Length];
        for (int i = 0; i < _streams.Length; i++)
        {
            var s = _streams[i];
            double sum = 0;
            for (int b = 0; b < s.Batch; b++) sum += _columnLoss[_first[i] + b];
            means[i] = sum / ((double)s.Steps * s.Batch);
        }
        return means;
    }

    /// <summary>Steps [t, t+n) of every stream into the chunk buffers, [n, ΣB]; past a stream's end: input 0, target −1.</summary>
    private void Gather(int t, int n)
    {
        int width = _tape.Batch;
        for (int i = 0; i < _streams.Length; i++)
        {
            var s = _streams[i];
            int b = s.Batch, live = Math.Clamp(s.Steps - t, 0, n);
            for (int j = 0; j < n; j++)
            {
                var inRow = _inputs.AsSpan(j * width + _first[i], b);
                var outRow = _targets.AsSpan(j * width + _first[i], b);
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
