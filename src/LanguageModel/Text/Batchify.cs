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
}
