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
public sealed class LstmLayer<T> : RecurrentLayer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Gate blocks within a row of <c>weight_ih</c>/<c>weight_hh</c>, in PyTorch's order.</summary>
    public const int GateI = 0, GateF = 1, GateG = 2, GateO = 3;

    private T[] _c = [];      // [(cap+1), B, Hd] cell states, slot convention as H
    private T[] _tanhC = [];  // [cap, B, Hd] tanh(c') of each step
    private readonly T[] _dc; // [B, Hd] gradient carried to the previous step's c
    private readonly T[] _bias; // [G·Hd] b_ih + b_hh, summed once per forward call

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
        _c = Grow(_c, (capacity + 1) * Batch * Hidden);
        _tanhC = Grow(_tanhC, capacity * Batch * Hidden);
    }

    public override void Forward(ReadOnlySpan<T> x, int s0, int n, ParameterSet<T> p)
    {
        int hd = Hidden, g4 = GateWidth, bh = Batch * hd, bg = Batch * g4;
        // Input projections of all n steps at once: gates[s0..] (n·B × 4Hd) = X (n·B × In) · W_ihᵀ
        Blas.Gemm(false, true, n * Batch, g4, InputSize, T.One, x.Slice(s0 * Batch * InputSize, n * Batch * InputSize),
            InputSize, p.Values(Slices.WeightIh), InputSize, T.Zero, Gates.AsSpan(s0 * bg, n * bg), g4);
        TensorPrimitives.Add(p.Values(Slices.BiasIh), p.Values(Slices.BiasHh), _bias);
        var whh = p.Values(Slices.WeightHh);
        for (int j = s0; j < s0 + n; j++)
        {
            var gates = Gates.AsSpan(j * bg, bg);
            // gates (B × 4Hd) += h_{j} (B × Hd) · W_hhᵀ
            Blas.Gemm(false, true, Batch, g4, hd, T.One, H.AsSpan(j * bh, bh), hd, whh, hd, T.One, gates, g4);
            var cPrev = _c.AsSpan(j * bh, bh);
            var cNext = _c.AsSpan((j + 1) * bh, bh);
            var hNext = H.AsSpan((j + 1) * bh, bh);
            var tc = _tanhC.AsSpan(j * bh, bh);
            for (int b = 0; b < Batch; b++)
            {
                var row = gates.Slice(b * g4, g4);
                TensorPrimitives.Add(row, _bias, row);
                TensorPrimitives.Sigmoid(row[..(2 * hd)], row[..(2 * hd)]);          // i, f
                TensorPrimitives.Tanh(row.Slice(2 * hd, hd), row.Slice(2 * hd, hd));  // g
                TensorPrimitives.Sigmoid(row.Slice(3 * hd, hd), row.Slice(3 * hd, hd)); // o
                var i = row[..hd]; var f = row.Slice(hd, hd); var gg = row.Slice(2 * hd, hd); var o = row.Slice(3 * hd, hd);
                var c = cNext.Slice(b * hd, hd);
                TensorPrimitives.Multiply(f, cPrev.Slice(b * hd, hd), c);          // c' = f⊙c
                TensorPrimitives.FusedMultiplyAdd(i, gg, c, c);                     //    + i⊙g
                var t = tc.Slice(b * hd, hd);
                TensorPrimitives.Tanh(c, t);
                TensorPrimitives.Multiply(o, t, hNext.Slice(b * hd, hd));          // h' = o⊙tanh(c')
            }
        }
    }

    public override void BackwardThroughTime(int w0, int n, ParameterSet<T> p, Span<T> stateGrad)
    {
        int hd = Hidden, g4 = GateWidth, bh = Batch * hd, bg = Batch * g4;
        var dh = Dh.AsSpan();
        var dc = _dc.AsSpan();
        dh.Clear();
        dc.Clear(); // nothing flows back from beyond the window's newest step
        var whh = p.Values(Slices.WeightHh);
        for (int j = w0 + n - 1; j >= w0; j--)
        {
            TensorPrimitives.Add(dh, DHin.AsSpan(j * bh, bh), dh); // total ∂L/∂h' of step j
            var gates = Gates.AsSpan(j * bg, bg);
            var dGates = DGates.AsSpan(j * bg, bg);
            var cPrev = _c.AsSpan(j * bh, bh);
            var tc = _tanhC.AsSpan(j * bh, bh);
            for (int b = 0; b < Batch; b++)
            {
                int ro = b * g4, ho = b * hd;
                for (int u = 0; u < hd; u++)
                {
                    T i = gates[ro + u], f = gates[ro + hd + u], g = gates[ro + 2 * hd + u], o = gates[ro + 3 * hd + u];
                    T t = tc[ho + u], dhu = dh[ho + u];
                    T dcu = dc[ho + u] + dhu * o * (T.One - t * t);
                    dGates[ro + u] = dcu * g * i * (T.One - i);                    // di · σ'
                    dGates[ro + hd + u] = dcu * cPrev[ho + u] * f * (T.One - f);   // df · σ'
                    dGates[ro + 2 * hd + u] = dcu * i * (T.One - g * g);           // dg · tanh'
                    dGates[ro + 3 * hd + u] = dhu * t * o * (T.One - o);           // do · σ'
                    dc[ho + u] = dcu * f;                                           // carried to c_{j}
                }
            }
            if (j > w0 || !stateGrad.IsEmpty)
            {
                // dh (B × Hd) = dGates (B × 4Hd) · W_hh (4Hd × Hd): the carry to the state this step read
                Blas.Gemm(false, false, Batch, hd, g4, T.One, dGates, g4, whh, hd, T.Zero, dh, hd);
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

    public override IEnumerable<TapeBuffer<T>> Persistent() =>
        base.Persistent().Concat([new TapeBuffer<T>("c", _c, 1, Batch * Hidden), new TapeBuffer<T>("tanh_c", _tanhC, 0, Batch * Hidden)]);

    public override void ResetState()
    {
        base.ResetState();
        _c.AsSpan(0, Batch * Hidden).Clear();
    }

    public override void CopyStateTo(int stored, RecurrentLayer<T> target)
    {
        base.CopyStateTo(stored, target);
        _c.AsSpan(stored * Batch * Hidden, Batch * Hidden).CopyTo(((LstmLayer<T>)target)._c);
    }
}
