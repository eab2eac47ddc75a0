using System.Globalization;
using Tbptt.BiasEstimation;
using Tbptt.Checkpoints;
using Tbptt.LanguageModel.Text;
using Tbptt.Models;
using Tbptt.Probes;
using Tbptt.Reporting;
using Tbptt.Training;

namespace Tbptt.LanguageModel;

/// <summary>Evaluation of a trained character model on a corpus split (<c>charlm eval</c>); training is <see cref="Runs.RunExecutor"/>.</summary>
public static class CharLmRun
{
    /// <summary>Mean cross-entropy of a model on one split, with the state carried (batch columns as in training).</summary>
    public static (double Loss, int Characters, int Unknown) Evaluate(SequenceModel<float> model, Corpus corpus, string split, int batch)
    {
        if (batch < 1) throw new ArgumentOutOfRangeException(nameof(batch), batch, "the batch must be at least 1 column.");
        var tokens = corpus.Split(split);
        int columns = Math.Max(1, Math.Min(batch, tokens.Length / 2));
        var stream = TokenStream.NextToken(Batchify.Columns(tokens, columns, out _), columns);
        return (Evaluation.MeanLoss(model, stream), stream.Steps * columns, corpus.UnknownCount(split));
    }
}
