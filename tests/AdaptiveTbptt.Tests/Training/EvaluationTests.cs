using Tbptt.Engine;
using Tbptt.Models;
using Tbptt.Numerics;
using Tbptt.Training;
using Tbptt.Truncation;
using static Tbptt.Tests.TestModels;

namespace Tbptt.Tests;

/// <summary>
/// The forward-only, side-by-side evaluator against the evaluation it replaced: one stream at a time on a tape
/// (the training engine's forward), its summed loss. Equal to float rounding on any backend (relative 1e-5, the
/// contract), and bit for bit on the managed kernel, whose products never split a row's sum.
/// </summary>
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

    private static void Same(double expected, double actual)
    {
        Assert.Equal(expected, actual, Math.Abs(expected) * 1e-5);
        if (Blas.Active.Name == "managed") Assert.Equal(expected, actual); // bit for bit
    }

    [Theory]
    [InlineData(CellKind.Lstm, 2, 7, 37)]
    [InlineData(CellKind.Lstm, 1, 200, 150)] // hidden 150: the products' depth spans several of the kernel's k slices
    [InlineData(CellKind.Gru, 1, 50, 21)]
    [InlineData(CellKind.Gru, 2, 3, 150)]
    [InlineData(CellKind.Elman, 3, 4, 9)]
    public void SideBySideStreamsGiveEachStreamsOwnLoss(CellKind cell, int layers, int chunk, int hidden)
    {
        var config = Tokens(cell, layers) with { Dropout = 0.3, HiddenSize = hidden, EmbedSize = 6, InputSize = 11, OutputSize = 11 }; // evaluation ignores dropout
        var model = SequenceModel<float>.Create(config, 3);
        // Different widths and lengths: the shorter stream is padded in the shared batch.
        var valid = TokenStream.NextToken(RandomTokens(5 * 41, config.InputSize, 1), 5);
        var test = TokenStream.NextToken(RandomTokens(3 * 37, config.InputSize, 2), 3);
        var evaluator = new Evaluator(model, [valid, test], chunk);
        var both = evaluator.MeanLosses();
        double v = Reference(model, valid, chunk), t = Reference(model, test, chunk);
        Same(v, both[0]);
        Same(t, both[1]);
        Assert.NotEqual(both[0], both[1]);

        // A second round on changed parameters starts from a zero state, as a fresh evaluator would.
        var p = model.Parameters.Data;
        for (int i = 0; i < p.Length; i++) p[i] *= 0.9f;
        var again = evaluator.MeanLosses();
        Same(Reference(model, valid, chunk), again[0]);
        Same(Reference(model, test, chunk), again[1]);
        // The chunk bounds memory only; one stream alone is the same stream side by side.
        Same(Reference(model, valid, 1000), Evaluation.MeanLoss(model, valid, chunk));
        Same(again[1], new Evaluator(model, [test], 1).MeanLosses()[0]);
    }

    /// <summary>
    /// Lanes (columns cut across threads, each with single-threaded products) and the token table (the first
    /// layer's input side looked up instead of projected) are speed only: every split and both ways give the
    /// numbers of one lane projecting each chunk, bit for bit on the managed kernel — streams straddling a lane's
    /// edge, a padded shorter stream and a second round on new parameters included.
    /// </summary>
    [Theory]
    [InlineData(CellKind.Lstm, 2, 29)]
    [InlineData(CellKind.Gru, 2, 40)]
    [InlineData(CellKind.Elman, 1, 17)]
    public void LanesAndTheTokenTableChangeNoNumber(CellKind cell, int layers, int hidden)
    {
        var config = Tokens(cell, layers) with { Dropout = 0.2, HiddenSize = hidden, EmbedSize = 5, InputSize = 7, OutputSize = 7 };
        var model = SequenceModel<float>.Create(config, 4);
        var valid = TokenStream.NextToken(RandomTokens(13 * 30, 7, 5), 13);
        var test = TokenStream.NextToken(RandomTokens(6 * 23, 7, 6), 6);
        var plain = new Evaluator(model, [valid, test], 8, lanes: 1, tokenTable: false);
        Assert.False(plain.UsesTokenTable);
        var expected = plain.MeanLosses();
        EverySplitGives(expected, model, [valid, test], 8, 1, 2, 3, 19);
        var p = model.Parameters.Data;
        for (int i = 0; i < p.Length; i++) p[i] *= 1.1f;
        var moved = new Evaluator(model, [valid, test], 8, lanes: 1, tokenTable: false).MeanLosses();
        Assert.NotEqual(expected[0], moved[0]);
        var reused = new Evaluator(model, [valid, test], 8, lanes: 3, tokenTable: true);
        Assert.Equal(reused.MeanLosses(), reused.MeanLosses()); // a reused evaluator's second round is its first
        Same(moved[0], reused.MeanLosses()[0]);
        Same(moved[1], reused.MeanLosses()[1]);
    }

    /// <summary>
    /// The same with products large enough to be split across threads (the managed kernel splits from 2²⁰
    /// multiply-adds: a lane's 11 rows × 640 × 160 is over): one lane splits them, several lanes each compute theirs
    /// on their own thread — GemmThreads' nesting rule — and the numbers stay the same.
    /// </summary>
    [Fact]
    public void LanesWhoseProductsAreLargeChangeNoNumberEither()
    {
        var (model, valid, test) = ModelAndSplits(Tokens(CellKind.Lstm, 2) with { HiddenSize = 160, EmbedSize = 64, InputSize = 65, OutputSize = 65 },
            8, (26, 13), (7, 9));
        var expected = new Evaluator(model, [valid, test], 5, lanes: 1, tokenTable: false).MeanLosses();
        EverySplitGives(expected, model, [valid, test], 5, 2, 3);
    }

    /// <summary>The same at matmul precision medium: on AMX tiles a row's sums do not depend on the other rows of its
    /// product either, so lanes and the table change no bit there too (float32 where the CPU has no tiles).</summary>
    [Fact]
    public void LanesChangeNoNumberAtMediumPrecisionEither()
    {
        using var medium = Numerics.Blas.UsePrecision(Numerics.MatmulPrecision.Medium);
        var (model, valid, test) = ModelAndSplits(Tokens(CellKind.Lstm, 2) with { HiddenSize = 160, EmbedSize = 64, InputSize = 65, OutputSize = 65 },
            9, (26, 13), (7, 9));
        var expected = new Evaluator(model, [valid, test], 5, lanes: 1, tokenTable: false).MeanLosses();
        EverySplitGives(expected, model, [valid, test], 5, 2, 3);
        if (Numerics.AmxBlas.Instance is { } amx) // on the tiles the evaluator chooses lanes, as on the managed kernel
            Assert.Equal(Math.Min(amx.MaxThreads, 33 / Evaluator.MinLaneColumns), new Evaluator(model, [valid, test], 5).Lanes);
    }

    /// <summary>A model and two random token streams of (columns, rows) each, for the evaluator.</summary>
    private static (SequenceModel<float> Model, TokenStream Valid, TokenStream Test) ModelAndSplits(ModelConfig config, int seed,
        (int Columns, int Rows) valid, (int Columns, int Rows) test) =>
        (SequenceModel<float>.Create(config, seed),
         TokenStream.NextToken(RandomTokens(valid.Columns * valid.Rows, config.InputSize, seed + 1), valid.Columns),
         TokenStream.NextToken(RandomTokens(test.Columns * test.Rows, config.InputSize, seed + 2), test.Columns));

    /// <summary>Each lane count of <paramref name="lanes"/>, with the token table and without, gives <paramref name="expected"/>.</summary>
    private static void EverySplitGives(double[] expected, SequenceModel<float> model, TokenStream[] streams, int chunk, params int[] lanes)
    {
        foreach (int l in lanes)
            foreach (bool table in new[] { false, true })
            {
                var e = new Evaluator(model, streams, chunk, l, table);
                Assert.Equal((l, table), (e.Lanes, e.UsesTokenTable));
                var actual = e.MeanLosses();
                for (int i = 0; i < expected.Length; i++) Same(expected[i], actual[i]);
            }
    }

    /// <summary>A token the vocabulary does not have is refused in a lane as it was before lanes: the lane's error reaches the caller.</summary>
    [Fact]
    public void ATokenOutOfRangeInAnyLaneIsAnError()
    {
        var config = Tokens(CellKind.Lstm, 1) with { HiddenSize = 8, EmbedSize = 3, InputSize = 5, OutputSize = 5 };
        var model = SequenceModel<float>.Create(config, 1);
        var tokens = RandomTokens(4 * 10, 5, 1);
        tokens[8 * 4 + 3] = 9; // [rows, B]: row 8 of column 3, an input of the second lane's last chunk
        var stream = TokenStream.NextToken(tokens, 4);
        foreach (bool table in new[] { false, true })
            Assert.Throws<ArgumentOutOfRangeException>(() => new Evaluator(model, [stream], 3, lanes: 2, tokenTable: table).MeanLosses());
    }

    [Fact]
    public void TheSameParametersGiveTheSameNumbersTwice()
    {
        var (model, valid, test) = ModelAndSplits(Tokens(CellKind.Lstm, 2) with { HiddenSize = 64, EmbedSize = 8, InputSize = 13, OutputSize = 13 },
            5, (10, 120), (10, 110));
        var first = new Evaluator(model, [valid, test], 200).MeanLosses();
        var reused = new Evaluator(model, [valid, test], 200);
        reused.MeanLosses();
        Assert.Equal(first, reused.MeanLosses()); // bit for bit, a reused evaluator included
        Assert.Equal(first, new Evaluator(model, [valid, test], 200).MeanLosses());
    }

    [Fact]
    public void TheTrainerValidatesEveryRoundAndTestsItsBestParametersOnceWhenItStops()
    {
        var config = Tokens(CellKind.Lstm, 2) with { HiddenSize = 24, EmbedSize = 6, InputSize = 9, OutputSize = 9, Dropout = 0.2 };
        var model = SequenceModel<float>.Create(config, 2);
        var train = TokenStream.NextToken(RandomTokens(4 * 200, 9, 1), 4);
        var valid = TokenStream.NextToken(RandomTokens(3 * 90, 9, 2), 3);
        var test = TokenStream.NextToken(RandomTokens(2 * 70, 9, 3), 2);
        // A step large enough that the last round is not the best one: the test must be of the best parameters.
        var trainer = new Trainer(model, new TrainerOptions { Epochs = 3, LearningRate = 4, Optimizer = "sgd", EvaluationsPerEpoch = 3 }, train, valid, test)
            { Policy = new FixedTruncation(10, 10) };
        float[]? atLastRound = null;
        int checkpoints = 0;
        trainer.Evaluated += _ => atLastRound = (float[])model.Parameters.Data.Clone();
        trainer.Checkpoint = t =>
        {
            checkpoints++;
            Assert.True(double.IsNaN(t.TestLossAtBest) == (checkpoints <= trainer.Evaluations.Count)); // tested after the last round only
        };
        var summary = trainer.Run();
        var last = summary.Evaluations[^1];
        Assert.NotEqual(summary.UpdatesAtBest, last.Updates);
        Same(Reference(model, valid, 200), last.ValidLoss);
        Assert.Equal(atLastRound, model.Parameters.Data); // the model is left as training left it
        var best = SequenceModel<float>.Create(config, 2);
        trainer.BestParameters.CopyTo(best.Parameters.Data, 0);
        Same(Reference(best, valid, 200), summary.BestValidLoss);
        Same(Reference(best, test, 200), summary.TestLossAtBest);
        Assert.Equal(summary.Evaluations.Count + 1, checkpoints); // every round, then once more with the test loss
        Assert.True(summary.EvalSeconds > last.EvalSeconds && summary.EvalSeconds <= summary.WallSeconds, "the test's time is evaluation time");
    }
}
