using Tbptt.Engine;
using Tbptt.Models;
using static Tbptt.Tests.TestModels;

namespace Tbptt.Tests;

/// <summary>The window semantics of docs §2, pinned down against independent constructions.</summary>
public class TbpttSemanticsTests
{
    private const int Batch = 3;

    /// <summary>
    /// Reference for update i of TBPTT(k1, k2) at t = i·k1, recomputed from scratch: the state h_{t−w−m} from a
    /// forward-only run, then a fresh tape over the window's steps with the losses of the last k1 steps, where
    /// m = max(k1 − k2, 0) older loss steps reach only the decoder. The streaming engine instead reuses
    /// activations stored in the previous window; with parameters fixed the two must agree to rounding.
    /// </summary>
    private static double[] Recomputed(SequenceModel<double> model, StepData s, int k1, int k2, int update)
    {
        var c = model.Config;
        int t = update * k1, window = Math.Min(k2, t), span = Math.Max(window, k1), start = t - span;
        var tape = new StackTape<double>(model, Batch, t);
        if (start > 0)
        {
            var head = s.Slice(c, Batch, 0, start);
            tape.Append(start, head.InTok, head.InVec);
            var state = new double[tape.StateLength];
            tape.GetState(state);
            tape.SetState(state);
        }
        var w = s.Slice(c, Batch, start, span);
        var last = s.Slice(c, Batch, t - k1, k1);
        model.Parameters.ZeroGrad();
        tape.Append(span, w.InTok, w.InVec);
        tape.Loss(k1, window, last.TgtTok, last.TgtVec, 1.0 / (k1 * Batch));
        tape.Backward(window);
        return (double[])model.Parameters.Grad.Clone();
    }

    private static List<double[]> Streamed(SequenceModel<double> model, StepData s, int k1, int k2, int updates)
    {
        var engine = new TbpttEngine<double>(model, Batch);
        var grads = new List<double[]>();
        for (int i = 0; i < updates; i++)
        {
            model.Parameters.ZeroGrad();
            Update(engine, k1, k2, s.Slice(model.Config, Batch, i * k1, k1));
            grads.Add((double[])model.Parameters.Grad.Clone());
        }
        return grads;
    }

    [Theory]
    [InlineData(CellKind.Lstm, 2, 4, 4)]  // chunked "detach" form
    [InlineData(CellKind.Lstm, 2, 3, 5)]  // the paper's (K, 2K−1)
    [InlineData(CellKind.Gru, 2, 2, 7)]   // k2 > 2·k1: windows overlap several updates
    [InlineData(CellKind.Gru, 1, 5, 2)]   // k2 < k1: older losses reach the decoder only
    [InlineData(CellKind.Elman, 2, 4, 1)]
    [InlineData(CellKind.Elman, 1, 1, 1)]
    public void StreamingEqualsRecomputedWindows(CellKind cell, int layers, int k1, int k2)
    {
        var config = Tokens(cell, layers);
        var model = SequenceModel<double>.Create(config, 21);
        const int updates = 5;
        var s = MakeStream(config, updates * k1, Batch, 9);
        var streamed = Streamed(model, s, k1, k2, updates);
        for (int i = 1; i <= updates; i++)
            AssertClose(Recomputed(model, s, k1, k2, i), streamed[i - 1], 1e-11, 1e-14, $"update {i} of TBPTT({k1}, {k2})");
    }

    /// <summary>
    /// §2: steps t−k2+1..t−k1 were computed in the previous window, before the last update, and are reused as
    /// stored. With a real parameter update between two windows, the second gradient must equal a reference
    /// whose overlap steps ran under the old parameters, and differ from one that recomputes them.
    /// </summary>
    [Theory]
    [InlineData(CellKind.Lstm, 0.0)]
    [InlineData(CellKind.Gru, 0.3)]
    public void OverlapStepsAreReusedAsComputedBeforeTheUpdate(CellKind cell, double dropout)
    {
        const int k1 = 3, k2 = 5;
        var config = Tokens(cell, 2) with { Dropout = dropout };
        var model = SequenceModel<double>.Create(config, 13);
        var s = MakeStream(config, 2 * k1, Batch, 4);
        var first = s.Slice(config, Batch, 0, k1);
        var second = s.Slice(config, Batch, k1, k1);
        var theta0 = (double[])model.Parameters.Data.Clone();

        // Streaming: update 1, an SGD step, update 2.
        var engine = new TbpttEngine<double>(model, Batch);
        engine.Tape.DropoutRandom = new Tbptt.Numerics.SeededRandom(3);
        model.Parameters.ZeroGrad();
        Update(engine, k1, k2, first);
        var theta1 = model.Parameters.Data.Zip(model.Parameters.Grad, (p, g) => p - 0.5 * g).ToArray();
        theta1.CopyTo(model.Parameters.Data, 0);
        model.Parameters.ZeroGrad();
        Update(engine, k1, k2, second);
        var streamed = (double[])model.Parameters.Grad.Clone();

        double[] Reference(bool recompute)
        {
            var tape = new StackTape<double>(model, Batch, 2 * k1);
            tape.DropoutRandom = new Tbptt.Numerics.SeededRandom(3);
            (recompute ? theta1 : theta0).CopyTo(model.Parameters.Data, 0);
            tape.Append(k1, first.InTok, first.InVec);      // the first window's forward, under θ0 (or θ1)
            theta1.CopyTo(model.Parameters.Data, 0);
            tape.Append(k1, second.InTok, second.InVec);    // the second window's new steps, under θ1
            model.Parameters.ZeroGrad();
            tape.Loss(k1, k2, second.TgtTok, second.TgtVec, 1.0 / (k1 * Batch));
            tape.Backward(k2);
            return (double[])model.Parameters.Grad.Clone();
        }
        AssertClose(Reference(recompute: false), streamed, 1e-12, 1e-15, "reuse of the overlap");
        Assert.NotEqual(Reference(recompute: true), streamed); // the test can tell reuse from recomputation
    }

    [Fact]
    public void TbpttKKEqualsChunkingWithDetachedState()
    {
        var config = Tokens(CellKind.Lstm, 2);
        var model = SequenceModel<double>.Create(config, 4);
        const int k = 4, chunks = 4;
        var s = MakeStream(config, k * chunks, Batch, 2);
        var streamed = Streamed(model, s, k, k, chunks);
        // Chunking: a fresh engine per chunk, started from the previous chunk's final state (detached).
        var state = new double[new StackTape<double>(model, Batch, 1).StateLength];
        for (int i = 0; i < chunks; i++)
        {
            var fresh = new TbpttEngine<double>(model, Batch);
            fresh.Tape.SetState(state);
            model.Parameters.ZeroGrad();
            Update(fresh, k, k, s.Slice(config, Batch, i * k, k));
            AssertClose(model.Parameters.Grad, streamed[i], 1e-12, 1e-15, $"chunk {i + 1}");
            fresh.Tape.GetState(state);
        }
    }

    [Fact]
    public void FullSequenceUpdateIsFullBptt()
    {
        // TBPTT(T, T) over T steps backpropagates every loss to step 1: truncating at any k2 < T changes the
        // recurrent gradients, while k2 = T and k2 = 10·T (the window is clamped to the stream) agree.
        var config = Tokens(CellKind.Gru, 2);
        var model = SequenceModel<double>.Create(config, 8);
        const int steps = 8;
        var s = MakeStream(config, steps, Batch, 1);
        double[] Grad(int k2) { model.Parameters.ZeroGrad(); Update(new TbpttEngine<double>(model, Batch), steps, k2, s); return (double[])model.Parameters.Grad.Clone(); }
        var full = Grad(steps);
        AssertClose(full, Grad(10 * steps), 0, 0, "k2 beyond the stream");
        // (k2 = T − 1 would drop only step 1, whose weight_hh term is dG₁·h₀ᵀ = 0 from the zero state.)
        var truncated = Grad(steps - 2);
        foreach (var name in new[] { "rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.weight_hh_l1" })
        {
            var w = model.Parameters[name];
            Assert.NotEqual(full.AsSpan(w.Offset, w.Length).ToArray(), truncated.AsSpan(w.Offset, w.Length).ToArray());
        }
    }

    [Fact]
    public void MemoryIsBoundedByTheWindow()
    {
        var config = Tokens(CellKind.Lstm, 1);
        var model = SequenceModel<double>.Create(config, 1);
        var engine = new TbpttEngine<double>(model, Batch);
        var s = MakeStream(config, 400, Batch, 3);
        for (int i = 0; i < 100; i++) Update(engine, 4, 7, s.Slice(config, Batch, i * 4, 4));
        Assert.Equal(7, engine.Tape.Capacity); // max(k1, k2), whatever the stream length
        Assert.Equal(3, engine.Tape.Stored);   // k2 − k1 steps carried for the next window
    }

    [Fact]
    public void BadArgumentsNameTheValue()
    {
        var model = SequenceModel<double>.Create(Tokens(CellKind.Lstm, 1), 1);
        var engine = new TbpttEngine<double>(model, 2);
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => engine.Update(0, 3, new int[0], new int[0]));
        Assert.Contains("k1", ex.Message);
        var bad = Assert.Throws<ArgumentOutOfRangeException>(() => engine.Update(1, 1, [0, 9], [0, 0]));
        Assert.Contains("[0, 5)", bad.Message);
        Assert.Throws<ArgumentException>(() => engine.Update(2, 2, [0, 1], [0, 1]));
    }
}
