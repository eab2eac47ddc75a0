using Tbptt.Engine;
using Tbptt.Models;

namespace Tbptt.Training;

/// <summary>Forward-only evaluation of a token model.</summary>
public static class Evaluation
{
    /// <summary>
    /// Mean cross-entropy per token over a whole stream: forward only, no dropout, the state carried across chunks
    /// of <paramref name="chunk"/> steps (the chunk length bounds memory, it does not change the result).
    /// </summary>
    public static double MeanLoss(SequenceModel<float> model, TokenStream stream, int chunk = 200)
    {
        chunk = Math.Max(1, Math.Min(chunk, stream.Steps));
        int b = stream.Batch;
        var tape = new StackTape<float>(model, b, chunk) { Training = false };
        double sum = 0;
        for (int t = 0; t < stream.Steps; t += chunk)
        {
            int n = Math.Min(chunk, stream.Steps - t);
            tape.Append(n, stream.Inputs.Slice(t * b, n * b), default);
            sum += tape.EvaluateLoss(n, stream.Targets.Slice(t * b, n * b));
            tape.Retain(0);
        }
        return sum / ((double)stream.Steps * b);
    }
}
