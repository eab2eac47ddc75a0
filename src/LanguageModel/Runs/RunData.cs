using Tbptt.LanguageModel.Synthetic;
using Tbptt.LanguageModel.Text;
using Tbptt.Training;

namespace Tbptt.LanguageModel.Runs;

/// <summary>The streams of one run, built from its data options (and, on a resume, the stored vocabulary).</summary>
public sealed record RunData(TokenStream Train, TokenStream Valid, TokenStream? Test, int Vocabulary, string? Symbols, string Description)
{
    /// <summary>Generates the copy task's splits from the run's seed, or loads and batchifies the corpus.</summary>
    /// <param name="symbols">The vocabulary stored in a checkpoint being resumed (corpus runs), else null.</param>
    public static RunData Build(RunOptions o, string? symbols = null)
    {
        if (o.Copy is { } c)
        {
            var task = new CopyTask(c.M, c.MMin);
            var s = c.Data is { } files ? CopyDataFiles.Load(files, c.Batch, c.TrainSteps, c.EvalSteps)
                : task.GenerateSplits((int)o.Training.Seed, c.Batch, c.TrainSteps, c.EvalSteps);
            return new RunData(new TokenStream(s.Train.Inputs, s.Train.Targets, s.Train.Batch),
                new TokenStream(s.Valid.Inputs, s.Valid.Targets, s.Valid.Batch),
                new TokenStream(s.Test.Inputs, s.Test.Targets, s.Test.Batch), CopyTask.Symbols, null,
                (c.Data is null ? "" : $"data from {c.Data}: ") + task.Describe(s));
        }
        var p = o.Corpus!;
        var corpus = Corpus.Load(p.Path, vocabulary: symbols is null ? null : Text.Vocabulary.FromSymbols(symbols));
        // Every column must hold one window of the largest K the run may use (and, adaptive, one probe window).
        int probeSpan = o.Probe.Window + o.Probe.EffectiveBurnIn;
        var t = o.Truncation;
        corpus.EnsureSteps("train", p.Batch, t.Adaptive ? Math.Max(o.Adaptive.KMax, probeSpan) : Math.Max(t.K, t.K2 ?? t.K));
        corpus.EnsureSteps("valid", p.EvalBatch, 1);
        var train = TokenStream.NextToken(Batchify.Columns(corpus.Train, p.Batch, out _), p.Batch);
        var valid = Batchify.EvaluationStream(corpus.Valid, p.EvalBatch, p.EvalContext);
        TokenStream? test = corpus.Test.Length >= 2 * p.EvalBatch ? Batchify.EvaluationStream(corpus.Test, p.EvalBatch, p.EvalContext) : null;
        return new RunData(train, valid, test, corpus.Vocabulary.Count, corpus.Vocabulary.Symbols, corpus.Describe());
    }
}
