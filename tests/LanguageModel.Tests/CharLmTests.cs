using Tbptt.Checkpoints;
using Tbptt.LanguageModel;
using Tbptt.LanguageModel.Runs;
using Tbptt.LanguageModel.Text;
using Tbptt.Training;

namespace Tbptt.Tests;

/// <summary>The character model end to end on a small generated corpus.</summary>
public class CharLmTests
{
    /// <summary>A small corpus with structure to learn: words from a tiny vocabulary in a repeating grammar.</summary>
    internal static string MakeCorpus(string dir, int words = 3000, int seed = 1)
    {
        var rng = new Random(seed);
        string[] nouns = ["cat", "dog", "bird"], verbs = ["sees", "likes", "hears"];
        var sb = new System.Text.StringBuilder();
        for (int i = 0; i < words / 3; i++)
            sb.Append("the ").Append(nouns[rng.Next(3)]).Append(' ').Append(verbs[rng.Next(3)]).Append(" a ").Append(nouns[rng.Next(3)]).Append(".\n");
        string path = Path.Combine(dir, "corpus.txt");
        File.WriteAllText(path, sb.ToString());
        return path;
    }

    internal static RunOptions Small(string corpus) => RunDefaults.CharLm with
    {
        Corpus = new CorpusOptions { Path = corpus, Batch = 8, EvalBatch = 4, EvalContext = 5 },
        Model = new ModelOptions { Layers = 2, Hidden = 24, Embed = 8, Dropout = 0.1 },
        Truncation = new TruncationOptions { K = 8, K2 = 15 },
        Training = RunDefaults.CharLm.Training with { Epochs = 2, EvaluationsPerEpoch = 2, LearningRate = 0.01 },
        Probe = new Tbptt.Probes.ProbeOptions { Window = 12, Samples = 4 },
    };

    private static RunSummary Train(RunOptions o, string dir, bool resume = false, TextWriter? log = null, CancellationToken cancel = default) =>
        RunExecutor.Execute(o, dir, resume, log ?? TextWriter.Null, cancel);

    private sealed class CancelAtFirstEvaluation(CancellationTokenSource cts) : StringWriter
    {
        public override void Flush()
        {
            base.Flush();
            if (ToString().Contains("eval @ update")) cts.Cancel();
        }
    }

    [Fact]
    public void TrainingLowersTheValidationLossAndWritesItsFiles()
    {
        var dir = Directory.CreateTempSubdirectory("tbptt-lm-").FullName;
        var o = Small(MakeCorpus(dir));
        string run = Path.Combine(dir, "run");
        var summary = Train(o, run);
        double first = summary.Evaluations[0].ValidLoss, best = summary.BestValidLoss;
        var corpus = Corpus.Load(o.Corpus!.Path);
        double chance = Math.Log(corpus.Vocabulary.Count);
        Assert.True(best < 0.6 * chance, $"best valid {best:F3} nats vs chance {chance:F3}");
        Assert.True(best < first, $"valid loss {first:F3} → {best:F3}: training kept improving after the first evaluation");
        foreach (var f in new[] { "run.json", "model.safetensors", "checkpoint.safetensors", "metrics.csv", "summary.json", "loss.svg", "k.svg", "phi-profile.svg", "relative-bias.svg" })
            Assert.True(File.Exists(Path.Combine(run, f)), f);
        // The saved model is the best validation point and evaluates to it, at the run's matmul precision.
        var model = ModelCheckpoint.Load(Safetensors.Read(Path.Combine(run, "model.safetensors")));
        using var precision = Tbptt.Numerics.Blas.UsePrecision(o.Training.MatmulPrecision);
        Assert.Equal(best, CharLmRun.Evaluate(model, corpus, "valid", o.Corpus.EvalBatch, o.Corpus.EvalContext).Loss, 1e-9);
        // The test is of that model, evaluated once at the end; the checkpoint knows it too, and rounds record no test.
        Assert.Equal(summary.TestLossAtBest, CharLmRun.Evaluate(model, corpus, "test", o.Corpus.EvalBatch, o.Corpus.EvalContext).Loss, 1e-9);
        var counters = TrainingCheckpoint.Load(Safetensors.Read(Path.Combine(run, "checkpoint.safetensors"))).Counters;
        Assert.Equal(summary.TestLossAtBest, counters.TestLossAtBest);
        Assert.DoesNotContain("test", File.ReadLines(Path.Combine(run, "metrics.csv")).First());
        Assert.DoesNotContain("testLoss\"", File.ReadAllText(Path.Combine(run, "summary.json")));
        // summary.json reads back to exactly the run's numbers.
        var read = RunSummary.Load(Path.Combine(run, "summary.json"));
        Assert.Equal(summary.BestValidLoss, read.BestValidLoss);
        Assert.Equal(summary.Evaluations.Select(e => e.TrainLoss), read.Evaluations.Select(e => e.TrainLoss));
    }

    [Fact]
    public void ResumeEqualsTheUninterruptedRunBitForBit()
    {
        var dir = Directory.CreateTempSubdirectory("tbptt-lm-resume-").FullName;
        string corpus = MakeCorpus(dir, 1500);
        var o = Small(corpus) with
        {
            Truncation = new TruncationOptions { Adaptive = true },
            Adaptive = RunDefaults.CharLm.Adaptive with { K0 = 6, KMin = 2, KMax = 10, Probes = 2 },
        };
        string full = Path.Combine(dir, "full"), parted = Path.Combine(dir, "parted");
        Train(o, full);
        using (var cts = new CancellationTokenSource())
        {
            var stopped = Train(o, parted, false, new CancelAtFirstEvaluation(cts), cts.Token);
            Assert.True(stopped.Interrupted);
        }
        // A killed process may leave a temporary file of an atomic write and a metrics row past its checkpoint.
        File.WriteAllText(Path.Combine(parted, $".checkpoint.safetensors.{Guid.NewGuid():N}.tmp"), "partial");
        File.AppendAllText(Path.Combine(parted, "metrics.csv"), File.ReadAllLines(Path.Combine(parted, "metrics.csv"))[^1] + "\n");
        var resumed = Train(o, parted, resume: true);
        Assert.False(resumed.Interrupted);
        Assert.Empty(Directory.GetFiles(parted, ".*.tmp"));

        var a = Safetensors.Read(Path.Combine(full, "checkpoint.safetensors"));
        var b = Safetensors.Read(Path.Combine(parted, "checkpoint.safetensors"));
        Assert.Equal(a.Tensors.Select(t => t.Name), b.Tensors.Select(t => t.Name));
        foreach (var t in a.Tensors) Assert.True(t.Data.SequenceEqual(b.Get(t.Name).Data), t.Name);
        var bestA = Safetensors.Read(Path.Combine(full, "model.safetensors"));
        var bestB = Safetensors.Read(Path.Combine(parted, "model.safetensors"));
        foreach (var t in bestA.Tensors) Assert.True(t.Data.SequenceEqual(bestB.Get(t.Name).Data), "best " + t.Name);
        // The metrics of both halves add up to the uninterrupted run's (wall times aside).
        static string[] Rows(string d)
        {
            var lines = File.ReadAllLines(Path.Combine(d, "metrics.csv"));
            var header = lines[0].Split(',');
            var clock = RunMetrics.WallClockColumns.Select(c => Array.IndexOf(header, c)).ToArray();
            Assert.True(clock.All(i => i >= 0), lines[0]);
            return lines.Select(l => string.Join(',', l.Split(',').Where((_, i) => !clock.Contains(i)))).ToArray();
        }
        Assert.Equal(Rows(full), Rows(parted));
        // An adaptive run records κ̂ for the paper's δ values beside its own K.
        var csv = File.ReadAllLines(Path.Combine(full, "metrics.csv"));
        int col = Array.IndexOf(csv[0].Split(','), "kappa_delta_0.5");
        Assert.True(col >= 0, csv[0]);
        Assert.Contains(csv.Skip(1), row => int.TryParse(row.Split(',')[col], out int k) && k >= 1);
    }

    [Fact]
    public void SamplingWithASeedIsReproducible()
    {
        var dir = Directory.CreateTempSubdirectory("tbptt-lm-sample-").FullName;
        var o = Small(MakeCorpus(dir));
        o = o with { Training = o.Training with { Epochs = 1 } };
        Train(o, Path.Combine(dir, "run"));
        var file = Safetensors.Read(Path.Combine(dir, "run", "model.safetensors"));
        var model = ModelCheckpoint.Load(file);
        var vocab = Vocabulary.FromSymbols(file.GetMetadata("vocab"));
        string a = CharSampler.Sample(model, vocab, "the ", 200, 0.8, 0, seed: 4);
        Assert.Equal(a, CharSampler.Sample(model, vocab, "the ", 200, 0.8, 0, seed: 4));
        Assert.NotEqual(a, CharSampler.Sample(model, vocab, "the ", 200, 0.8, 0, seed: 5));
        Assert.StartsWith("the ", a);
        Assert.Equal(204, a.Length);
        string greedy = CharSampler.Sample(model, vocab, "the ", 50, 1.0, topK: 1, seed: 1);
        Assert.Equal(greedy, CharSampler.Sample(model, vocab, "the ", 50, 1.0, topK: 1, seed: 99)); // top-1 is argmax: seed-free
    }
}
