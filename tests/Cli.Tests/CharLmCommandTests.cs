using static Tbptt.Tests.CliRunner;

namespace Tbptt.Tests;

/// <summary>charlm from the command line: a tiny run, eval, sample, and one clear line for every bad input.</summary>
public class CharLmCommandTests
{
    internal static string Corpus(string dir)
    {
        var rng = new Random(2);
        var words = new[] { "to be ", "or not ", "that is ", "the question\n" };
        var text = string.Concat(Enumerable.Range(0, 400).Select(_ => words[rng.Next(words.Length)]));
        var path = Path.Combine(dir, "tiny.txt");
        File.WriteAllText(path, text);
        return path;
    }

    internal static readonly string[] TinyModel = ["--layers", "1", "--hidden", "16", "--embed", "8", "--batch", "4", "--k", "10", "--evals-per-epoch", "1"];

    /// <summary>charlm train's AdamW keeps its decay of 0.1; Adam, asked for instead, takes none (not 0.1 as an L2 penalty).</summary>
    [Fact]
    public void TheWeightDecayFollowsTheOptimizer()
    {
        string dir = TempDir(), corpus = Corpus(dir);
        foreach (var (optimizer, expected) in new[] { ("adamw", 0.1), ("adam", 0.0) })
        {
            string output = Path.Combine(dir, optimizer);
            var train = Run(["charlm", "train", "--corpus", corpus, "--out", output, .. TinyModel, "--optimizer", optimizer]);
            Assert.True(train.ExitCode == 0, train.Err);
            using var run = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "run.json")));
            Assert.Equal(expected, run.RootElement.GetProperty("training").GetProperty("weightDecay").GetDouble());
        }
    }

    /// <summary>charlm train computes at matmul precision medium unless told otherwise, records it in run.json and says
    /// what it runs on; charlm eval follows the run.json beside a model, so it reproduces the run's loss; a precision
    /// that is neither name is bad input on both.</summary>
    [Fact]
    public void TheMatmulPrecisionIsTheRunsAndEvalFollowsIt()
    {
        string dir = TempDir(), corpus = Corpus(dir);
        foreach (var precision in new[] { "medium", "highest" })
        {
            string output = Path.Combine(dir, precision);
            string[] flags = precision == "medium" ? [] : ["--matmul-precision", precision];
            var train = Run(["charlm", "train", "--corpus", corpus, "--out", output, .. TinyModel, .. flags]);
            Assert.True(train.ExitCode == 0, train.Err);
            Assert.Contains($"matmul precision {precision}", train.Out);
            using var run = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "run.json")));
            Assert.Equal(precision, run.RootElement.GetProperty("training").GetProperty("matmulPrecision").GetString());
            using var summary = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "summary.json")));
            double best = summary.RootElement.GetProperty("bestValidLoss").GetDouble();
            var eval = Run("charlm", "eval", "--model", Path.Combine(output, "model.safetensors"), "--corpus", corpus, "--split", "valid");
            Assert.True(eval.ExitCode == 0, eval.Err);
            Assert.Contains(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"loss {best:F4} nats/char"), eval.Out);
        }
        AssertOneLineError(Run(["charlm", "train", "--corpus", corpus, "--out", Path.Combine(dir, "low"), .. TinyModel, "--matmul-precision", "low"]), "--matmul-precision");
        AssertOneLineError(Run("charlm", "eval", "--model", Path.Combine(dir, "medium", "model.safetensors"), "--corpus", corpus, "--matmul-precision", "low"), "--matmul-precision");
    }

    [Fact]
    public void TrainEvalAndSampleFromTheCommandLine()
    {
        string dir = TempDir(), corpus = Corpus(dir), output = Path.Combine(dir, "run");
        var train = Run(["charlm", "train", "--corpus", corpus, "--out", output, .. TinyModel]);
        Assert.True(train.ExitCode == 0, train.Err);
        Assert.Contains("vocabulary", train.Out);
        Assert.Contains("best valid", train.Out);
        string model = Path.Combine(output, "model.safetensors");

        var eval = Run("charlm", "eval", "--model", model, "--corpus", corpus, "--split", "test");
        Assert.True(eval.ExitCode == 0, eval.Err);
        Assert.Matches(@"test: [\d,]+ characters \(0 unknown\), loss [\d.]+ nats/char, [\d.]+ bits/char, perplexity [\d.]+", eval.Out);

        // Without --batch and --context, a model in a run folder is evaluated as its run evaluated: the run's own
        // best validation loss (a run evaluated with other columns and context than the defaults).
        string warm = Path.Combine(dir, "warm");
        Assert.Equal(0, Run(["charlm", "train", "--corpus", corpus, "--out", warm, .. TinyModel, "--eval-batch", "3", "--eval-context", "7"]).ExitCode);
        using var summary = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(warm, "summary.json")));
        double best = summary.RootElement.GetProperty("bestValidLoss").GetDouble();
        var again = Run("charlm", "eval", "--model", Path.Combine(warm, "model.safetensors"), "--corpus", corpus, "--split", "valid");
        Assert.True(again.ExitCode == 0, again.Err);
        Assert.Contains(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"loss {best:F4} nats/char"), again.Out);

        var a = Run("charlm", "sample", "--model", model, "--prime", "to ", "--length", "40", "--seed", "3");
        var b = Run("charlm", "sample", "--model", model, "--prime", "to ", "--length", "40", "--seed", "3");
        Assert.True(a.ExitCode == 0, a.Err);
        Assert.Equal(a.Out, b.Out);
        Assert.StartsWith("to ", a.Out);
    }

    [Fact]
    public void BadInputGetsOneClearLine()
    {
        string dir = TempDir(), output = Path.Combine(dir, "run");
        string Write(string name, byte[] bytes) { var p = Path.Combine(dir, name); File.WriteAllBytes(p, bytes); return p; }
        string[] Train(string corpus, params string[] more) => ["charlm", "train", "--corpus", corpus, "--out", output, .. TinyModel, .. more];

        AssertOneLineError(Run(Train(Path.Combine(dir, "missing.txt"))), "missing.txt");
        AssertOneLineError(Run(Train(Write("empty.txt", []))), "empty");
        AssertOneLineError(Run(Train(Write("one.txt", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"u8.ToArray()))), "distinct");
        AssertOneLineError(Run(Train(Write("bad.txt", [(byte)'a', (byte)'b', 0xC3, 0x28, (byte)'c']))), "byte offset 2");
        AssertOneLineError(Run(Train(Write("short.txt", "abcdefghij abcdefghij abcdefghij"u8.ToArray()))), "split");
        AssertOneLineError(Run(Train(Corpus(dir), "--resume", "true")), "nothing to resume");
        AssertOneLineError(Run(Train(Corpus(dir), "--cell", "transformer")), "transformer");
        AssertOneLineError(Run(Train(Corpus(dir), "--dropout", "1.5")), "dropout");
        AssertOneLineError(Run("charlm", "sample", "--model", Path.Combine(dir, "nope.safetensors")), "nope.safetensors");
    }
}
