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
    /// <summary>Mean cross-entropy of a model on one split, with the state carried within each of
    /// <paramref name="batch"/> columns, each column after the first warmed by <paramref name="context"/> unscored
    /// characters before it (<see cref="Batchify.EvaluationStream"/>, as a training run with those options evaluates).</summary>
    public static (double Loss, int Characters, int Unknown) Evaluate(SequenceModel<float> model, Corpus corpus, string split, int batch, int context)
    {
        if (batch < 1) throw new ArgumentOutOfRangeException(nameof(batch), batch, "the batch must be at least 1 column.");
        if (context < 0) throw new ArgumentOutOfRangeException(nameof(context), context, "the context must be at least 0.");
        var tokens = corpus.Split(split);
        int columns = Math.Max(1, Math.Min(batch, tokens.Length / 2));
        var stream = Batchify.EvaluationStream(tokens, columns, context);
        return (Evaluation.MeanLoss(model, stream), (tokens.Length / columns - 1) * columns, corpus.UnknownCount(split));
    }
}
