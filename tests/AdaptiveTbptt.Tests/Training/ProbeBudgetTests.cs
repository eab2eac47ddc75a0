using Tbptt.Models;
using Tbptt.Probes;
using Tbptt.Training;
using Tbptt.Truncation;
using static Tbptt.Tests.TestModels;

namespace Tbptt.Tests;

public class ProbeBudgetTests
{
    private static TrainingSummary Run(double? maxShare)
    {
        var config = Tokens(CellKind.Lstm, 1);
        var model = SequenceModel<float>.Create(config, 2);
        var train = TokenStream.NextToken(RandomTokens(4 * 200, config.InputSize, 1), 4);
        var valid = TokenStream.NextToken(RandomTokens(4 * 20, config.InputSize, 2), 4);
        var trainer = new Trainer(model, new TrainerOptions { Epochs = 2, EvaluationsPerEpoch = 6, MaxProbeShare = maxShare, LearningRate = 0.1 }, train, valid);
        trainer.Policy = new AdaptiveTruncation(new AdaptiveOptions { K0 = 4, KMin = 2, KMax = 8, Probes = 2 },
            trainer.CreateProbe(new ProbeOptions { Window = 30, Samples = 8 }));
        return trainer.Run();
    }

    [Fact]
    public void ReestimatesAreSkippedToKeepProbesWithinTheirShare()
    {
        var unlimited = Run(null);
        Assert.True(unlimited.ProbeComputeTokens > 0.1 * unlimited.ComputeTokens, "the set-up must make probes expensive for the test to mean anything");
        var limited = Run(0.1);
        Assert.True(limited.ProbeComputeTokens > 0, "the first estimate always runs");
        Assert.True(limited.ProbeComputeTokens < unlimited.ProbeComputeTokens);
        // After the first estimate (whose cost is unknown beforehand) every re-estimate respects the share:
        // either the share holds, or only that first estimate ran.
        double share = (double)limited.ProbeComputeTokens / limited.ComputeTokens;
        const long oneEstimate = 2 * 8 * (30 / 10 + 2 * 30); // P · S · (b + 2W): probes' forward and backward steps
        Assert.True(share <= 0.1 || limited.ProbeComputeTokens == oneEstimate, $"share {share:P1}, probes {limited.ProbeComputeTokens}");
    }

    /// <summary>The trainer's batched re-estimate measures the tables its single probe would, from the same draws of
    /// the run's generator, and counts the same compute.</summary>
    [Fact]
    public void BatchedProbesMeasureWhatSingleProbesMeasure()
    {
        (Trainer, SequenceModel<float>) Make()
        {
            var config = Tokens(CellKind.Lstm, 2) with { HiddenSize = 16 };
            var model = SequenceModel<float>.Create(config, 2);
            var train = TokenStream.NextToken(RandomTokens(4 * 200, config.InputSize, 1), 4);
            var valid = TokenStream.NextToken(RandomTokens(4 * 20, config.InputSize, 2), 4);
            return (new Trainer(model, new TrainerOptions { Seed = 7 }, train, valid), model);
        }
        var options = new ProbeOptions { Window = 30, Samples = 8 };
        var (one, _) = Make();
        var single = one.CreateProbe(options);
        var expected = Enumerable.Range(0, 5).Select(_ => single()).ToArray();
        var (batched, _) = Make();
        var actual = batched.CreateProbes(options)(5);
        Assert.Equal(5, actual.Count);
        bool managed = Tbptt.Numerics.Blas.Active.Name == "managed";
        for (int p = 0; p < 5; p++)
            for (int k = 0; k < options.Window; k++)
            {
                for (int i = 0; i < options.Samples; i++)
                {
                    Assert.Equal(expected[p][k, i], actual[p][k, i], Math.Abs(expected[p][k, i]) * 1e-5);
                    if (managed) Assert.Equal(expected[p][k, i], actual[p][k, i]);
                }
                Assert.True(expected[p].MeanGradient(k).SequenceEqual(actual[p].MeanGradient(k)) || !managed);
            }
        Assert.Equal(one.ProbeComputeTokens, batched.ProbeComputeTokens);
        Assert.Equal(one.Rng.State, batched.Rng.State); // the same draws
        Assert.True(batched.ProbeSeconds > 0);
    }
}
