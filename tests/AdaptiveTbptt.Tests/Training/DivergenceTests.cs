using Tbptt.Truncation;
using Tbptt.Models;
using Tbptt.Optimizers;
using Tbptt.Training;
using static Tbptt.Tests.TestModels;

namespace Tbptt.Tests;

/// <summary>
/// Issue 11 §1: a diverging run stops (or skips) at the update that went non-finite, names it, and never hands a
/// non-finite value to its checkpoint callback.
/// </summary>
public class DivergenceTests
{
    private static readonly ModelConfig Config = Tokens(CellKind.Lstm, 1);

    private static Trainer Make(SequenceModel<float> model, TrainerOptions options, List<TrainerState> saved)
    {
        var train = TokenStream.NextToken(RandomTokens(4 * 90, Config.InputSize, 1), 4);
        var valid = TokenStream.NextToken(RandomTokens(4 * 30, Config.InputSize, 2), 4);
        var trainer = new Trainer(model, options, train, valid) { Policy = new FixedTruncation(4, 4) };
        trainer.Checkpoint = t => saved.Add(t.ExportState());
        return trainer;
    }

    private static bool Finite(float[] values) => values.All(float.IsFinite);

    [Fact]
    public void A_huge_step_size_stops_the_run_and_no_checkpoint_holds_a_non_finite_value()
    {
        var model = SequenceModel<float>.Create(Config, 3);
        var saved = new List<TrainerState>();
        var trainer = Make(model, new TrainerOptions { LearningRate = 1e30, Clip = 0, Epochs = 3, EvaluationsPerEpoch = 4 }, saved);
        var summary = trainer.Run();

        Assert.NotNull(summary.Divergence);
        Assert.True(summary.Diverged);
        Assert.False(summary.Interrupted);
        Assert.InRange(summary.Divergence!.Update, 1, 3); // within the first few updates, not at the end of 3 epochs
        Assert.Matches(@"^training diverged at update \d+ \(epoch [\d.]+\): .*(NaN|∞|infinite)", summary.Divergence.ToString());
        Assert.All(saved, s => Assert.True(Finite(s.Parameters) && Finite(s.BestParameters)));
        Assert.True(Finite(trainer.BestParameters));
        Assert.All(summary.Evaluations, e => Assert.True(double.IsFinite(e.ValidLoss)));
    }

    [Fact]
    public void A_run_diverging_after_a_good_round_tests_its_best_parameters_and_saves_nothing_after()
    {
        var model = SequenceModel<float>.Create(Config, 3);
        var train = TokenStream.NextToken(RandomTokens(4 * 90, Config.InputSize, 1), 4);
        var valid = TokenStream.NextToken(RandomTokens(4 * 30, Config.InputSize, 2), 4);
        var test = TokenStream.NextToken(RandomTokens(3 * 40, Config.InputSize, 3), 3);
        var trainer = new Trainer(model, new TrainerOptions { Epochs = 3, EvaluationsPerEpoch = 2 }, train, valid, test)
            { Policy = new FixedTruncation(4, 4) };
        var saved = new List<TrainerState>();
        trainer.Checkpoint = t => saved.Add(t.ExportState());
        // After the first round a weight goes NaN, as a step overflowing would leave it: the next update's loss is NaN.
        trainer.Evaluated += r => { if (r.Updates == trainer.Evaluations[0].Updates) model.Parameters.Values(model.DecoderBias)[0] = float.NaN; };
        var summary = trainer.Run();

        Assert.True(summary.Diverged);
        Assert.Single(summary.Evaluations);
        Assert.Single(saved); // the round's checkpoint; none after the divergence or the test
        Assert.True(double.IsNaN(saved[0].Counters.TestLossAtBest));
        var best = SequenceModel<float>.Create(Config, 3);
        trainer.BestParameters.CopyTo(best.Parameters.Data, 0);
        Assert.Equal(Evaluation.MeanLoss(best, test, trainer.Options.EvalChunk), summary.TestLossAtBest);
        Assert.True(double.IsFinite(summary.TestLossAtBest));
        Assert.True(float.IsNaN(model.Parameters.Values(model.DecoderBias)[0])); // the model is left as training left it
    }

    [Fact]
    public void Stop_policy_stops_at_the_first_non_finite_update_without_stepping()
    {
        var model = SequenceModel<float>.Create(Config, 3);
        model.Parameters.Values(model.DecoderBias)[0] = float.NaN; // every loss from the first update on is NaN
        var before = (float[])model.Parameters.Data.Clone();
        var saved = new List<TrainerState>();
        var summary = Make(model, new TrainerOptions { Epochs = 2 }, saved).Run();

        Assert.Equal(1, summary.Divergence!.Update);
        Assert.Equal(0, summary.Updates);
        Assert.Equal("the loss is NaN and the gradient norm is NaN", summary.Divergence.What);
        Assert.Empty(saved);
        Assert.Empty(summary.Evaluations);
        Assert.Equal(before, model.Parameters.Data); // nothing was stepped (NaN compares unequal, so compare bits)
    }

    [Fact]
    public void Skip_policy_skips_and_counts_then_stops_after_ten_in_a_row()
    {
        var model = SequenceModel<float>.Create(Config, 3);
        model.Parameters.Values(model.DecoderBias)[0] = float.NaN;
        var saved = new List<TrainerState>();
        var summary = Make(model, new TrainerOptions { Epochs = 2, OnNonFinite = NonFinitePolicy.Skip }, saved).Run();

        Assert.Equal(NonFiniteGuard.DefaultMaxConsecutiveSkips - 1, summary.SkippedUpdates);
        Assert.Equal(0, summary.Updates);
        Assert.Contains("10 updates in a row", summary.Divergence!.What);
        Assert.Empty(saved);
    }

    [Fact]
    public void The_guard_skips_transient_non_finite_updates_and_resets_its_run_count()
    {
        var guard = new NonFiniteGuard(NonFinitePolicy.Skip, maxConsecutiveSkips: 3);
        Assert.Equal(UpdateVerdict.Step, guard.Check(1.0, 2.0, 1, 0));
        Assert.Equal(UpdateVerdict.Skip, guard.Check(double.NaN, 2.0, 2, 0));
        Assert.Equal(UpdateVerdict.Skip, guard.Check(1.0, double.PositiveInfinity, 3, 0));
        Assert.Equal(UpdateVerdict.Step, guard.Check(1.0, 2.0, 4, 0)); // a good update ends the run of skips
        Assert.Equal(0, guard.ConsecutiveSkips);
        Assert.Equal(UpdateVerdict.Skip, guard.Check(double.NaN, double.NaN, 5, 0.5));
        Assert.Equal(UpdateVerdict.Skip, guard.Check(double.NaN, double.NaN, 6, 0.5));
        Assert.Equal(UpdateVerdict.Stop, guard.Check(double.NaN, double.NaN, 7, 0.5));
        Assert.Equal(4, guard.Skipped);
        Assert.Equal(7, guard.Divergence!.Update);
        Assert.Equal(UpdateVerdict.Stop, guard.Check(1.0, 1.0, 8, 0.5)); // diverged stays diverged
        Assert.Equal("training diverged at update 7 (epoch 0.5): the loss is NaN and the gradient norm is NaN (3 updates in a row; 5 skipped in all)",
            guard.Divergence.ToString());
    }

    [Fact]
    public void The_guard_catches_parameters_that_overflow_in_the_step()
    {
        var guard = new NonFiniteGuard();
        Assert.True(guard.CheckParameters([1f, -2f, 3f], 1, 0));
        Assert.False(guard.CheckParameters([1f, float.PositiveInfinity, 3f], 2, 0.25));
        Assert.Contains("parameter became NaN or infinite", guard.Divergence!.What);
        Assert.Equal(UpdateVerdict.Stop, guard.Check(1, 1, 3, 0.25));
    }

    [Fact]
    public void Clipping_leaves_a_non_finite_gradient_alone_and_reports_its_norm()
    {
        float[] nan = [1f, float.NaN, 2f], inf = [1f, float.PositiveInfinity, 2f];
        Assert.True(double.IsNaN(GradientClipping.ClipGlobalNorm<float>(nan, 1.0)));
        Assert.Equal(1f, nan[0]); // not scaled by 1/NaN (which would poison it) …
        Assert.Equal(double.PositiveInfinity, GradientClipping.ClipGlobalNorm<float>(inf, 1.0));
        Assert.Equal(1f, inf[0]); // … nor by 1/∞ (which would zero it and hide the divergence)
        float[] big = [3f, 4f];
        Assert.Equal(5.0, GradientClipping.ClipGlobalNorm<float>(big, 1.0));
        Assert.Equal(0.6f, big[0], 5);
    }

    [Fact]
    public void Numbers_that_would_reach_a_file_as_NaN_or_overflow_a_TimeSpan_are_refused()
    {
        foreach (var bad in new[]
                 {
                     new TrainerOptions { LearningRate = double.PositiveInfinity }, new TrainerOptions { LearningRate = double.NaN },
                     new TrainerOptions { Clip = double.PositiveInfinity }, new TrainerOptions { Clip = double.NaN },
                     new TrainerOptions { WeightDecay = double.NaN }, new TrainerOptions { Momentum = 1 },
                     new TrainerOptions { TimeLimit = TimeSpan.Zero }, new TrainerOptions { ComputeBudget = 0 },
                     new TrainerOptions { MaxProbeShare = 0 },
                 })
            Assert.ThrowsAny<ArgumentException>(bad.Validate);
        foreach (double minutes in new[] { 1e300, double.PositiveInfinity, double.NaN, 0, -1 })
            Assert.ThrowsAny<ArgumentException>(() => TrainerOptions.TimeLimitFromMinutes(minutes));
        Assert.Equal(TimeSpan.FromMinutes(2), TrainerOptions.TimeLimitFromMinutes(2));
        Assert.ThrowsAny<ArgumentException>(new AdaptiveOptions { Delta = double.PositiveInfinity }.Validate);
    }
}
