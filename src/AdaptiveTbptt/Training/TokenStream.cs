namespace Tbptt.Training;

/// <summary>
/// A batch of B parallel token streams, step-major: row t of <see cref="Inputs"/>/<see cref="Targets"/> holds step
/// t of every column ([steps, B]), the layout the engine consumes. For a language model the target is the next
/// input; for the copy task it is its own sequence.
/// </summary>
public sealed class TokenStream
{
    public TokenStream(int[] inputs, int[] targets, int batch)
    {
        if (batch < 1) throw new ArgumentOutOfRangeException(nameof(batch), batch, "batch must be at least 1.");
        if (inputs.Length != targets.Length)
            throw new ArgumentException($"inputs ({inputs.Length}) and targets ({targets.Length}) differ in length.");
        if (inputs.Length % batch != 0)
            throw new ArgumentException($"{inputs.Length} tokens do not split into {batch} columns.");
        Inputs = inputs; Targets = targets; Batch = batch;
    }

    /// <summary>Next-token prediction over batchified rows [rows, B]: step t reads row t, predicts row t + 1.</summary>
    public static TokenStream NextToken(int[] rows, int batch)
    {
        int steps = rows.Length / batch - 1;
        if (steps < 1) throw new ArgumentException($"a stream of {rows.Length / batch} rows has no step to predict.");
        return new TokenStream(rows[..(steps * batch)], rows[batch..((steps + 1) * batch)], batch);
    }

    public int[] Inputs { get; }
    public int[] Targets { get; }
    public int Batch { get; }
    public int Steps => Inputs.Length / Batch;

    /// <summary>All columns one after another, for the probe, which samples positions in a single stream.</summary>
    public (int[] Inputs, int[] Targets) Flatten()
    {
        int steps = Steps;
        var i = new int[Inputs.Length];
        var t = new int[Targets.Length];
        for (int b = 0; b < Batch; b++)
            for (int s = 0; s < steps; s++)
            {
                i[b * steps + s] = Inputs[s * Batch + b];
                t[b * steps + s] = Targets[s * Batch + b];
            }
        return (i, t);
    }
}
