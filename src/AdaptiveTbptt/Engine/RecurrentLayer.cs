using System.Numerics;
using Tbptt.Models;

namespace Tbptt.Engine;

/// <summary>
/// One layer's tape over a window of stored steps, and its forward and backward passes.
/// Slot convention: step j (0-based within the tape) reads input <c>X[j]</c> and state <c>H[j]</c> and writes
/// <c>H[j+1]</c>; slot 0 holds the state before the first stored step, which backward treats as a constant.
/// </summary>
/// <remarks>
/// Shapes per step: X is (B, In), H is (B, Hd), gate blocks are (B, G·Hd). Backward accumulates (+=) into the
/// gradient buffer, so one zero-grad per update and shared weights collect a contribution at every step.
/// </remarks>
internal abstract class RecurrentLayer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    protected RecurrentLayer(RecurrentLayerSlices slices, int inputSize, int hidden, int gates, int batch)
    {
        Slices = slices;
        InputSize = inputSize;
        Hidden = hidden;
        GateWidth = gates * hidden;
        Batch = batch;
        Dh = new T[batch * hidden];
    }

    public RecurrentLayerSlices Slices { get; }
    public int InputSize { get; }
    public int Hidden { get; }
    public int GateWidth { get; }
    public int Batch { get; }
    public int Capacity { get; private set; }

    /// <summary>[(cap+1), B, Hd] hidden states; slot 0 is the state before the stored steps.</summary>
    public T[] H { get; private set; } = [];
    /// <summary>[cap, B, G·Hd] activated gates (Elman: unused).</summary>
    protected T[] Gates = [];
    /// <summary>[cap, B, G·Hd] gradient of the gate pre-activations (input side).</summary>
    protected T[] DGates = [];
    /// <summary>[cap, B, Hd] gradient arriving at each step's output from above (decoder or next layer).</summary>
    public T[] DHin { get; private set; } = [];
    /// <summary>[B, Hd] gradient carried to the previous step's h.</summary>
    protected readonly T[] Dh;

    private readonly Numerics.PackedOperand<T> _whhT = new(), _whh = new();

    /// <summary>
    /// W_hhᵀ packed for the h·W_hhᵀ products of one forward call: every step of a window multiplies by the same
    /// weight, and at one step's few rows repacking it per product would cost as much as the product.
    /// </summary>
    protected Numerics.PackedOperand<T> PackForward(ParameterSet<T> p)
    {
        Numerics.Blas.Pack(true, Hidden, GateWidth, p.Values(Slices.WeightHh), Hidden, _whhT);
        return _whhT;
    }

    /// <summary>W_hh packed for the dG·W_hh products of one backward call (null when it makes none).</summary>
    protected Numerics.PackedOperand<T>? PackBackward(ParameterSet<T> p, int products)
    {
        if (products < 1) return null;
        Numerics.Blas.Pack(false, GateWidth, Hidden, p.Values(Slices.WeightHh), Hidden, _whh);
        return _whh;
    }

    /// <summary>Floats of recurrent state per batch row (Hd, or 2·Hd for an LSTM's h and c).</summary>
    public virtual int StateWidth => Hidden;

    public void EnsureCapacity(int capacity)
    {
        if (capacity <= Capacity) return;
        int hb = Batch * Hidden;
        H = TapeArrays.Grow(H, (capacity + 1) * hb);
        Gates = TapeArrays.Grow(Gates, capacity * Batch * GateWidth);
        DGates = TapeArrays.Grow(DGates, capacity * Batch * GateWidth);
        DHin = TapeArrays.Grow(DHin, capacity * hb);
        GrowExtra(capacity);
        Capacity = capacity;
    }


    protected abstract void GrowExtra(int capacity);

    /// <summary>Forward over steps [s0, s0+n): reads X[s0..], writes H[s0+1..] and the tape.</summary>
    /// <param name="x">[cap, B, In] inputs of the stored steps.</param>
    public abstract void Forward(ReadOnlySpan<T> x, int s0, int n, ParameterSet<T> p);

    /// <summary>
    /// Forward only (evaluation): steps [0, n) with nothing kept for a backward pass — the tape's arithmetic
    /// (<see cref="Forward"/>'s calls, in its order), so the outputs equal the tape's bit for bit.
    /// </summary>
    /// <param name="x">[n, B, In] the inputs.</param>
    /// <param name="gates">[n, B, G·Hd] scratch: the input projections of all n steps (one GEMM), then each step's gates.</param>
    /// <param name="h">[(n+1), B, Hd]: slot 0 holds the state before the first step; slot j+1 receives step j's output.</param>
    /// <param name="cell">[B, Hd] an LSTM's carried cell state, updated in place; empty for the other cells.</param>
    public void Infer(ReadOnlySpan<T> x, int n, ParameterSet<T> p, Span<T> gates, Span<T> h, Span<T> cell)
    {
        ProjectInputs(x, n * Batch, p, Projections(n, gates, h));
        InferProjected(n, p, gates, h, cell);
    }

    /// <summary>
    /// pre (rows × G·Hd) = x (rows × In) · W_ihᵀ: the input side of every gate, without bias — the one product
    /// every cell's <see cref="Forward"/> starts with. Rows are independent, so a caller may project any rows:
    /// the rows of an embedding table, say, which then stand for every token that looks them up.
    /// </summary>
    public void ProjectInputs(ReadOnlySpan<T> x, int rows, ParameterSet<T> p, Span<T> pre) =>
        Numerics.Blas.Gemm(false, true, rows, GateWidth, InputSize, T.One, x[..(rows * InputSize)], InputSize,
            p.Values(Slices.WeightIh), InputSize, T.Zero, pre[..(rows * GateWidth)], GateWidth);

    /// <summary>
    /// Where <see cref="InferProjected"/> reads the input projections of n steps, [n, B, G·Hd]: the gate buffer
    /// (an Elman layer's pre-activations go straight into its outputs, h[1..]).
    /// </summary>
    public virtual Span<T> Projections(int n, Span<T> gates, Span<T> h) => gates[..(n * Batch * GateWidth)];

    /// <summary><see cref="Infer"/> after its input projections: they are in <see cref="Projections"/>.</summary>
    public abstract void InferProjected(int n, ParameterSet<T> p, Span<T> gates, Span<T> h, Span<T> cell);

    /// <summary>
    /// Backward through time over steps [w0, w0+n), newest first, with <see cref="DHin"/> filled for those steps:
    /// fills the gate gradients of every step. The state H[w0] is a constant (truncation). Weight gradients are
    /// a separate call (<see cref="WeightGradients"/>), so a caller can accumulate them over sub-ranges.
    /// </summary>
    /// <param name="stateGrad">Empty, or [n, B, StateWidth]: row i receives ∂L/∂state[w0+i], the gradient that
    /// step w0+i passes back to the state it read (the "state view" of §3: only through that step's recurrence).
    /// Row 0 is the gradient at the truncation boundary, computed only when asked for.</param>
    public abstract void BackwardThroughTime(int w0, int n, ParameterSet<T> p, Span<T> stateGrad);

    /// <summary>Gate gradients on the hidden side (differs from the input side only for a GRU).</summary>
    protected virtual T[] DGatesHh => DGates;

    /// <summary>dX[w0..w0+n) (n·B × In) = dG (n·B × G·Hd) · W_ih, overwriting: the gradient for the layer below.</summary>
    public void InputGradient(Span<T> dx, int w0, int n, ParameterSet<T> p)
    {
        int rows = n * Batch, g = GateWidth;
        Numerics.Blas.Gemm(false, false, rows, InputSize, g, T.One, DGates.AsSpan(w0 * Batch * g, rows * g), g,
            p.Values(Slices.WeightIh), InputSize, T.Zero, dx.Slice(w0 * Batch * InputSize, rows * InputSize), InputSize);
    }

    /// <summary>
    /// Accumulates the weight and bias gradients of steps [from, from+n) — one GEMM each over all those steps.
    /// </summary>
    /// <param name="x">[cap, B, In] the inputs the forward pass read.</param>
    public void WeightGradients(ReadOnlySpan<T> x, int from, int n, ParameterSet<T> p)
    {
        var s = Slices;
        int rows = n * Batch, g = GateWidth;
        var dIh = DGates.AsSpan(from * Batch * g, rows * g);
        var dHh = DGatesHh.AsSpan(from * Batch * g, rows * g);
        // dW_ih (G·Hd × In) += dGᵀ (G·Hd × rows) · X (rows × In)
        Numerics.Blas.Gemm(true, false, g, InputSize, rows, T.One, dIh, g,
            x.Slice(from * Batch * InputSize, rows * InputSize), InputSize, T.One, p.Gradient(s.WeightIh), InputSize);
        // dW_hh (G·Hd × Hd) += dGhᵀ · H[from .. from+n-1] (the states those steps read)
        Numerics.Blas.Gemm(true, false, g, Hidden, rows, T.One, dHh, g,
            H.AsSpan(from * Batch * Hidden, rows * Hidden), Hidden, T.One, p.Gradient(s.WeightHh), Hidden);
        ColumnSums(dIh, rows, g, p.Gradient(s.BiasIh));
        ColumnSums(dHh, rows, g, p.Gradient(s.BiasHh));
    }

    /// <summary>Keeps the last <paramref name="count"/> of <paramref name="stored"/> steps at the front of the tape.</summary>
    public virtual void Retain(int stored, int count)
    {
        int from = stored - count, hb = Batch * Hidden, gb = Batch * GateWidth;
        H.AsSpan(from * hb, (count + 1) * hb).CopyTo(H);
        Gates.AsSpan(from * gb, count * gb).CopyTo(Gates);
    }

    /// <summary>
    /// The buffers that carry a run across updates, for checkpoints: name, array, extra slots (1 for per-state
    /// buffers with slot 0) and values per step. Holding the first (stored + extra)·perStep values of each
    /// restores the tape exactly, activations computed before the last update included.
    /// </summary>
    public virtual IEnumerable<TapeBuffer<T>> Persistent()
    {
        yield return new TapeBuffer<T>("h", H, 1, Batch * Hidden);
        yield return new TapeBuffer<T>("gates", Gates, 0, Batch * GateWidth);
    }

    /// <summary>Zeroes the state in slot 0 (sequence start).</summary>
    public virtual void ResetState() => H.AsSpan(0, Batch * Hidden).Clear();

    /// <summary>acc[j] += Σ_r m[r, j] for an (rows × cols) row-major matrix.</summary>
    protected static void ColumnSums(ReadOnlySpan<T> m, int rows, int cols, Span<T> acc)
    {
        for (int r = 0; r < rows; r++)
            System.Numerics.Tensors.TensorPrimitives.Add(acc, m.Slice(r * cols, cols), acc);
    }

    public static RecurrentLayer<T> Create(ModelConfig c, RecurrentLayerSlices slices, int layer, int batch)
    {
        int inSize = layer == 0 ? c.FirstLayerInputSize : c.HiddenSize;
        return c.Cell switch
        {
            CellKind.Lstm => new LstmLayer<T>(slices, inSize, c.HiddenSize, batch),
            CellKind.Gru => new GruLayer<T>(slices, inSize, c.HiddenSize, batch),
            _ => new ElmanLayer<T>(slices, inSize, c.HiddenSize, batch, c.Nonlinearity),
        };
    }
}

/// <summary>One persistent tape buffer: <see cref="RecurrentLayer{T}.Persistent"/>.</summary>
internal sealed record TapeBuffer<T>(string Name, T[] Values, int ExtraSlots, int PerStep)
{
    public int Length(int stored) => (stored + ExtraSlots) * PerStep;
}
