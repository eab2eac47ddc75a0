using System.Numerics;
using System.Numerics.Tensors;
using Tbptt.Models;
using Tbptt.Numerics;

namespace Tbptt.Engine;

/// <summary>
/// PyTorch's LSTM, gates in PyTorch's order i, f, g, o (char-rnn uses i, f, o, g; we follow PyTorch so its
/// state_dict loads as is):
/// i = σ(W_ii x + b_ii + W_hi h + b_hi), f = σ(…), g = tanh(…), o = σ(…), c' = f⊙c + i⊙g, h' = o⊙tanh(c').
/// </summary>
internal sealed class LstmLayer<T> : RecurrentLayer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Gate blocks within a row of <c>weight_ih</c>/<c>weight_hh</c>, in PyTorch's order.</summary>
    public const int GateI = 0, GateF = 1, GateG = 2, GateO = 3;

    private T[] _c = [];      // [(cap+1), B, Hd] cell states, slot convention as H
    private T[] _tanhC = [];  // [cap, B, Hd] tanh(c') of each step
    private readonly T[] _dc; // [B, Hd] gradient carried to the previous step's c
    private readonly T[] _bias; // [G·Hd] b_ih + b_hh, summed once per forward call
    private T[]? _rowScratch;   // [Hd] tanh(c') of one row in Infer

    public LstmLayer(RecurrentLayerSlices slices, int inputSize, int hidden, int batch)
        : base(slices, inputSize, hidden, 4, batch)
    {
        _dc = new T[batch * hidden];
        _bias = new T[4 * hidden];
    }

    public override int StateWidth => 2 * Hidden;

    /// <summary>[(cap+1), B, Hd] cell states.</summary>
    public T[] C => _c;

    protected override void GrowExtra(int capacity)
    {
        _c = TapeArrays.Grow(_c, (capacity + 1) * Batch * Hidden);
        _tanhC = TapeArrays.Grow(_tanhC, capacity * Batch * Hidden);
    }

    public override void Forward(ReadOnlySpan<T> x, int s0, int n, ParameterSet<T> p)
    {
        int hd = Hidden, g4 = GateWidth, bh = Batch * hd, bg = Batch * g4;
        // Input projections of all n steps at once: gates[s0..] (n·B × 4Hd) = X (n·B × In) · W_ihᵀ
        ProjectInputs(x.Slice(s0 * Batch * InputSize, n * Batch * InputSize), n * Batch, p, Gates.AsSpan(s0 * bg, n * bg));
        TensorPrimitives.Add(p.Values(Slices.BiasIh), p.Values(Slices.BiasHh), _bias);
        var whhT = PackForward(p);
        for (int j = s0; j < s0 + n; j++)
        {
            var gates = Gates.AsSpan(j * bg, bg);
            // gates (B × 4Hd) += h_{j} (B × Hd) · W_hhᵀ
            Blas.Gemm(false, Batch, T.One, H.AsSpan(j * bh, bh), hd, whhT, T.One, gates, g4);
            var cPrev = _c.AsSpan(j * bh, bh);
            var cNext = _c.AsSpan((j + 1) * bh, bh);
            var hNext = H.AsSpan((j + 1) * bh, bh);
            var tc = _tanhC.AsSpan(j * bh, bh);
            for (int b = 0; b < Batch; b++)
                Cell(gates.Slice(b * g4, g4), _bias, cPrev.Slice(b * hd, hd), cNext.Slice(b * hd, hd), tc.Slice(b * hd, hd), hNext.Slice(b * hd, hd));
        }
    }

    public override void InferProjected(int n, ParameterSet<T> p, Span<T> gates, Span<T> h, Span<T> cell)
    {
        int hd = Hidden, g4 = GateWidth, bh = Batch * hd, bg = Batch * g4;
        // As Forward, but c is carried in place and tanh(c') is one row's scratch: nothing outlives its step.
        TensorPrimitives.Add(p.Values(Slices.BiasIh), p.Values(Slices.BiasHh), _bias);
        var whhT = PackForward(p);
        var tc = (_rowScratch ??= new T[hd]).AsSpan();
        for (int j = 0; j < n; j++)
        {
            var g = gates.Slice(j * bg, bg);
            Blas.Gemm(false, Batch, T.One, h.Slice(j * bh, bh), hd, whhT, T.One, g, g4);
            var hNext = h.Slice((j + 1) * bh, bh);
            for (int b = 0; b < Batch; b++)
            {
                var c = cell.Slice(b * hd, hd);
                Cell(g.Slice(b * g4, g4), _bias, c, c, tc, hNext.Slice(b * hd, hd));
            }
        }
    }

    /// <summary>
    /// One row's step after its pre-activations are summed: gates (4Hd) += bias, then activated in place;
    /// c' = f⊙c + i⊙g, tanh c', h' = o⊙tanh c'. <paramref name="cNext"/> may be <paramref name="cPrev"/> itself.
    /// </summary>
    private static void Cell(Span<T> row, ReadOnlySpan<T> bias, ReadOnlySpan<T> cPrev, Span<T> cNext, Span<T> tanhC, Span<T> hNext)
    {
        int hd = cNext.Length;
        TensorPrimitives.Add(row, bias, row);
        TensorPrimitives.Sigmoid(row[..(2 * hd)], row[..(2 * hd)]);          // i, f
        TensorPrimitives.Tanh(row.Slice(2 * hd, hd), row.Slice(2 * hd, hd));  // g
        TensorPrimitives.Sigmoid(row.Slice(3 * hd, hd), row.Slice(3 * hd, hd)); // o
        var i = row[..hd]; var f = row.Slice(hd, hd); var gg = row.Slice(2 * hd, hd); var o = row.Slice(3 * hd, hd);
        TensorPrimitives.Multiply(f, cPrev, cNext);        // c' = f⊙c
        TensorPrimitives.FusedMultiplyAdd(i, gg, cNext, cNext); //    + i⊙g
        TensorPrimitives.Tanh(cNext, tanhC);
        TensorPrimitives.Multiply(o, tanhC, hNext);        // h' = o⊙tanh(c')
    }

    public override void BackwardThroughTime(int w0, int n, ParameterSet<T> p, Span<T> stateGrad)
    {
        int hd = Hidden, g4 = GateWidth, bh = Batch * hd, bg = Batch * g4;
        var dh = Dh.AsSpan();
        var dc = _dc.AsSpan();
        dh.Clear();
        dc.Clear(); // nothing flows back from beyond the window's newest step
        var whh = PackBackward(p, stateGrad.IsEmpty ? n - 1 : n);
        for (int j = w0 + n - 1; j >= w0; j--)
        {
            TensorPrimitives.Add(dh, DHin.AsSpan(j * bh, bh), dh); // total ∂L/∂h' of step j
            var gates = Gates.AsSpan(j * bg, bg);
            var dGates = DGates.AsSpan(j * bg, bg);
            var cPrev = _c.AsSpan(j * bh, bh);
            var tc = _tanhC.AsSpan(j * bh, bh);
            for (int b = 0; b < Batch; b++)
                GateGradients(gates.Slice(b * g4, g4), cPrev.Slice(b * hd, hd), tc.Slice(b * hd, hd),
                    dh.Slice(b * hd, hd), dc.Slice(b * hd, hd), dGates.Slice(b * g4, g4));
            if (j > w0 || !stateGrad.IsEmpty)
            {
                // dh (B × Hd) = dGates (B × 4Hd) · W_hh (4Hd × Hd): the carry to the state this step read
                Blas.Gemm(false, Batch, T.One, dGates, g4, whh!, T.Zero, dh, hd);
            }
            if (!stateGrad.IsEmpty)
            {
                var row = stateGrad.Slice((j - w0) * Batch * StateWidth, Batch * StateWidth);
                for (int b = 0; b < Batch; b++)
                {
                    dh.Slice(b * hd, hd).CopyTo(row.Slice(b * 2 * hd, hd));
                    dc.Slice(b * hd, hd).CopyTo(row.Slice(b * 2 * hd + hd, hd));
                }
            }
        }
    }

    public override void Retain(int stored, int count)
    {
        base.Retain(stored, count);
        int from = stored - count, hb = Batch * Hidden;
        _c.AsSpan(from * hb, (count + 1) * hb).CopyTo(_c);
        _tanhC.AsSpan(from * hb, count * hb).CopyTo(_tanhC);
    }

    /// <summary>
    /// One row's gate gradients (pre-activation) and the cell-state carry, for H units:
    /// dc' = dc + dh⊙o⊙(1 − tanh²c'), di = dc'⊙g⊙i(1−i), df = dc'⊙c⊙f(1−f), dg = dc'⊙i⊙(1−g²),
    /// do = dh⊙tanh c'⊙o(1−o), and dc ← dc'⊙f. SIMD over units, scalar for the tail.
    /// </summary>
    /// <param name="gates">[4H] activated i, f, g, o.</param>
    /// <param name="dc">[H] in: carry from the next step; out: carry to the previous one.</param>
    private static void GateGradients(ReadOnlySpan<T> gates, ReadOnlySpan<T> cPrev, ReadOnlySpan<T> tanhC,
        ReadOnlySpan<T> dh, Span<T> dc, Span<T> dGates)
    {
        int hd = dh.Length, u = 0;
        if (Vector.IsHardwareAccelerated && Vector<T>.IsSupported)
        {
            var one = Vector<T>.One;
            for (; u <= hd - Vector<T>.Count; u += Vector<T>.Count)
            {
                var i = new Vector<T>(gates[u..]); var f = new Vector<T>(gates[(hd + u)..]);
                var g = new Vector<T>(gates[(2 * hd + u)..]); var o = new Vector<T>(gates[(3 * hd + u)..]);
                var t = new Vector<T>(tanhC[u..]); var dhv = new Vector<T>(dh[u..]);
                var dcu = new Vector<T>(dc[u..]) + dhv * o * (one - t * t);
                (dcu * g * i * (one - i)).CopyTo(dGates[u..]);
                (dcu * new Vector<T>(cPrev[u..]) * f * (one - f)).CopyTo(dGates[(hd + u)..]);
                (dcu * i * (one - g * g)).CopyTo(dGates[(2 * hd + u)..]);
                (dhv * t * o * (one - o)).CopyTo(dGates[(3 * hd + u)..]);
                (dcu * f).CopyTo(dc[u..]);
            }
        }
        for (; u < hd; u++)
        {
            T i = gates[u], f = gates[hd + u], g = gates[2 * hd + u], o = gates[3 * hd + u];
            T t = tanhC[u], dhu = dh[u];
            T dcu = dc[u] + dhu * o * (T.One - t * t);
            dGates[u] = dcu * g * i * (T.One - i);
            dGates[hd + u] = dcu * cPrev[u] * f * (T.One - f);
            dGates[2 * hd + u] = dcu * i * (T.One - g * g);
            dGates[3 * hd + u] = dhu * t * o * (T.One - o);
            dc[u] = dcu * f;
        }
    }

    public override IEnumerable<TapeBuffer<T>> Persistent() =>
        base.Persistent().Concat([new TapeBuffer<T>("c", _c, 1, Batch * Hidden), new TapeBuffer<T>("tanh_c", _tanhC, 0, Batch * Hidden)]);

    public override void ResetState()
    {
        base.ResetState();
        _c.AsSpan(0, Batch * Hidden).Clear();
    }
}
