using System.Globalization;
using System.Text.Json;
using static Tbptt.Tests.CliRunner;

namespace Tbptt.Tests;

/// <summary>
/// Issue 14 §3 from the command line: a run keeps snapshots (charlm train and copy-style sweeps), probe measures the
/// parameter-gradient bias of a snapshot on the run's own data with its spread over samples and writes it, and
/// bias-study does so for every snapshot.
/// </summary>
public class BiasStudyCommandTests
{
    [Fact]
    public void CharLmSnapshotsProbeAndStudy()
    {
        string dir = TempDir(), corpus = CharLmCommandTests.Corpus(dir), run = Path.Combine(dir, "run");
        var train = Run(["charlm", "train", "--corpus", corpus, "--out", run, .. CharLmCommandTests.TinyModel, "--epochs", "3", "--snapshots", "3",
            "--window", "16", "--samples", "6"]);
        Assert.True(train.ExitCode == 0, train.Err);
        var snapshots = Directory.GetFiles(Path.Combine(run, "snapshots"), "model-u*.safetensors").Select(Path.GetFileName).Order().ToArray();
        Assert.Equal(4, snapshots.Length);
        Assert.Contains("model-u0.safetensors", snapshots);
        using (var options = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "run.json"))))
            Assert.Equal(3, options.RootElement.GetProperty("snapshots").GetInt32());
        string snapshot = Directory.GetFiles(Path.Combine(run, "snapshots")).OrderBy(f => new FileInfo(f).Name.Length).ThenBy(f => f).Last();

        // A snapshot is a character model: probe it on a text, or on the run's own stream, and write the table.
        string csv = Path.Combine(dir, "bias.csv"), json = Path.Combine(dir, "bias.json");
        var probe = Run("probe", "--model", snapshot, "--run", run, "--window", "16", "--samples", "6", "--out", Path.Combine(dir, "phi.csv"),
            "--exact-bias", "1,2,4,8", "--bias-out", csv);
        Assert.True(probe.ExitCode == 0, probe.Err);
        Assert.Contains("per sample: mean ± sd", probe.Out);
        var rows = File.ReadAllLines(csv);
        Assert.StartsWith("updates,epoch,valid_loss,log_beta,window,samples,k,delta_hat", rows[0]);
        Assert.Equal(1 + 5, rows.Length); // 1, 2, 4, 8 and W
        var header = rows[0].Split(',');
        int k = Array.IndexOf(header, "k"), mean = Array.IndexOf(header, "measured_sample_mean"), sd = Array.IndexOf(header, "measured_sample_std");
        Assert.Equal("16", rows[^1].Split(',')[k]);
        Assert.Equal(0.0, double.Parse(rows[^1].Split(',')[mean], CultureInfo.InvariantCulture));
        Assert.True(double.Parse(rows[1].Split(',')[sd], CultureInfo.InvariantCulture) > 0, rows[1]); // samples differ
        // The run's validation split: its evaluation columns are warm (32 columns, 100 characters of context, so
        // unscored steps and padding), but a probe samples the plain columns, where every target is scored — offset 6
        // would be column 0's padding in the evaluation's layout.
        var valid = Run("probe", "--model", snapshot, "--run", run, "--split", "valid", "--window", "2", "--burnin", "0",
            "--offsets", "0,2,6,10", "--out", Path.Combine(dir, "phi-valid.csv"));
        Assert.True(valid.ExitCode == 0, valid.Err);
        var text = Run("probe", "--model", snapshot, "--text", corpus, "--window", "16", "--samples", "6", "--out", Path.Combine(dir, "phi2.csv"),
            "--exact-bias", "1,2,4,8", "--bias-out", json);
        Assert.True(text.ExitCode == 0, text.Err);
        using (var doc = JsonDocument.Parse(File.ReadAllText(json)))
        {
            var r = doc.RootElement.GetProperty("rows");
            Assert.Equal(5, r.GetArrayLength());
            foreach (var key in new[] { "k", "deltaHat", "measuredMeanGradient", "measuredSampleMean", "measuredSampleStd", "measuredSampleQ10", "measuredSampleQ90" })
                Assert.True(r[0].TryGetProperty(key, out _), key);
        }

        string study = Path.Combine(dir, "study");
        var s = Run("bias-study", "--run", run, "--grid", "1,2,4,8", "--out", study);
        Assert.True(s.ExitCode == 0, s.Err);
        Assert.Contains("4 training points", s.Out);
        foreach (var f in new[] { "table.md", "bias.csv", "bias.json", "bias.svg", "at-kappa.svg", "phi.svg" })
            Assert.True(File.Exists(Path.Combine(study, f)), f);
        Assert.Contains("valid bits/char", File.ReadAllText(Path.Combine(study, "table.md")));

        AssertOneLineError(Run("probe", "--model", snapshot, "--text", corpus, "--run", run, "--out", Path.Combine(dir, "x.csv")), "exactly one of");
        AssertOneLineError(Run("probe", "--model", snapshot, "--text", corpus, "--window", "16", "--out", Path.Combine(dir, "x.csv"), "--bias-out", csv), "--exact-bias");
        AssertOneLineError(Run("bias-study", "--run", dir), "run.json");
    }

    [Fact]
    public void CopySweepSnapshotsProbeOnTheRunsDataAndOnCopyFiles()
    {
        string dir = TempDir(), sweep = Path.Combine(dir, "sweep");
        var plan = Run("sweep", "plan", "copy", "--m", "4", "--epochs", "2", "--batch", "4", "--train-steps", "160", "--eval-steps", "40", "--hidden", "8",
            "--window", "12", "--burnin", "2", "--samples", "4", "--fixed", "3", "--adaptive", "", "--seeds", "1", "--snapshots", "2", "--out", sweep);
        Assert.True(plan.ExitCode == 0, plan.Err);
        var worker = Run("sweep", "run", sweep, "--index", "0");
        Assert.True(worker.ExitCode == 0, worker.Err);
        string run = Path.Combine(sweep, "runs", "fixed-k3-seed1");
        var files = Directory.GetFiles(Path.Combine(run, "snapshots"));
        Assert.Equal(3, files.Length);
        string last = files.OrderBy(f => new FileInfo(f).Name.Length).ThenBy(f => f).Last();

        var probe = Run("probe", "--model", last, "--run", run, "--window", "12", "--burnin", "2", "--samples", "4", "--out", Path.Combine(dir, "phi.csv"),
            "--exact-bias", "1,3,6", "--cumulative", "exact");
        Assert.True(probe.ExitCode == 0, probe.Err);
        Assert.Matches(@"(?m)^\s+12\s+0\s+", probe.Out); // K = W: no bias against itself

        // The paper's copy files, batched as tbptt copy batches them (a copy model reads them: 6 symbols).
        var files2 = Run("probe", "--model", last, "--data", Path.Combine(Root, "datasets", "aicherc-copy", "fixed"), "--split", "valid",
            "--window", "12", "--samples", "4", "--out", Path.Combine(dir, "phi2.csv"), "--exact-bias", "2,5");
        Assert.True(files2.ExitCode == 0, files2.Err);
        Assert.Contains("measured", files2.Out);
        AssertOneLineError(Run("probe", "--model", last, "--text", Path.Combine(Fixtures, "text.txt"), "--out", Path.Combine(dir, "x.csv")), "vocab");

        var s = Run("bias-study", "--run", run, "--grid", "1,2,3,6", "--deltas", "0.5", "--out", Path.Combine(dir, "study"));
        Assert.True(s.ExitCode == 0, s.Err);
        Assert.Contains("δ = 0.5: K", File.ReadAllText(Path.Combine(dir, "study", "table.md")));
    }
}
