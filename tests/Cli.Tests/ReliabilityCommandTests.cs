using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Tbptt.Checkpoints;
using static Tbptt.Tests.CliRunner;

namespace Tbptt.Tests;

/// <summary>
/// Issue 11 from the command line: every reproduced failure now ends in one error line and exit 2 (never 70),
/// a diverging run stops with exit 3 and keeps its last good files, and a resume cleans up after a kill.
/// </summary>
public class ReliabilityCommandTests : IClassFixture<ReliabilityCommandTests.TrainedRun>
{
    private static readonly string[] TinyModel = ["--layers", "1", "--hidden", "8", "--embed", "4", "--batch", "4", "--k", "10", "--evals-per-epoch", "2"];

    /// <summary>One tiny trained run shared by the tests that damage copies of it.</summary>
    public sealed class TrainedRun
    {
        public TrainedRun()
        {
            Dir = TempDir();
            var rng = new Random(2);
            var words = new[] { "to be ", "or not ", "that is ", "the question\n" };
            Corpus = Path.Combine(Dir, "tiny.txt");
            File.WriteAllText(Corpus, string.Concat(Enumerable.Range(0, 300).Select(_ => words[rng.Next(words.Length)])));
            Output = Path.Combine(Dir, "run");
            var r = Run(["charlm", "train", "--corpus", Corpus, "--out", Output, .. TinyModel]);
            Assert.True(r.ExitCode == 0, r.Err);
        }

        public string Dir { get; }
        public string Corpus { get; }
        public string Output { get; }
        public string Model => Path.Combine(Output, "model.safetensors");
        public string Checkpoint => Path.Combine(Output, "checkpoint.safetensors");
    }

    private readonly TrainedRun _run;

    public ReliabilityCommandTests(TrainedRun run) => _run = run;

    private static void AssertUserError(Result r, string expected)
    {
        AssertOneLineError(r, expected);
        Assert.Equal(2, r.ExitCode);
    }

    /// <summary>A copy of a safetensors file with its metadata and tensors edited.</summary>
    private static string Edit(string source, string name, Action<Dictionary<string, string>, List<SafetensorsTensor>> edit, string? directory = null)
    {
        var file = Safetensors.Read(source);
        var meta = new Dictionary<string, string>(file.Metadata);
        var tensors = file.Tensors.ToList();
        edit(meta, tensors);
        string path = Path.Combine(directory ?? TempDir(), name);
        Safetensors.Write(path, tensors, meta);
        return path;
    }

    [Fact]
    public void A_diverging_run_stops_with_one_line_and_exit_3_keeping_only_finite_files()
    {
        string output = Path.Combine(TempDir(), "diverged");
        // lr 1e38 (times √K) overflows float32 in the first steps; the issue's 1e30 needs a 512-unit model.
        var r = Run(["charlm", "train", "--corpus", _run.Corpus, "--out", output, .. TinyModel, "--optimizer", "sgd", "--lr", "1e38", "--clip", "0", "--warmup", "0"]);
        Assert.Equal(3, r.ExitCode);
        Assert.DoesNotContain("best valid", r.Out.Split('\n')[^2]);
        Assert.True(r.ErrLines.Length == 1, r.Err);
        Assert.Matches(@"^tbptt: training diverged at update \d+ \(epoch [\d.]+\): .+; the last good checkpoint and model are kept", r.Err);
        using var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "summary.json")));
        Assert.True(summary.RootElement.GetProperty("diverged").GetBoolean());
        Assert.True(summary.RootElement.GetProperty("divergence").GetProperty("update").GetInt64() >= 1);
        Assert.Equal(JsonValueKind.Null, summary.RootElement.GetProperty("finalProfile").ValueKind); // no probe of a diverged model
        foreach (var file in new[] { "checkpoint.safetensors", "model.safetensors" }.Select(f => Path.Combine(output, f)).Where(File.Exists))
            foreach (var t in Safetensors.Read(file).Tensors.Where(t => t.DType == SafetensorsDType.F32))
                Assert.True(t.ToFloat32().All(float.IsFinite), $"{file}: {t.Name} holds a non-finite value");
    }

    /// <summary>A loss that grows to 10^30 nats without ever being NaN is not stopped, but it no longer passes
    /// without a word.</summary>
    [Fact]
    public void An_absurd_but_finite_loss_gets_a_warning()
    {
        string output = Path.Combine(TempDir(), "absurd");
        var r = Run(["charlm", "train", "--corpus", _run.Corpus, "--out", output, .. TinyModel, "--optimizer", "sgd", "--lr", "1e30", "--clip", "0",
            "--matmul-precision", "highest"]); // a finite loss in float32; bfloat16 products made this one NaN at update 2
        Assert.True(r.ExitCode == 0, r.Err);
        Assert.Single(r.Out.Split('\n'), l => l.StartsWith("warning: at update") && l.Contains("training is likely diverging"));
    }

    /// <summary>
    /// What the parser refuses (an unknown flag or command, a word for a number, a flag given twice, an unknown
    /// subcommand) is bad input too: one line naming the problems and where the help is, exit 2, nothing on stdout.
    /// </summary>
    [Fact]
    public void A_command_line_that_does_not_parse_is_one_line_and_exit_2()
    {
        foreach (var (args, expected) in new (string[], string)[]
                 {
                     (["charlm", "train", "--bogus", "1"], "'--bogus'"),
                     (["charlm", "train", "--hidden", "abc", "--corpus", "c.txt", "--out", "o"], "'abc'"),
                     (["charlm", "train", "--optimizer", "adam", "--optimizer", "sgd", "--corpus", "c.txt", "--out", "o"], "'--optimizer' expects a single argument"),
                     (["nosuchcommand"], "'nosuchcommand' is not a command"),
                     (["charlm", "trian"], "'trian' is not a command or option of 'tbptt charlm'"),
                 })
        {
            var r = Run(args);
            AssertUserError(r, expected);
            Assert.Contains("--help", r.Err);
            Assert.Equal("", r.Out);
        }
        // A command that only groups others, alone, shows its help (the root too).
        foreach (var (args, listed) in new (string[], string)[] { ([], "charlm"), (["sweep"], "aggregate"), (["charlm"], "train") })
        {
            var help = Run(args);
            Assert.Equal(0, help.ExitCode);
            Assert.Contains(listed, help.Out);
            Assert.Equal("", help.Err);
        }
    }

    [Fact]
    public void Numbers_are_validated_where_they_are_parsed_and_leave_no_empty_folder()
    {
        foreach (var (flag, value, expected) in new[]
                 {
                     ("--minutes", "1e300", "time limit"), ("--minutes", "Infinity", "time limit"), ("--minutes", "0", "time limit"),
                     ("--lr", "Infinity", "learning rate"), ("--lr", "NaN", "learning rate"), ("--clip", "Infinity", "clip"),
                     ("--on-nonfinite", "ignore", "--on-nonfinite"), ("--eval-context", "-1", "context"),
                     ("--beta2", "1", "beta2 must be in [0, 1)"), ("--beta1", "-0.1", "beta1 must be in [0, 1)"), ("--momentum", "1", "momentum must be in [0, 1)"),
                     ("--beta2", "NaN", "--beta2"),
                     ("--optimizer", "lamb", "not sgd, adam or adamw"),
                 })
        {
            string output = Path.Combine(TempDir(), "never");
            AssertUserError(Run(["charlm", "train", "--corpus", _run.Corpus, "--out", output, .. TinyModel, flag, value]), expected);
            Assert.False(Directory.Exists(output), $"{flag} {value} left {output} behind");
        }
        string adaptive = Path.Combine(TempDir(), "never");
        AssertUserError(Run(["charlm", "train", "--corpus", _run.Corpus, "--out", adaptive, .. TinyModel, "--adaptive", "true", "--delta", "NaN"]), "δ");
        Assert.False(Directory.Exists(adaptive));
        AssertUserError(Run("charlm", "eval", "--model", _run.Model, "--corpus", _run.Corpus, "--batch", "0"), "batch");
        AssertUserError(Run("charlm", "eval", "--model", _run.Model, "--corpus", _run.Corpus, "--context", "-1"), "--context");
        AssertUserError(Run("probe", "--model", _run.Model, "--text", _run.Corpus, "--window", "40", "--samples", "1000000",
            "--out", Path.Combine(TempDir(), "n.csv")), "lower --samples or --window");
        AssertUserError(Run("init", "--vocab-from", _run.Corpus, "--hidden", "25000", "--out", Path.Combine(TempDir(), "m.safetensors")), "at most");
        AssertUserError(Run("estimate-k", "--norms", NormsFile(), "--delta", "Infinity"), "finite");
    }

    private static string NormsFile()
    {
        string path = Path.Combine(TempDir(), "norms.csv");
        File.WriteAllText(path, string.Join('\n', Enumerable.Range(0, 20).Select(k => Math.Pow(0.8, k).ToString("R", System.Globalization.CultureInfo.InvariantCulture))));
        return path;
    }

    [Fact]
    public void Damaged_model_files_are_refused_with_the_reason()
    {
        // metadata trusted before the tensors: 'layers' = 1e8 in a 1 KB file once drove eval past 6 GB
        AssertUserError(Run("charlm", "eval", "--model", Edit(_run.Model, "layers.safetensors", (m, _) => m["layers"] = "100000000"),
            "--corpus", _run.Corpus), "layers");
        AssertUserError(Run("charlm", "eval", "--model", Edit(_run.Model, "layers2.safetensors", (m, _) => m["layers"] = "2"),
            "--corpus", _run.Corpus), "rnn.weight_ih_l1");
        // a deleted embedding is named, not reported as "the embedding has 8 rows"
        AssertUserError(Run("charlm", "eval", "--model", Edit(_run.Model, "noemb.safetensors", (_, t) => t.RemoveAll(x => x.Name == "embedding.weight")),
            "--corpus", _run.Corpus), "no tensor named 'embedding.weight'");
        // a decoder with more rows than the vocabulary once crashed sample with IndexOutOfRangeException
        string wide = Edit(_run.Model, "wide.safetensors", (_, t) =>
        {
            var w = t.Single(x => x.Name == "decoder.weight");
            var b = t.Single(x => x.Name == "decoder.bias");
            int rows = w.Shape[0] + 3, cols = w.Shape[1];
            t.Remove(w); t.Remove(b);
            t.Add(SafetensorsTensor.FromFloat32("decoder.weight", [rows, cols], new float[rows * cols]));
            t.Add(SafetensorsTensor.FromFloat32("decoder.bias", [rows], new float[rows]));
        });
        foreach (var args in new[]
                 {
                     new[] { "charlm", "sample", "--model", wide, "--length", "20" },
                     ["charlm", "eval", "--model", wide, "--corpus", _run.Corpus],
                     ["grad", "--model", wide, "--text", _run.Corpus, "--k1", "3", "--k2", "3", "--out", Path.Combine(TempDir(), "g.safetensors")],
                 })
            AssertUserError(Run(args), "wide.safetensors: the vocabulary holds");
    }

    [Fact]
    public void A_lone_surrogate_escape_in_a_header_string_is_a_clear_error()
    {
        var header = Encoding.UTF8.GetBytes("{\"__metadata__\":{\"vocab\":\"ab\\ud800\"}}");
        var bytes = new byte[8 + header.Length];
        BitConverter.TryWriteBytes(bytes.AsSpan(0, 8), (ulong)header.Length);
        header.CopyTo(bytes, 8);
        string path = Path.Combine(TempDir(), "surrogate.safetensors");
        File.WriteAllBytes(path, bytes);
        AssertUserError(Run("charlm", "sample", "--model", path), "unpaired surrogate");
    }

    [Fact]
    public void A_csv_error_line_escapes_control_bytes()
    {
        string path = Path.Combine(TempDir(), "ctl.csv");
        File.WriteAllText(path, "1,2\n0.5,\u001b[31mred\u0007\n0.25,0.25\n");
        var r = Run("estimate-k", "--norms", path);
        AssertUserError(r, "line 2, column 2");
        Assert.Contains("\\u001b[31mred\\u0007", r.Err);
        Assert.DoesNotContain('\u001b', r.Err);
    }

    /// <summary>Each damage of a training checkpoint is refused on --resume by a line naming the field.</summary>
    [Theory]
    [InlineData("counters-json", "trainer.counters")]
    [InlineData("run-options-json", "run.options")]
    [InlineData("rng-dtype", "trainer.rng")]
    [InlineData("optimizer-dtype", "trainer.optimizer.")]
    [InlineData("tape-stored-2^31", "trainer.tape_stored")]
    [InlineData("best-parameters-short", "trainer.best_parameters")]
    [InlineData("position-1e9", "Position")]
    [InlineData("nan-parameter", "NaN or infinite")]
    public void A_damaged_checkpoint_is_refused_on_resume_naming_the_field(string damage, string expected)
    {
        string output = Path.Combine(TempDir(), "run");
        Directory.CreateDirectory(output);
        foreach (var f in Directory.GetFiles(_run.Output)) File.Copy(f, Path.Combine(output, Path.GetFileName(f)));
        Edit(_run.Checkpoint, "checkpoint.safetensors", (m, t) =>
        {
            SafetensorsTensor Find(string prefix) => t.First(x => x.Name.StartsWith(prefix, StringComparison.Ordinal));
            void Replace(SafetensorsTensor old, SafetensorsTensor by) => t[t.IndexOf(old)] = by;
            switch (damage)
            {
                case "counters-json": m["trainer.counters"] = "{\"Updates\": 3,"; break;
                case "run-options-json": m["run.options"] = "[1, 2"; break;
                case "rng-dtype": Replace(Find("trainer.rng"), SafetensorsTensor.FromFloat32("trainer.rng", [4], [1, 2, 3, 4])); break;
                case "optimizer-dtype":
                    var o = Find("trainer.optimizer.");
                    Replace(o, SafetensorsTensor.FromFloat64(o.Name, [(int)o.ElementCount], new double[o.ElementCount]));
                    break;
                case "tape-stored-2^31": m["trainer.tape_stored"] = "2147483648"; break;
                case "best-parameters-short":
                    var b = Find("trainer.best_parameters");
                    Replace(b, SafetensorsTensor.FromFloat32(b.Name, [(int)b.ElementCount - 1], b.ToFloat32().AsSpan(1)));
                    break;
                case "position-1e9":
                    var counters = JsonNode.Parse(m["trainer.counters"])!;
                    counters["Position"] = 1_000_000_000;
                    m["trainer.counters"] = counters.ToJsonString();
                    break;
                case "nan-parameter":
                    var p = Find("trainer.best_parameters");
                    var values = p.ToFloat32();
                    values[0] = float.NaN;
                    Replace(p, SafetensorsTensor.FromFloat32(p.Name, [values.Length], values));
                    break;
            }
        }, output);
        var r = Run(["charlm", "train", "--corpus", _run.Corpus, "--out", output, "--resume", "true", "--epochs", "2"]);
        AssertUserError(r, expected);
        Assert.Contains("checkpoint.safetensors", r.Err);
    }

    [Fact]
    public void A_resume_after_a_kill_removes_stale_temporaries_and_duplicate_metrics_rows()
    {
        string output = Path.Combine(TempDir(), "run");
        Directory.CreateDirectory(output);
        foreach (var f in Directory.GetFiles(_run.Output)) File.Copy(f, Path.Combine(output, Path.GetFileName(f)));
        // What a kill between "append the row" and "replace the checkpoint" leaves: a temporary and one row too many.
        string stale = Path.Combine(output, $".checkpoint.safetensors.{Guid.NewGuid():N}.tmp");
        File.WriteAllBytes(stale, [1, 2, 3]);
        string metrics = Path.Combine(output, "metrics.csv");
        var lines = File.ReadAllLines(metrics);
        File.AppendAllText(metrics, lines[^1] + "\n");
        string unrelated = Path.Combine(output, "notes.tmp");
        File.WriteAllText(unrelated, "mine");

        var r = Run(["charlm", "train", "--corpus", _run.Corpus, "--out", output, "--resume", "true", "--epochs", "2"]);
        Assert.True(r.ExitCode == 0, r.Err);
        Assert.False(File.Exists(stale));
        Assert.True(File.Exists(unrelated), "only the atomic writer's own temporaries are removed");
        var updates = File.ReadAllLines(metrics).Skip(1).Select(l => long.Parse(l.Split(',')[0], System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        Assert.Equal(updates.Order().Distinct(), updates); // strictly increasing: no row twice
        Assert.Equal(4, updates.Length); // two epochs × two evaluations
    }
}
