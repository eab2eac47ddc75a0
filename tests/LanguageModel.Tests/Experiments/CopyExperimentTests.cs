using System.Text.Json;
using System.Xml.Linq;
using Tbptt.LanguageModel.Experiments;
using Tbptt.LanguageModel.Synthetic;
using Tbptt.Models;
using Tbptt.Probes;
using Tbptt.Training;
using Tbptt.Truncation;

namespace Tbptt.Tests;

public class CopyExperimentTests
{
    private static ComparisonOptions Small(string dir, int epochs = 2) => new()
    {
        Model = new ModelConfig { Cell = CellKind.Lstm, Layers = 2, InputSize = 6, EmbedSize = 8, HiddenSize = 8, OutputSize = 6 },
        Trainer = new TrainerOptions { LearningRate = 0.5, Epochs = epochs, EvaluationsPerEpoch = 2 },
        Adaptive = new AdaptiveOptions { K0 = 6, KMin = 2, KMax = 12, Probes = 2 },
        Probe = new ProbeOptions { Window = 12, Samples = 4 },
        Runs = [RunSpec.Fixed(3), RunSpec.Adaptive(0.5)],
        Seeds = [1, 2],
        OutputDirectory = dir,
        Description = "small copy test",
    };

    private static (TokenStream, TokenStream, TokenStream) Data(int seed)
    {
        var s = new CopyTask(4).GenerateSplits(seed, batch: 4, trainSteps: 120, evalSteps: 40);
        return (new TokenStream(s.Train.Inputs, s.Train.Targets, 4), new TokenStream(s.Valid.Inputs, s.Valid.Targets, 4),
            new TokenStream(s.Test.Inputs, s.Test.Targets, 4));
    }

    private static string TempDir() => Directory.CreateTempSubdirectory("tbptt-copy-").FullName;

    [Fact]
    public void SmallCopyRunWritesMetricsTableAndPlots()
    {
        string dir = TempDir();
        var log = new StringWriter();
        var results = Comparison.Run(Small(dir), Data, log, CancellationToken.None);

        Assert.Equal(["K=3", "δ=0.5"], results.Select(r => r.Spec.Name));
        var table = File.ReadAllText(Path.Combine(dir, "table.md"));
        Assert.Contains("| K=3 |", table);
        Assert.Contains("| δ=0.5 |", table);
        foreach (var seed in new[] { 1, 2 })
        {
            var csv = File.ReadAllLines(Path.Combine(dir, "runs", $"adaptive-d0.5-seed{seed}.csv"));
            Assert.StartsWith("updates,epoch,tokens,compute_tokens", csv[0]);
            Assert.Equal(1 + 4, csv.Length); // 2 epochs × 2 evaluations
            using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "runs", $"adaptive-d0.5-seed{seed}.json")));
            var history = json.RootElement.GetProperty("kHistory");
            Assert.Equal(3, history.GetArrayLength()); // K re-estimated after every evaluation round but the last
            Assert.All(history.EnumerateArray(), h => Assert.InRange(h.GetProperty("k").GetInt32(), 2, 12));
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
    public void TheSameSeedGivesTheSameNumbers()
    {
        var a = Comparison.Run(Small(TempDir(), 1), Data, TextWriter.Null, CancellationToken.None);
        var b = Comparison.Run(Small(TempDir(), 1), Data, TextWriter.Null, CancellationToken.None);
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
        var (train, valid, test) = Data(3);
        var model = SequenceModel<float>.Create(Small("unused").Model, 1);
        var trainer = new Trainer(model, new TrainerOptions { LearningRate = 0.5, Epochs = 6, Clip = 1.0 }, train, valid, test)
        {
            Policy = FixedTruncation.Paper(6),
        };
        double before = trainer.EvaluateLoss(valid);
        var summary = trainer.Run();
        Assert.True(summary.BestValidLoss < before - 0.3, $"valid loss {before:F3} → {summary.BestValidLoss:F3}");
        Assert.Equal(6, summary.Evaluations.Count);
    }

    /// <summary>Cancels once the first run has finished (its summary line reaches the log).</summary>
    private sealed class CancelAfterFirstRun(CancellationTokenSource cts) : StringWriter
    {
        public override void Flush()
        {
            base.Flush();
            if (ToString().Contains("best valid")) cts.Cancel();
        }
    }

    [Fact]
    public void CancellationStopsCleanlyAndKeepsWhatWasWritten()
    {
        string dir = TempDir();
        using var cts = new CancellationTokenSource();
        var results = Comparison.Run(Small(dir), Data, new CancelAfterFirstRun(cts), cts.Token);
        var only = Assert.Single(results);
        Assert.Equal("K=3", only.Spec.Name);
        Assert.Single(only.Runs);
        var table = File.ReadAllText(Path.Combine(dir, "table.md"));
        Assert.Contains("| K=3 |", table);
        Assert.DoesNotContain("δ=0.5", table);
        Assert.True(File.Exists(Path.Combine(dir, "runs", "fixed-k3-seed1.csv")));
    }
}
