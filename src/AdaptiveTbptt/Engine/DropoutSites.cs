using System.Numerics;
using System.Numerics.Tensors;
using Tbptt.Numerics;

namespace Tbptt.Engine;

/// <summary>
/// Inverted dropout at the sites of a stack: site 0 is the first layer's input (the embeddings, masked in
/// place), site l (1 ≤ l &lt; L) the input of layer l (the output of layer l−1), site L the decoder's input.
/// Masks hold 0 or 1/(1−p) per element and step, so forward is x⊙m and backward g⊙m; they are kept with the
/// tape (and shifted with it) because the steps a window reuses must see the masks their forward pass drew.
/// </summary>
internal sealed class DropoutSites<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly double _p;
    private readonly T _keep;
    private readonly int _batch;
    private readonly int[] _widths;
    private readonly T[][] _masks;
    private readonly T[][] _outputs; // site 0 is masked in place: no output buffer

    public DropoutSites(double p, int batch, int[] widths)
    {
        _p = p;
        _keep = T.CreateTruncating(1.0 / (1.0 - p));
        _batch = batch;
        _widths = widths;
        _masks = widths.Select(_ => Array.Empty<T>()).ToArray();
        _outputs = widths.Select(_ => Array.Empty<T>()).ToArray();
    }

    public void EnsureCapacity(int capacity)
    {
        for (int s = 0; s < _widths.Length; s++)
        {
            int length = capacity * _batch * _widths[s];
            if (_masks[s].Length >= length) continue;
            _masks[s] = TapeArrays.Grow(_masks[s], length);
            if (s > 0) _outputs[s] = TapeArrays.Grow(_outputs[s], length);
        }
    }


    /// <summary>The masked values of a site (s ≥ 1), [cap, B, width].</summary>
    public T[] Output(int site) => _outputs[site];

    /// <summary>Draws masks for steps [s0, s0+n) and writes out[site] = <paramref name="source"/> ⊙ mask.</summary>
    /// <param name="source">The unmasked values of those steps, (n·B × width).</param>
    public void Forward(int site, ReadOnlySpan<T> source, int s0, int n, SeededRandom rng)
    {
        var mask = Draw(site, s0, n, rng);
        TensorPrimitives.Multiply(source, mask, _outputs[site].AsSpan(s0 * _batch * _widths[site], mask.Length));
    }

    /// <summary>Draws masks for steps [s0, s0+n) and masks <paramref name="values"/> (those steps) in place.</summary>
    public void ForwardInPlace(int site, Span<T> values, int s0, int n, SeededRandom rng) =>
        TensorPrimitives.Multiply(values, Draw(site, s0, n, rng), values);

    private ReadOnlySpan<T> Draw(int site, int s0, int n, SeededRandom rng)
    {
        int width = _widths[site];
        var mask = _masks[site].AsSpan(s0 * _batch * width, n * _batch * width);
        for (int i = 0; i < mask.Length; i++) mask[i] = rng.NextDouble() < _p ? T.Zero : _keep;
        return mask;
    }

    /// <summary>g ⊙ mask for steps [from, from+n) of a gradient laid out [cap, B, width].</summary>
    public void Backward(int site, Span<T> gradient, int from, int n)
    {
        int width = _widths[site];
        var g = gradient.Slice(from * _batch * width, n * _batch * width);
        TensorPrimitives.Multiply(g, _masks[site].AsSpan(from * _batch * width, g.Length), g);
    }

    /// <summary>Masks and masked outputs per site, for checkpoints (see <see cref="RecurrentLayer{T}.Persistent"/>).</summary>
    public IEnumerable<TapeBuffer<T>> Persistent()
    {
        for (int s = 0; s < _widths.Length; s++)
        {
            yield return new TapeBuffer<T>($"dropout{s}.mask", _masks[s], 0, _batch * _widths[s]);
            if (s > 0) yield return new TapeBuffer<T>($"dropout{s}.out", _outputs[s], 0, _batch * _widths[s]);
        }
    }

    /// <summary>Moves the newest <paramref name="count"/> of <paramref name="stored"/> steps to the front.</summary>
    public void Retain(int stored, int count)
    {
        for (int s = 0; s < _widths.Length; s++)
        {
            int w = _batch * _widths[s], from = stored - count;
            _masks[s].AsSpan(from * w, count * w).CopyTo(_masks[s]);
            if (s > 0) _outputs[s].AsSpan(from * w, count * w).CopyTo(_outputs[s]);
        }
    }
}
