using FsCheck;
using FsCheck.Fluent;
using Tbptt.LanguageModel.Text;
using Tbptt.Models;
using Tbptt.Training;

namespace Tbptt.Tests;

/// <summary>
/// Evaluation columns with a warm-up context (<see cref="Batchify.EvaluationStream"/>): they score exactly the
/// predictions of plain columns, each column is a contiguous piece of the text, and a context that reaches back to
/// the start of the split gives every column the state of one long stream — the loss of a single column.
/// </summary>
public class EvaluationStreamTests
{
    /// <summary>(target position in the text, input token) of every scored step, column by column, from a stream
    /// whose tokens are their own positions.</summary>
    private static List<(int Target, int Input)> Scored(TokenStream s)
    {
        var scored = new List<(int, int)>();
        for (int b = 0; b < s.Batch; b++)
            for (int t = 0; t < s.Steps; t++)
                if (s.Targets[t * s.Batch + b] >= 0) scored.Add((s.Targets[t * s.Batch + b], s.Inputs[t * s.Batch + b]));
        return scored;
    }

    [Fact]
    public void ScoresThePredictionsOfPlainColumnsWithEachColumnContiguousText()
    {
        var cases =
            from n in Gen.Choose(2, 400)
            from batch in Gen.Choose(1, Math.Max(1, n / 2))
            from context in Gen.Choose(0, 2 * n)
            select (n, batch, context);
        Prop.ForAll(Arb.From(cases), c =>
        {
            var text = Enumerable.Range(0, c.n).ToArray(); // each token is its position
            var plain = TokenStream.NextToken(Batchify.Columns(text, c.batch, out int rows), c.batch);
            var warm = Batchify.EvaluationStream(text, c.batch, c.context);
            int reach = c.batch == 1 ? 0 : Math.Min(c.context, rows);
            bool same = Scored(plain).SequenceEqual(Scored(warm));
            bool contiguous = true, paddedAtEnd = true;
            for (int b = 0; b < warm.Batch; b++)
            {
                int first = warm.Inputs[b];
                int expectedFirst = b * rows - (b == 0 ? 0 : reach);
                contiguous &= first == expectedFirst;
                int live = rows - 1 + (b == 0 ? 0 : reach);
                for (int t = 0; t < warm.Steps; t++)
                {
                    int i = warm.Inputs[t * warm.Batch + b], y = warm.Targets[t * warm.Batch + b];
                    if (t < live) contiguous &= i == first + t && (y == -1 || y == i + 1) && (y == -1) == (t < live - (rows - 1));
                    else paddedAtEnd &= i == 0 && y == -1;
                }
            }
            bool bounded = (long)warm.Steps * warm.Batch < 2L * c.n;
            bool zeroIsPlain = c.context > 0 || (warm.Inputs.SequenceEqual(plain.Inputs) && warm.Targets.SequenceEqual(plain.Targets));
            return same && contiguous && paddedAtEnd && bounded && zeroIsPlain && warm.Steps == rows - 1 + reach;
        }).QuickCheckThrowOnFailure();
    }

    [Theory]
    [InlineData(CellKind.Lstm)]
    [InlineData(CellKind.Gru)]
    [InlineData(CellKind.Elman)]
    public void AContextBackToTheStartGivesEachColumnTheStateOfOneStream(CellKind cell)
    {
        var config = new ModelConfig
        {
            Cell = cell, Layers = 2, Input = InputKind.Tokens, InputSize = 9, EmbedSize = 5, HiddenSize = 12,
            OutputSize = 9, Loss = LossKind.CrossEntropy,
        };
        var model = SequenceModel<float>.Create(config, 4);
        var rng = new Random(7);
        const int rows = 60;
        var text = Enumerable.Range(0, 2 * rows).Select(_ => rng.Next(9)).ToArray();

        // Two columns, the second warmed by all of the first's text: its scored steps run on one stream's state.
        double warm = Evaluation.MeanLoss(model, Batchify.EvaluationStream(text, 2, rows), chunk: 17);

        // One column over the whole text, scoring what the two columns score: all but the prediction of token R.
        var inputs = text[..^1];
        var targets = text[1..];
        targets[rows - 1] = -1;
        double single = Evaluation.MeanLoss(model, new TokenStream(inputs, targets, 1), chunk: 23);
        // Float rounding on any backend; on the managed kernel, whose products never split a row's sum, the same
        // per-step losses summed in another order.
        Assert.Equal(single, warm, Math.Abs(single) * (Tbptt.Numerics.Blas.Active.Name == "managed" ? 1e-12 : 1e-5));

        // Warm streams of different widths and lengths side by side (a trainer's validation and test): each its own loss.
        var other = Enumerable.Range(0, 97).Select(_ => rng.Next(9)).ToArray();
        TokenStream a = Batchify.EvaluationStream(text, 5, 9), b = Batchify.EvaluationStream(other, 3, 4);
        var both = new Evaluator(model, [a, b], 11).MeanLosses();
        double tolerance = Tbptt.Numerics.Blas.Active.Name == "managed" ? 1e-12 : 1e-5;
        Assert.Equal(Evaluation.MeanLoss(model, a, 11), both[0], Math.Abs(both[0]) * tolerance);
        Assert.Equal(Evaluation.MeanLoss(model, b, 11), both[1], Math.Abs(both[1]) * tolerance);

        // Without the context the second column starts cold, and the loss differs.
        double cold = Evaluation.MeanLoss(model, Batchify.EvaluationStream(text, 2, 0));
        Assert.NotEqual(single, cold, Math.Abs(single) * 1e-6);
    }
}
