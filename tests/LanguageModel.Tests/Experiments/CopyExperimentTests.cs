using System.Text.Json;
using System.Xml.Linq;
using Tbptt.LanguageModel.Runs;
using Tbptt.LanguageModel.Sweeps;
using Tbptt.LanguageModel.Synthetic;
using Tbptt.Models;
using Tbptt.Probes;
using Tbptt.Training;
using Tbptt.Truncation;

namespace Tbptt.Tests;

/// <summary>The copy comparison as a sweep, in process: plan, every entry through the worker, aggregate.</summary>
public class CopyExperimentTests
{
    internal static RunOptions Template(int epochs = 2) => RunDefaults.Copy with
    {
        Copy = new CopyDataOptions { M = 4, Batch = 4, TrainSteps = 120, EvalSteps = 40 },
        Model = RunDefaults.Copy.Model with { Hidden = 8 },
        Training = RunDefaults.Copy.Training with { LearningRate = 0.5, Epochs = epochs, EvaluationsPerEpoch = 2, ClipSummedLoss = false },
        Adaptive = RunDefaults.Copy.Adaptive with { K0 = 6, KMin = 2, KMax = 12, Probes = 2 },
        Probe = new ProbeOptions { Window = 12, BurnIn = 1, Samples = 4 },
    };

    internal static SweepPlan Plan(int epochs = 2, long[]? seeds = null) =>
        SweepPlan.Grid("copy", "small copy test", Template(epochs), [3], [0.5], seeds ?? [1, 2]);

    private static string TempDir() => Directory.CreateTempSubdirectory("tbptt-copy-").FullName;

    /// <summary>Plans into a new folder and runs every entry in this process.</summary>
    internal static string RunAll(SweepPlan plan, TextWriter? log = null)
    {
        string dir = TempDir();
        plan.Save(dir);
        foreach (var e in plan.Entries) Assert.Equal(WorkerOutcome.Done, SweepWorker.Run(dir, e.Index, log ?? TextWriter.Null, CancellationToken.None));
        return dir;
    }

    [Fact]
    public void SmallCopySweepWritesMetricsTableAndPlots()
    {
        var log = new StringWriter();
        string dir = RunAll(Plan(), log);
        var plan = SweepPlan.Load(dir);
        var (results, missing) = SweepAggregate.Write(dir, plan);

        Assert.Empty(missing);
        Assert.Equal(["K=3", "δ=0.5"], results.Select(r => r.Name));
        var table = File.ReadAllText(Path.Combine(dir, "table.md"));
        Assert.StartsWith("small copy test", table);
        Assert.Contains("| K=3 |", table);
        Assert.Contains("| δ=0.5 |", table);
        foreach (var seed in new[] { 1, 2 })
        {
            string run = Path.Combine(dir, "runs", $"adaptive-d0.5-seed{seed}");
            var csv = File.ReadAllLines(Path.Combine(run, "metrics.csv"));
            Assert.StartsWith("updates,epoch,tokens,compute_tokens", csv[0]);
            Assert.Equal(1 + 4, csv.Length); // 2 epochs × 2 evaluations
            using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "summary.json")));
            var history = json.RootElement.GetProperty("kHistory");
            Assert.Equal(3, history.GetArrayLength()); // K re-estimated after every evaluation round but the last
            Assert.All(history.EnumerateArray(), h => Assert.InRange(h.GetProperty("k").GetInt32(), 2, 12));
            Assert.Equal(EntryState.Done, EntryStatus.Read(run).State);
        }
        var adaptive = results[1].Runs[0];
        Assert.True(adaptive.ProbeComputeTokens > 0 && adaptive.ProbeComputeTokens < adaptive.ComputeTokens);
        Assert.Equal(0, results[0].Runs[0].ProbeComputeTokens);
        foreach (var svg in new[] { "valid-by-epoch", "valid-by-compute", "k-over-training", "phi-profile", "relative-bias" })
        {
            var doc = XDocument.Load(Path.Combine(dir, svg + ".svg"));
            Assert.Equal("svg", doc.Root!.Name.LocalName);
            Assert.Contains(doc.Descendants(), e => e.Name.LocalName is "path" or "polyline" or "circle");
        }
        Assert.Contains("best valid", log.ToString());

        // summary.json carries the table's numbers: mean and standard deviation over the seeds.
        using var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "summary.json")));
        var row = summary.RootElement[1];
        Assert.Equal("δ=0.5", row.GetProperty("config").GetString());
        var valid = results[1].Runs.Select(r => r.BestValidPerplexity).ToArray();
        Assert.Equal(valid.Average(), row.GetProperty("bestValid").GetProperty("mean").GetDouble(), 12);
        double sd = Math.Sqrt(valid.Sum(v => (v - valid.Average()) * (v - valid.Average())) / (valid.Length - 1));
        Assert.Equal(sd, row.GetProperty("bestValid").GetProperty("sd").GetDouble(), 12);
        Assert.True(row.GetProperty("testAtBest").GetProperty("mean").GetDouble() > 1);
    }

    [Fact]
    public void EveryConfigurationOfASeedStartsFromTheSameWeightsAndData()
    {
        var plan = Plan(seeds: [7]);
        Assert.Equal(2, plan.Entries.Count);
        var (fixedRun, adaptiveRun) = (plan.Entries[0].Run, plan.Entries[1].Run);
        Assert.Equal(new TruncationOptions { K = 3, K2 = 5 }, fixedRun.Truncation); // TBPTT(K, 2K − 1)
        Assert.True(adaptiveRun.Truncation.Adaptive);
        Assert.Equal(0.5, adaptiveRun.Adaptive.Delta);
        Assert.All(plan.Entries, e => Assert.Equal(7, e.Run.Training.Seed));
        Assert.Equal(RunData.Build(fixedRun).Train.Inputs.ToArray(), RunData.Build(adaptiveRun).Train.Inputs.ToArray());
    }

    [Fact]
    public void TheSameSeedGivesTheSameNumbers()
    {
        var (a, _) = SweepAggregate.Write(RunAll(Plan(1)), Plan(1));
        var (b, _) = SweepAggregate.Write(RunAll(Plan(1)), Plan(1));
        for (int i = 0; i < a.Count; i++)
            for (int s = 0; s < a[i].Runs.Count; s++)
            {
                var (x, y) = (a[i].Runs[s], b[i].Runs[s]);
                Assert.Equal(x.BestValidLoss, y.BestValidLoss); // bit for bit
                Assert.Equal(x.TestLossAtBest, y.TestLossAtBest);
                Assert.Equal(x.ComputeTokens, y.ComputeTokens);
                Assert.Equal(x.Evaluations.Select(e => e.TrainLoss), y.Evaluations.Select(e => e.TrainLoss));
                Assert.Equal(x.Evaluations.Select(e => e.K), y.Evaluations.Select(e => e.K));
            }
    }

    [Fact]
    public void TrainingLowersTheValidationLoss()
    {
        var data = RunData.Build(Template() with { Training = Template().Training with { Seed = 3 } });
        var model = SequenceModel<float>.Create(Template().Model.ToConfig(CopyTask.Symbols), 1);
        var trainer = new Trainer(model, new TrainerOptions { LearningRate = 0.5, Epochs = 6, Clip = 1.0 }, data.Train, data.Valid, data.Test)
        {
            Policy = FixedTruncation.Paper(6),
        };
        double before = trainer.EvaluateLoss(data.Valid);
        var summary = trainer.Run();
        Assert.True(summary.BestValidLoss < before - 0.3, $"valid loss {before:F3} → {summary.BestValidLoss:F3}");
        Assert.Equal(6, summary.Evaluations.Count);
    }

    /// <summary>Cancels at the run's first evaluation.</summary>
    private sealed class CancelAtFirstEvaluation(CancellationTokenSource cts) : StringWriter
    {
        public override void Flush()
        {
            base.Flush();
            if (ToString().Contains("eval @ update")) cts.Cancel();
        }
    }

    [Fact]
    public void AStoppedEntryResumesToTheNumbersOfAnUninterruptedOneAndADoneEntryIsLeftAlone()
    {
        string whole = RunAll(Plan());
        string dir = TempDir();
        var plan = Plan();
        plan.Save(dir);
        using (var cts = new CancellationTokenSource())
            Assert.Equal(WorkerOutcome.Stopped, SweepWorker.Run(dir, 2, new CancelAtFirstEvaluation(cts), cts.Token)); // δ=0.5, seed 1
        string entry = Path.Combine(dir, "runs", "adaptive-d0.5-seed1");
        Assert.Equal(EntryState.Stopped, EntryStatus.Read(entry).State);
        foreach (var e in plan.Entries) SweepWorker.Run(dir, e.Index, TextWriter.Null, CancellationToken.None);
        Assert.Equal(WorkerOutcome.AlreadyDone, SweepWorker.Run(dir, 2, TextWriter.Null, CancellationToken.None));

        var a = SweepAggregate.Write(whole, plan).Results;
        var b = SweepAggregate.Write(dir, plan).Results;
        Assert.Equal(File.ReadAllText(Path.Combine(whole, "table.md")), File.ReadAllText(Path.Combine(dir, "table.md")));
        Assert.Equal(File.ReadAllText(Path.Combine(whole, "summary.json")), File.ReadAllText(Path.Combine(dir, "summary.json")));
        for (int i = 0; i < a.Count; i++)
            Assert.Equal(a[i].Runs.Select(r => r.FinalProfile!.RelativeBias.ToArray()), b[i].Runs.Select(r => r.FinalProfile!.RelativeBias.ToArray()));
    }

    [Fact]
    public void TheAggregateSaysWhatIsMissing()
    {
        string dir = TempDir();
        var plan = Plan();
        plan.Save(dir);
        SweepWorker.Run(dir, 0, TextWriter.Null, CancellationToken.None); // K=3, seed 1 only
        var (results, missing) = SweepAggregate.Write(dir, plan);
        var only = Assert.Single(results);
        Assert.Equal("K=3", only.Name);
        Assert.Equal(3, missing.Count);
        Assert.All(missing, m => Assert.Equal(EntryState.Pending, m.Status.State));
        Assert.Contains("| K=3 | ", File.ReadAllText(Path.Combine(dir, "table.md")));
        Assert.Contains("| 1 of 2 |", File.ReadAllText(Path.Combine(dir, "table.md")));
    }

    [Fact]
    public void APlanRoundTripsAndADifferentPlanCannotReplaceStartedRuns()
    {
        string dir = TempDir();
        var plan = Plan();
        plan.Save(dir);
        var read = SweepPlan.Load(dir);
        Assert.Equal(plan.ToJson(), read.ToJson());
        plan.Save(dir); // the same plan again: kept
        SweepWorker.Run(dir, 0, TextWriter.Null, CancellationToken.None);
        Assert.Throws<ArgumentException>(() => Plan(epochs: 3).Save(dir));
    }
}
