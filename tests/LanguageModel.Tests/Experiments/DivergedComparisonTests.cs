using System.Text.Json;
using Tbptt.LanguageModel.Experiments;
using Tbptt.LanguageModel.Runs;
using Tbptt.LanguageModel.Sweeps;
using Tbptt.Training;

namespace Tbptt.Tests;

/// <summary>Issue 11 §1: in a comparison a diverged run is reported as diverged and the others go on.</summary>
public class DivergedComparisonTests
{
    private static SweepPlan Plan(double lr)
    {
        var t = CopyExperimentTests.Template(epochs: 1);
        t = t with { Training = t.Training with { LearningRate = lr, Clip = 0 }, Model = t.Model with { Layers = 1 } };
        return SweepPlan.Grid("copy", "diverging", t, [3, 5], [], [1, 2]);
    }

    [Fact]
    public void Every_run_of_a_diverging_comparison_runs_and_is_reported_as_diverged()
    {
        string dir = Directory.CreateTempSubdirectory("tbptt-diverged-").FullName;
        var plan = Plan(1e38);
        plan.Save(dir);
        foreach (var e in plan.Entries)
            Assert.Equal(WorkerOutcome.Diverged, SweepWorker.Run(dir, e.Index, TextWriter.Null, CancellationToken.None)); // the first stopped nothing else
        Assert.Equal(WorkerOutcome.AlreadyDone, SweepWorker.Run(dir, 0, TextWriter.Null, CancellationToken.None)); // a result, not retried
        var (results, missing) = SweepAggregate.Write(dir, plan);
        Assert.Empty(missing);
        Assert.Equal(2, results.Count);
        Assert.All(results, r => Assert.Equal(2, r.Runs.Count));
        Assert.All(results.SelectMany(r => r.Runs), s => Assert.True(s.Diverged));
        Assert.All(results.SelectMany(r => r.Runs), s => Assert.Null(s.FinalProfile)); // no probe of a diverged model
        var table = File.ReadAllText(Path.Combine(dir, "table.md"));
        Assert.Contains("| K=3 (diverged) | diverged | diverged |", table);
        string run = Path.Combine(dir, "runs", "fixed-k5-seed2");
        Assert.Equal(EntryState.Diverged, EntryStatus.Read(run).State);
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "summary.json")));
        Assert.True(json.RootElement.GetProperty("diverged").GetBoolean());
        string what = json.RootElement.GetProperty("divergence").GetProperty("what").GetString()!;
        Assert.Contains(what, EntryStatus.Read(run).Message); // sweep status says what went non-finite
        Assert.InRange(json.RootElement.GetProperty("divergence").GetProperty("update").GetInt64(), 1, 2);
        Assert.False(File.Exists(Path.Combine(run, "checkpoint.safetensors"))); // nothing non-finite is saved
        using var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "summary.json")));
        Assert.Equal([true, true], summary.RootElement[0].GetProperty("diverged").EnumerateArray().Select(e => e.GetBoolean()));
    }

    [Fact]
    public void The_table_states_which_seeds_diverged_and_averages_the_others()
    {
        RunSummary Run(double loss, Divergence? d) => new()
        {
            Task = "copy", Policy = "K=3", Seed = 1, Updates = 10, Epochs = 1, ComputeTokens = 1000, ProbeComputeTokens = 0, WallSeconds = 1,
            BestValidLoss = loss, TestLossAtBest = loss, UpdatesAtBest = 10, FinalK = 3, Interrupted = false, Divergence = d,
            Evaluations = [], KHistory = [],
        };
        var results = new[]
        {
            new ConfigurationResult("K=3", false, [Run(Math.Log(2), null), Run(Math.Log(4), null), Run(double.PositiveInfinity, new Divergence(7, 0.25, "the loss is NaN"))], 3),
            new ConfigurationResult("K=5", false, [Run(Math.Log(3), null)], 1),
        };
        var table = ComparisonReport.Table("", "ppl", results);
        Assert.Contains("| K=3 (1 of 3 diverged) | 3.000 (1.414) | 3.000 (1.414) | 3, 3, 3 |", table);
        Assert.Contains("| 3 (diverged at update 7) |", table);
        Assert.Contains("| K=5 | 3.000 (0.000) |", table);
    }
}
