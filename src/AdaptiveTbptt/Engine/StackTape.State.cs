using System.Numerics;
using Tbptt.Numerics;

namespace Tbptt.Engine;

/// <summary>The carried state and checkpoint snapshots of a <see cref="StackTape{T}"/>.</summary>
public sealed partial class StackTape<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Floats in the carried state: B × (every layer's h, and c for an LSTM).</summary>
    public int StateLength => Batch * _model.Config.StateSize;

    /// <summary>
    /// Copies the carried state (after the stored steps) out, layer by layer: h_l [B, Hd] then, for an LSTM,
    /// c_l [B, Hd].
    /// </summary>
    public void GetState(Span<T> state) => TransferOut(state);

    /// <summary>Forgets the stored steps and starts from <paramref name="state"/> (layout of <see cref="GetState"/>).</summary>
    public void SetState(ReadOnlySpan<T> state)
    {
        Stored = 0;
        CheckStateLength(state.Length);
        int bh = Batch * _model.Config.HiddenSize, o = 0;
        foreach (var layer in _layers)
        {
            state.Slice(o, bh).CopyTo(layer.H); o += bh;
            if (layer is LstmLayer<T> lstm) { state.Slice(o, bh).CopyTo(lstm.C); o += bh; }
        }
    }

    private void TransferOut(Span<T> state)
    {
        CheckStateLength(state.Length);
        int bh = Batch * _model.Config.HiddenSize, o = 0;
        foreach (var layer in _layers)
        {
            layer.H.AsSpan(Stored * bh, bh).CopyTo(state.Slice(o, bh)); o += bh;
            if (layer is LstmLayer<T> lstm) { lstm.C.AsSpan(Stored * bh, bh).CopyTo(state.Slice(o, bh)); o += bh; }
        }
    }

    private void CheckStateLength(int length)
    {
        if (length != StateLength)
            throw new ArgumentException($"state holds {length} values; this model and batch need {StateLength}.", "state");
    }

    /// <summary>
    /// Everything the tape carries into the next update — the stored steps' activations, inputs, token ids and
    /// dropout masks, and the state before them — as named arrays (token ids as their float value). With
    /// <see cref="Restore"/> a stopped run continues exactly where it was.
    /// </summary>
    public IEnumerable<(string Name, T[] Values)> Snapshot()
    {
        foreach (var (name, b) in Buffers())
            yield return (name, b.Values.AsSpan(0, b.Length(Stored)).ToArray());
        if (_tokens.Length > 0)
            yield return ("tokens", _tokens.AsSpan(0, Stored * Batch).ToArray().Select(t => T.CreateTruncating(t)).ToArray());
    }

    /// <summary>Restores a <see cref="Snapshot"/> of <paramref name="stored"/> steps.</summary>
    public void Restore(int stored, IReadOnlyDictionary<string, T[]> snapshot)
    {
        if (stored < 0) throw new InvalidDataException($"tape snapshot of {stored} steps: the count must be ≥ 0.");
        // Sizes first, in 64-bit arithmetic, before anything is allocated for `stored` steps: the snapshot's own
        // arrays then bound the capacity, whatever count a damaged checkpoint claims.
        foreach (var (name, b) in Buffers())
        {
            long expected = ((long)stored + b.ExtraSlots) * b.PerStep;
            if (!snapshot.TryGetValue(name, out var v) || v.Length != expected)
                throw new InvalidDataException($"tape snapshot lacks '{name}' or has the wrong size for {stored} steps.");
        }
        if (_tokens.Length > 0 && (!snapshot.TryGetValue("tokens", out var ids) || ids.Length != (long)stored * Batch))
            throw new InvalidDataException($"tape snapshot lacks the token ids of {stored} steps.");
        EnsureCapacity(Math.Max(stored, 1));
        foreach (var (name, b) in Buffers()) snapshot[name].CopyTo(b.Values, 0);
        if (_tokens.Length > 0)
        {
            var t = snapshot["tokens"];
            int vocabulary = _model.Config.InputSize;
            for (int i = 0; i < t.Length; i++)
            {
                // A token id outside the vocabulary would index past the embedding when the window is replayed.
                if (!(t[i] >= T.Zero && t[i] < T.CreateTruncating(vocabulary)) || t[i] != T.Floor(t[i]))
                    throw new InvalidDataException($"tape snapshot: token id {t[i]} at {i} is not in [0, {vocabulary}).");
                _tokens[i] = int.CreateTruncating(t[i]);
            }
        }
        Stored = stored;
    }

    private IEnumerable<(string Name, TapeBuffer<T> Buffer)> Buffers()
    {
        yield return ("x0", new TapeBuffer<T>("x0", _x0, 0, Batch * In0));
        for (int l = 0; l < _layers.Length; l++)
            foreach (var b in _layers[l].Persistent()) yield return ($"layer{l}.{b.Name}", b);
        if (_dropout is not null)
            foreach (var b in _dropout.Persistent()) yield return (b.Name, b);
    }
}
