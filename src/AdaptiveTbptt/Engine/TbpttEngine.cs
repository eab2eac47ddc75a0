using System.Numerics;

namespace Tbptt.Engine;

/// <summary>
/// Streaming TBPTT(k1, k2) exactly as docs §2 defines it. The model runs forward k1 steps at a time over an
/// unbounded stream, carrying its state; each call to <c>Update</c> accumulates into the gradient buffer
/// ĝ(t) = ∇θ (1/(k1·B)) Σ_{s=t−k1+1..t} Σ_b L_{s,b} with the state h_{t−k2} held constant.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>Every loss of the last k1 steps is included; L_s is backpropagated through states
/// max(t−k2+1, 1) ≤ j ≤ s. With k2 &lt; k1 a loss older than the window reaches only the decoder.</item>
/// <item>k1 = k2 = K is the chunked "detach" form; k1 = K, k2 = 2K−1 gives every loss at least K lags;
/// k1 = k2 = T on a T-step sequence is full BPTT.</item>
/// <item>Steps t−k2+1..t−k1 were computed in the previous call, before the last update; their stored
/// activations are reused, not recomputed.</item>
/// <item>Near the start of the stream, or after (k1, k2) grows, the window starts at the oldest step held.</item>
/// <item>Memory is O(max(k1, k2) · B · state): the tape keeps at most max(k2 − k1, 0) old steps.</item>
/// </list>
/// The caller zeroes gradients and steps the optimizer; this class only computes ĝ(t).
/// </remarks>
public sealed class TbpttEngine<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>An engine training <paramref name="model"/> on <paramref name="batch"/> streams from the zero state; the tape starts with room for <paramref name="capacity"/> steps and grows to max(k1, k2).</summary>
    public TbpttEngine(Models.SequenceModel<T> model, int batch, int capacity = 1)
    {
        Model = model;
        Tape = new StackTape<T>(model, batch, capacity);
    }

    /// <summary>The model whose gradient buffer <c>Update</c> accumulates into.</summary>
    public Models.SequenceModel<T> Model { get; }
    /// <summary>The stored steps and carried state: read or set the state, <see cref="StackTape{T}.Snapshot"/> it for a checkpoint.</summary>
    public StackTape<T> Tape { get; }
    /// <summary>Batch rows B.</summary>
    public int Batch => Tape.Batch;

    /// <summary>Steps the last update backpropagated through (k2, or fewer near the start of the stream).</summary>
    public int LastWindow { get; private set; }

    /// <summary>Starts a new stream from the zero state.</summary>
    public void ResetState() => Tape.ResetState();

    /// <summary>One TBPTT(k1, k2) update on token inputs/targets, each [k1, B] (step-major). Returns the mean loss.</summary>
    public double Update(int k1, int k2, ReadOnlySpan<int> inputs, ReadOnlySpan<int> targets) =>
        Run(k1, k2, inputs, default, targets, default);

    /// <summary>One TBPTT(k1, k2) update on vector inputs [k1, B, In] and vector targets [k1, B, Out].</summary>
    public double Update(int k1, int k2, ReadOnlySpan<T> inputs, ReadOnlySpan<T> targets) =>
        Run(k1, k2, default, inputs, default, targets);

    /// <summary>One update on token inputs and vector targets, or any other mix.</summary>
    public double Update(int k1, int k2, ReadOnlySpan<int> inputTokens, ReadOnlySpan<T> inputVectors,
        ReadOnlySpan<int> targetTokens, ReadOnlySpan<T> targetVectors) =>
        Run(k1, k2, inputTokens, inputVectors, targetTokens, targetVectors);

    private double Run(int k1, int k2, ReadOnlySpan<int> inTok, ReadOnlySpan<T> inVec, ReadOnlySpan<int> tgtTok, ReadOnlySpan<T> tgtVec)
    {
        if (k1 < 1) throw new ArgumentOutOfRangeException(nameof(k1), k1, "k1 must be at least 1.");
        if (k2 < 1) throw new ArgumentOutOfRangeException(nameof(k2), k2, "k2 must be at least 1.");
        using var flush = Numerics.Denormals.FlushToZero(); // once for the update rather than per tape call
        int keep = Math.Max(k2 - k1, 0);
        if (Tape.Stored > keep) Tape.Retain(keep);
        Tape.EnsureCapacity(Tape.Stored + k1);
        Tape.Append(k1, inTok, inVec);
        int window = Math.Min(k2, Tape.Stored);
        LastWindow = window;
        T scale = T.One / T.CreateTruncating((double)k1 * Tape.Batch);
        double loss = Tape.Loss(k1, window, tgtTok, tgtVec, scale);
        Tape.Backward(window);
        Tape.Retain(Math.Min(keep, Tape.Stored));
        return loss / ((double)k1 * Tape.Batch);
    }
}
