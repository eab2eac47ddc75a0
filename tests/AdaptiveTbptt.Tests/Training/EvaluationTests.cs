using Tbptt.Engine;
using Tbptt.Models;
using Tbptt.Training;
using static Tbptt.Tests.TestModels;

namespace Tbptt.Tests;

/// <summary>The side-by-side evaluator against the evaluation it replaced: one stream at a time, its summed loss.</summary>
public class EvaluationTests
{
    /// <summary>The previous evaluation, kept as the reference: one stream, chunks on a fresh tape, one loss sum.</summary>
    private static double Reference(SequenceModel<float> model, TokenStream stream, int chunk)
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

    [Theory]
    [InlineData(CellKind.Lstm, 2, 7)]
    [InlineData(CellKind.Gru, 1, 50)]
    [InlineData(CellKind.Elman, 3, 4)]
    public void SideBySideStreamsGiveEachStreamsOwnLoss(CellKind cell, int layers, int chunk)
    {
        var config = Tokens(cell, layers) with { Dropout = 0.3 }; // evaluation ignores dropout
        var model = SequenceModel<float>.Create(config, 3);
        // Different widths and lengths: the shorter stream is padded in the shared batch.
        var valid = TokenStream.NextToken(RandomTokens(5 * 41, config.InputSize, 1), 5);
        var test = TokenStream.NextToken(RandomTokens(3 * 37, config.InputSize, 2), 3);
        var evaluator = new Evaluator(model, [valid, test], chunk);
        var both = evaluator.MeanLosses();
        double v = Reference(model, valid, chunk), t = Reference(model, test, chunk);
        Assert.Equal(v, both[0], v * 1e-6);
        Assert.Equal(t, both[1], t * 1e-6);
        Assert.NotEqual(both[0], both[1]);

        // A second round on changed parameters starts from a zero state, as a fresh evaluator would.
        var p = model.Parameters.Data;
        for (int i = 0; i < p.Length; i++) p[i] *= 0.9f;
        var again = evaluator.MeanLosses();
        Assert.Equal(Reference(model, valid, chunk), again[0], v * 1e-6);
        Assert.Equal(Reference(model, test, chunk), again[1], t * 1e-6);
        Assert.Equal(Reference(model, valid, 1000), Evaluation.MeanLoss(model, valid, chunk), v * 1e-6);
    }
}
