using System.Text.Json;
using Tbptt.LanguageModel.Experiments;
using Tbptt.LanguageModel.Synthetic;
using Tbptt.Models;
using Tbptt.Probes;
using Tbptt.Training;

namespace Tbptt.Tests;

/// <summary>Issue 11 §1: in a comparison a diverged run is reported as diverged and the others go on.</summary>
public class DivergedComparisonTests
{
    private static ComparisonOptions Options(string dir, double lr) => new()
    {
        Model = new ModelConfig { Cell = CellKind.Lstm, Layers = 1, InputSize = 6, EmbedSize = 8, HiddenSize = 8, OutputSize = 6 },
        Trainer = new TrainerOptions { LearningRate = lr, Clip = 0, Epochs = 1, EvaluationsPerEpoch = 2 },
        Adaptive = new AdaptiveOptions { K0 = 6, KMin = 2, KMax = 12, Probes = 1 },
        Probe = new ProbeOptions { Window = 12, Samples = 4 },
        Runs = [RunSpec.Fixed(3), RunSpec.Fixed(5)],
        Seeds = [1, 2],
        OutputDirectory = dir,
    };

    private static (TokenStream, TokenStream, TokenStream) Data(int seed)
    {
        var s = new CopyTask(4).GenerateSplits(seed, batch: 4, trainSteps: 120, evalSteps: 40);
        return (new TokenStream(s.Train.Inputs, s.Train.Targets, 4), new TokenStream(s.Valid.Inputs, s.Valid.Targets, 4),
            new TokenStream(s.Test.Inputs, s.Test.Targets, 4));
    }

    [Fact]
    public void Every_run_of_a_diverging_comparison_runs_and_is_reported_as_diverged()
    {
        string dir = Directory.CreateTempSubdirectory("tbptt-diverged-").FullName;
        var results = Comparison.Run(Options(dir, 1e38), Data, new StringWriter(), CancellationToken.None);

        Assert.Equal(2, results.Count);
        Assert.All(results, r => Assert.Equal(2, r.Runs.Count)); // the first divergence stopped nothing else
        Assert.All(results.SelectMany(r => r.Runs), s => Assert.True(s.Diverged));
        Assert.All(results.SelectMany(r => r.FinalProfiles), Assert.Null); // no probe of a diverged model
        var table = File.ReadAllText(Path.Combine(dir, "table.md"));
        Assert.Contains("| K=3 (diverged) | diverged | diverged |", table);
        using var run = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "runs", "fixed-k5-seed2.json")));
        Assert.True(run.RootElement.GetProperty("diverged").GetBoolean());
        using var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "summary.json")));
        Assert.Equal([true, true], summary.RootElement[0].GetProperty("diverged").EnumerateArray().Select(e => e.GetBoolean()));
    }

    [Fact]
    public void The_table_states_which_seeds_diverged_and_averages_the_others()
    {
        var o = Options("unused", 1) with { Metric = "ppl" };
        TrainingSummary Run(double loss, Divergence? d) => new("fixed", 10, 1, 1000, 0, 1, loss, loss, 10, 3, false, [], d);
        var results = new[]
        {
            new ConfigurationResult(RunSpec.Fixed(3), [Run(Math.Log(2), null), Run(Math.Log(4), null), Run(double.PositiveInfinity, new Divergence(7, 0.25, "the loss is NaN"))], [], []),
            new ConfigurationResult(RunSpec.Fixed(5), [Run(Math.Log(3), null)], [], []),
        };
        var table = ComparisonReport.Table(o, results);
        Assert.Contains("| K=3 (1 of 3 diverged) | 3.000 (1.414) | 3.000 (1.414) | 3, 3, 3 |", table);
        Assert.Contains("| 3 (diverged at update 7) |", table);
        Assert.Contains("| K=5 | 3.000 (0.000) |", table);
    }
}
