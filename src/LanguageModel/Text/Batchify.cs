using Tbptt.Training;

namespace Tbptt.LanguageModel.Text;

/// <summary>
/// Splits a token stream into B contiguous columns as PyTorch's word_language_model <c>batchify</c> does:
/// nbatch = N / B (the remainder is dropped), column b is tokens[b·nbatch .. (b+1)·nbatch). The result is
/// step-major, [nbatch, B] (row t holds step t of every column), the layout the engine consumes. Step t of a
/// stream has input row t−1 and target row t, so a column of nbatch tokens gives nbatch − 1 steps.
/// </summary>
public static class Batchify
{
    /// <summary><paramref name="tokens"/> as [rows, <paramref name="batch"/>], step-major; <paramref name="rows"/> = N / B.</summary>
    public static int[] Columns(ReadOnlySpan<int> tokens, int batch, out int rows)
    {
        if (batch < 1) throw new ArgumentOutOfRangeException(nameof(batch), batch, "batch must be at least 1.");
        rows = tokens.Length / batch;
        var data = new int[rows * batch];
        for (int b = 0; b < batch; b++)
            for (int t = 0; t < rows; t++)
                data[t * batch + b] = tokens[b * rows + t];
        return data;
    }

    /// <summary>
    /// An evaluation stream: the columns and scored predictions of <see cref="Columns"/>, but every column after the
    /// first starts <paramref name="context"/> steps early (at most one column's length: the stream then holds under
    /// twice the split), on the text just before it, and those steps' predictions are not scored (target −1). A
    /// column then starts its scored steps with a warm state instead of a zero one, so a wide evaluation batch — the
    /// cheap one — costs almost nothing in the loss it reports; with context 0 this is exactly the stream of
    /// <see cref="Columns"/>. Columns shorter than the longest (the first, which has no text before it) are padded
    /// at their end (input 0, target −1), which changes nothing before it.
    /// </summary>
    /// <remarks>Layout, with R = N / B: column b reads tokens[b·R − c_b .. (b+1)·R − 1) and predicts
    /// tokens[b·R − c_b + 1 .. (b+1)·R), scoring the last R − 1; c_0 = 0 and c_b = min(context, R) for b ≥ 1.
    /// Steps = R − 1 + c_1 (R − 1 for one column, which has no context).</remarks>
    public static TokenStream EvaluationStream(ReadOnlySpan<int> tokens, int batch, int context)
    {
        if (batch < 1) throw new ArgumentOutOfRangeException(nameof(batch), batch, "batch must be at least 1.");
        if (context < 0) throw new ArgumentOutOfRangeException(nameof(context), context, "the evaluation context must be at least 0.");
        int rows = tokens.Length / batch;
        if (rows < 2) throw new ArgumentException($"{tokens.Length} tokens in {batch} columns leave no step to predict.");
        if (context == 0) return TokenStream.NextToken(Columns(tokens, batch, out _), batch);
        int reach = batch == 1 ? 0 : Math.Min(context, rows);
        int steps = rows - 1 + reach;
        var inputs = new int[steps * batch];
        var targets = new int[steps * batch];
        Array.Fill(targets, -1);
        for (int b = 0; b < batch; b++)
        {
            int c = b == 0 ? 0 : reach, start = b * rows - c;
            for (int t = 0; t < rows - 1 + c; t++)
            {
                inputs[t * batch + b] = tokens[start + t];
                if (t >= c) targets[t * batch + b] = tokens[start + t + 1];
            }
        }
        return new TokenStream(inputs, targets, batch);
    }
}
