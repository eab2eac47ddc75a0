namespace Tbptt.Training;

/// <summary>
/// A batch of B parallel token streams, step-major: row t of <see cref="Inputs"/>/<see cref="Targets"/> holds step
/// t of every column ([steps, B]), the layout the engine consumes. For a language model the target is the next
/// input, and both views share one array (offset by a row), so a corpus is held once.
/// </summary>
public sealed class TokenStream
{
    private readonly int[] _inputs, _targets;
    private readonly int _inputOffset, _targetOffset;

    /// <summary>Streams over whole arrays: <paramref name="inputs"/>[t·B + b] is step t of column b, as <c>Batchify</c> lays them out; <paramref name="targets"/> likewise.</summary>
    public TokenStream(int[] inputs, int[] targets, int batch) : this(inputs, 0, targets, 0, inputs.Length / Math.Max(batch, 1), batch)
    {
        if (inputs.Length != targets.Length)
            throw new ArgumentException($"inputs ({inputs.Length}) and targets ({targets.Length}) differ in length.");
        if (inputs.Length % batch != 0)
            throw new ArgumentException($"{inputs.Length} tokens do not split into {batch} columns.");
    }

    private TokenStream(int[] inputs, int inputOffset, int[] targets, int targetOffset, int steps, int batch)
    {
        if (batch < 1) throw new ArgumentOutOfRangeException(nameof(batch), batch, "batch must be at least 1.");
        (_inputs, _inputOffset, _targets, _targetOffset, Steps, Batch) = (inputs, inputOffset, targets, targetOffset, steps, batch);
    }

    /// <summary>Next-token prediction over batchified rows [rows, B]: step t reads row t, predicts row t + 1.</summary>
    public static TokenStream NextToken(int[] rows, int batch)
    {
        if (batch < 1) throw new ArgumentOutOfRangeException(nameof(batch), batch, "batch must be at least 1.");
        int steps = rows.Length / batch - 1;
        if (steps < 1) throw new ArgumentException($"a stream of {rows.Length / batch} rows has no step to predict.");
        return new TokenStream(rows, 0, rows, batch, steps, batch);
    }

    /// <summary>[steps, B] inputs.</summary>
    public ReadOnlySpan<int> Inputs => _inputs.AsSpan(_inputOffset, Steps * Batch);
    /// <summary>[steps, B] targets.</summary>
    public ReadOnlySpan<int> Targets => _targets.AsSpan(_targetOffset, Steps * Batch);
    /// <summary>Columns B.</summary>
    public int Batch { get; }
    /// <summary>Steps per column.</summary>
    public int Steps { get; }
}
