using System.Numerics;
using System.Numerics.Tensors;
using Tbptt.Models;
using Tbptt.Numerics;

namespace Tbptt.Engine;

/// <summary>
/// PyTorch's GRU, gates r, z, n:
/// r = σ(W_ir x + b_ir + W_hr h + b_hr), z = σ(W_iz x + b_iz + W_hz h + b_hz),
/// n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)), h' = (1 − z) ⊙ n + z ⊙ h.
/// </summary>
/// <remarks>
/// The reset gate multiplies the hidden projection <em>after</em> its bias, so the n block of the hidden-side
/// gradient differs from the input side (dn·r instead of dn): backward keeps both, and the hidden projection
/// of n is stored per step.
/// </remarks>
internal sealed class GruLayer<T> : RecurrentLayer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private T[] _hn = [];        // [cap, B, Hd] W_hn h + b_hn of each step
    private T[] _dGatesHh = [];  // [cap, B, 3Hd] hidden-side pre-activation gradients
    private readonly T[] _gh;    // [B, 3Hd] hidden projection of one step
    private T[]? _rowScratch;    // [Hd] W_hn h + b_hn of one row in Infer

    public GruLayer(RecurrentLayerSlices slices, int inputSize, int hidden, int batch)
        : base(slices, inputSize, hidden, 3, batch)
    {
        _gh = new T[batch * 3 * hidden];
    }

    protected override T[] DGatesHh => _dGatesHh;

    protected override void GrowExtra(int capacity)
    {
        _hn = TapeArrays.Grow(_hn, capacity * Batch * Hidden);
        _dGatesHh = TapeArrays.Grow(_dGatesHh, capacity * Batch * GateWidth);
    }

    public override void Forward(ReadOnlySpan<T> x, int s0, int n, ParameterSet<T> p)
    {
        int hd = Hidden, g3 = GateWidth, bh = Batch * hd, bg = Batch * g3;
        // gates[s0..] (n·B × 3Hd) = X · W_ihᵀ, the input side of every step at once
        ProjectInputs(x.Slice(s0 * Batch * InputSize, n * Batch * InputSize), n * Batch, p, Gates.AsSpan(s0 * bg, n * bg));
        var whhT = PackForward(p);
        for (int j = s0; j < s0 + n; j++)
        {
            // gh (B × 3Hd) = h_j · W_hhᵀ
            Blas.Gemm(false, Batch, T.One, H.AsSpan(j * bh, bh), hd, whhT, T.Zero, _gh, g3);
            Step(Gates.AsSpan(j * bg, bg), H.AsSpan(j * bh, bh), H.AsSpan((j + 1) * bh, bh), _hn.AsSpan(j * bh, bh), p, true);
        }
    }

    public override void InferProjected(int n, ParameterSet<T> p, Span<T> gates, Span<T> h, Span<T> cell)
    {
        int hd = Hidden, g3 = GateWidth, bh = Batch * hd, bg = Batch * g3;
        // As Forward; the hidden projection of n, which backward would need, goes to one row's scratch.
        var whhT = PackForward(p);
        _rowScratch ??= new T[hd];
        for (int j = 0; j < n; j++)
        {
            Blas.Gemm(false, Batch, T.One, h.Slice(j * bh, bh), hd, whhT, T.Zero, _gh, g3);
            Step(gates.Slice(j * bg, bg), h.Slice(j * bh, bh), h.Slice((j + 1) * bh, bh), _rowScratch, p, false);
        }
    }

    /// <summary>
    /// One step for every row, with the hidden projection of the step in <see cref="_gh"/>: gates (B × 3Hd) hold
    /// the input side in and r, z, n out; hn receives W_hn h + b_hn per row ([B, Hd], or one row reused when
    /// <paramref name="perRow"/> is false).
    /// </summary>
    private void Step(Span<T> gates, ReadOnlySpan<T> hPrev, Span<T> hNext, Span<T> hn, ParameterSet<T> p, bool perRow)
    {
        int hd = Hidden, g3 = GateWidth;
        var bih = p.Values(Slices.BiasIh);
        var bhh = p.Values(Slices.BiasHh);
        for (int b = 0; b < Batch; b++)
        {
            var row = gates.Slice(b * g3, g3);
            var ghRow = _gh.AsSpan(b * g3, g3);
            TensorPrimitives.Add(ghRow, bhh, ghRow);
            TensorPrimitives.Add(row, bih, row);
            // r, z: σ(input side + hidden side)
            TensorPrimitives.Add(row[..(2 * hd)], ghRow[..(2 * hd)], row[..(2 * hd)]);
            TensorPrimitives.Sigmoid(row[..(2 * hd)], row[..(2 * hd)]);
            var r = row[..hd]; var z = row.Slice(hd, hd); var nn = row.Slice(2 * hd, hd);
            var hnRow = hn.Slice(perRow ? b * hd : 0, hd);
            ghRow.Slice(2 * hd, hd).CopyTo(hnRow);
            TensorPrimitives.FusedMultiplyAdd(r, hnRow, nn, nn); // n_pre = x-side + r ⊙ hn
            TensorPrimitives.Tanh(nn, nn);
            // h' = n + z ⊙ (h − n)
            var hOut = hNext.Slice(b * hd, hd);
            TensorPrimitives.Subtract(hPrev.Slice(b * hd, hd), nn, hOut);
            TensorPrimitives.FusedMultiplyAdd(z, hOut, nn, hOut);
        }
    }

    public override void BackwardThroughTime(int w0, int n, ParameterSet<T> p, Span<T> stateGrad)
    {
        int hd = Hidden, g3 = GateWidth, bh = Batch * hd, bg = Batch * g3;
        var dh = Dh.AsSpan();
        dh.Clear();
        var whh = PackBackward(p, stateGrad.IsEmpty ? n - 1 : n);
        for (int j = w0 + n - 1; j >= w0; j--)
        {
            TensorPrimitives.Add(dh, DHin.AsSpan(j * bh, bh), dh);
            var gates = Gates.AsSpan(j * bg, bg);
            var dGi = DGates.AsSpan(j * bg, bg);
            var dGh = _dGatesHh.AsSpan(j * bg, bg);
            var hPrev = H.AsSpan(j * bh, bh);
            var hn = _hn.AsSpan(j * bh, bh);
            for (int b = 0; b < Batch; b++)
                GateGradients(gates.Slice(b * g3, g3), hPrev.Slice(b * hd, hd), hn.Slice(b * hd, hd), dh.Slice(b * hd, hd),
                    dGi.Slice(b * g3, g3), dGh.Slice(b * g3, g3));
            if (j > w0 || !stateGrad.IsEmpty)
            {
                // dh (B × Hd) += dGh (B × 3Hd) · W_hh (3Hd × Hd)
                Blas.Gemm(false, Batch, T.One, dGh, g3, whh!, T.One, dh, hd);
                if (!stateGrad.IsEmpty)
                    dh.CopyTo(stateGrad.Slice((j - w0) * bh, bh));
            }
        }
    }

    /// <summary>
    /// One row's pre-activation gradients, input side [dr, dz, dn] and hidden side [dr, dz, dn⊙r], for H units:
    /// dn = dh⊙(1−z)⊙(1−n²), dr = dn⊙hn⊙r(1−r), dz = dh⊙(h−n)⊙z(1−z); dh ← dh⊙z (the direct path through z⊙h).
    /// SIMD over units, scalar for the tail.
    /// </summary>
    private static void GateGradients(ReadOnlySpan<T> gates, ReadOnlySpan<T> hPrev, ReadOnlySpan<T> hn, Span<T> dh,
        Span<T> dGi, Span<T> dGh)
    {
        int hd = dh.Length, u = 0;
        if (Vector.IsHardwareAccelerated && Vector<T>.IsSupported)
        {
            var one = Vector<T>.One;
            for (; u <= hd - Vector<T>.Count; u += Vector<T>.Count)
            {
                var r = new Vector<T>(gates[u..]); var z = new Vector<T>(gates[(hd + u)..]); var n = new Vector<T>(gates[(2 * hd + u)..]);
                var d = new Vector<T>(dh[u..]);
                var dnPre = d * (one - z) * (one - n * n);
                var drPre = dnPre * new Vector<T>(hn[u..]) * r * (one - r);
                var dzPre = d * (new Vector<T>(hPrev[u..]) - n) * z * (one - z);
                drPre.CopyTo(dGi[u..]); dzPre.CopyTo(dGi[(hd + u)..]); dnPre.CopyTo(dGi[(2 * hd + u)..]);
                drPre.CopyTo(dGh[u..]); dzPre.CopyTo(dGh[(hd + u)..]); (dnPre * r).CopyTo(dGh[(2 * hd + u)..]);
                (d * z).CopyTo(dh[u..]);
            }
        }
        for (; u < hd; u++)
        {
            T r = gates[u], z = gates[hd + u], nv = gates[2 * hd + u], d = dh[u];
            T dnPre = d * (T.One - z) * (T.One - nv * nv);
            T drPre = dnPre * hn[u] * r * (T.One - r);
            T dzPre = d * (hPrev[u] - nv) * z * (T.One - z);
            dGi[u] = drPre; dGi[hd + u] = dzPre; dGi[2 * hd + u] = dnPre;
            dGh[u] = drPre; dGh[hd + u] = dzPre; dGh[2 * hd + u] = dnPre * r;
            dh[u] = d * z;
        }
    }

    public override IEnumerable<TapeBuffer<T>> Persistent() =>
        base.Persistent().Append(new TapeBuffer<T>("hn", _hn, 0, Batch * Hidden));

    public override void Retain(int stored, int count)
    {
        base.Retain(stored, count);
        int from = stored - count, hb = Batch * Hidden;
        _hn.AsSpan(from * hb, count * hb).CopyTo(_hn);
    }
}
