using System.Numerics;
using System.Numerics.Tensors;
using Tbptt.Models;
using Tbptt.Numerics;

namespace Tbptt.Engine;

/// <summary>
/// PyTorch's RNN (Elman) cell: h' = f(W_ih x + b_ih + W_hh h + b_hh), f ∈ {tanh, relu, identity}.
/// f' is taken from the output (1 − h'², [h' &gt; 0], 1), so no pre-activation is stored.
/// </summary>
internal sealed class ElmanLayer<T> : RecurrentLayer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Nonlinearity _f;
    private readonly T[] _bias;

    public ElmanLayer(RecurrentLayerSlices slices, int inputSize, int hidden, int batch, Nonlinearity f)
        : base(slices, inputSize, hidden, 1, batch)
    {
        _f = f;
        _bias = new T[hidden];
    }

    protected override void GrowExtra(int capacity) { }

    public override void Forward(ReadOnlySpan<T> x, int s0, int n, ParameterSet<T> p)
    {
        int bh = Batch * Hidden;
        Infer(x.Slice(s0 * Batch * InputSize, n * Batch * InputSize), n, p, default, H.AsSpan(s0 * bh, (n + 1) * bh), default);
    }

    /// <summary>Pre-activations of every step's input side go straight into h[1..]: no gate buffer.</summary>
    public override Span<T> Projections(int n, Span<T> gates, Span<T> h) => h.Slice(Batch * Hidden, n * Batch * Hidden);

    /// <summary>The tape keeps nothing but h, so <see cref="Forward"/> is <see cref="RecurrentLayer{T}.Infer"/> on the tape's slots.</summary>
    public override void InferProjected(int n, ParameterSet<T> p, Span<T> gates, Span<T> h, Span<T> cell)
    {
        int hd = Hidden, bh = Batch * hd;
        TensorPrimitives.Add(p.Values(Slices.BiasIh), p.Values(Slices.BiasHh), _bias);
        var whhT = PackForward(p);
        for (int j = 0; j < n; j++)
        {
            var hj = h.Slice((j + 1) * bh, bh);
            Blas.Gemm(false, Batch, T.One, h.Slice(j * bh, bh), hd, whhT, T.One, hj, hd);
            for (int b = 0; b < Batch; b++)
            {
                var row = hj.Slice(b * hd, hd);
                TensorPrimitives.Add(row, _bias, row);
                switch (_f)
                {
                    case Nonlinearity.Tanh: TensorPrimitives.Tanh(row, row); break;
                    case Nonlinearity.Relu: TensorPrimitives.Max(row, T.Zero, row); break;
                }
            }
        }
    }

    public override void BackwardThroughTime(int w0, int n, ParameterSet<T> p, Span<T> stateGrad)
    {
        int hd = Hidden, bh = Batch * hd;
        var dh = Dh.AsSpan();
        dh.Clear();
        var whh = PackBackward(p, stateGrad.IsEmpty ? n - 1 : n);
        for (int j = w0 + n - 1; j >= w0; j--)
        {
            var dPre = DGates.AsSpan(j * bh, bh);
            TensorPrimitives.Add(dh, DHin.AsSpan(j * bh, bh), dPre);
            var h = H.AsSpan((j + 1) * bh, bh);
            switch (_f)
            {
                case Nonlinearity.Tanh:
                    for (int u = 0; u < bh; u++) dPre[u] *= T.One - h[u] * h[u];
                    break;
                case Nonlinearity.Relu:
                    for (int u = 0; u < bh; u++) if (h[u] <= T.Zero) dPre[u] = T.Zero;
                    break;
            }
            if (j > w0 || !stateGrad.IsEmpty)
            {
                Blas.Gemm(false, Batch, T.One, dPre, hd, whh!, T.Zero, dh, hd);
                if (!stateGrad.IsEmpty)
                    dh.CopyTo(stateGrad.Slice((j - w0) * bh, bh));
            }
        }
    }
}
