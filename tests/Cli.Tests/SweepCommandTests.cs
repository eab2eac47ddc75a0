using System.Text.Json;
using static Tbptt.Tests.CliRunner;

namespace Tbptt.Tests;

/// <summary><c>tbptt sweep</c> and <c>tbptt run</c> from the command line: plan, run, local pool, status, aggregate, Slurm script.</summary>
public class SweepCommandTests
{
    /// <summary>A tiny copy sweep: 2 configurations × 2 seeds.</summary>
    internal static readonly string[] Tiny =
    [
        "--m", "4", "--epochs", "2", "--batch", "4", "--train-steps", "160", "--eval-steps", "40", "--hidden", "8",
        "--window", "12", "--burnin", "2", "--samples", "4", "--probes", "1", "--k0", "6", "--kmax", "12",
        "--fixed", "3", "--adaptive", "0.5", "--seeds", "1,2",
    ];

    private static string Plan(params string[] extra)
    {
        string dir = Path.Combine(TempDir(), "sweep");
        var r = Run(["sweep", "plan", "copy", .. Tiny, .. extra, "--out", dir]);
        Assert.True(r.ExitCode == 0, r.Err);
        Assert.Contains("planned 4 entries", r.Out);
        return dir;
    }

    private static JsonElement Status(string dir)
    {
        var r = Run("sweep", "status", dir, "--json");
        Assert.True(r.ExitCode == 0, r.Err);
        return JsonDocument.Parse(r.Out).RootElement;
    }

    private static string[] States(string dir) =>
        Status(dir).GetProperty("entries").EnumerateArray().Select(e => e.GetProperty("state").GetString()!).ToArray();

    [Fact]
    public void PlanRunLocalAndAggregateGiveExactlyWhatCopyGives()
    {
        string dir = Plan();
        using (var plan = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "sweep.json"))))
        {
            var entries = plan.RootElement.GetProperty("entries");
            Assert.Equal(4, entries.GetArrayLength());
            Assert.Equal("runs/fixed-k3-seed1", entries[0].GetProperty("directory").GetString());
            Assert.Equal(2, entries[1].GetProperty("run").GetProperty("training").GetProperty("seed").GetInt64());
        }
        Assert.Equal(["pending", "pending", "pending", "pending"], States(dir));

        var one = Run("sweep", "run", dir, "--index", "2");
        Assert.True(one.ExitCode == 0, one.Err);
        Assert.Equal(["pending", "pending", "done", "pending"], States(dir));
        var again = Run("sweep", "run", dir, "--index", "2");
        Assert.Equal(0, again.ExitCode);
        Assert.Contains("done already", again.Out);

        var partial = Run("sweep", "aggregate", dir);
        Assert.Equal(1, partial.ExitCode); // not every entry is in the table yet
        Assert.Contains("missing 3 of 4: fixed-k3-seed1 (pending)", partial.Out);

        var local = Run("sweep", "local", dir, "--jobs", "2");
        Assert.True(local.ExitCode == 0, local.Err + local.Out);
        Assert.Contains("1 done, 3 to run", local.Out);
        Assert.Equal(["done", "done", "done", "done"], States(dir));
        var aggregate = Run("sweep", "aggregate", dir);
        Assert.True(aggregate.ExitCode == 0, aggregate.Err);

        // copy with the same flags is plan + local + aggregate: the same table and summary, number for number.
        string copyDir = Path.Combine(TempDir(), "copy");
        var copy = Run(["copy", .. Tiny, "--out", copyDir, "--jobs", "1"]);
        Assert.True(copy.ExitCode == 0, copy.Err);
        Assert.Equal(File.ReadAllText(Path.Combine(dir, "table.md")), File.ReadAllText(Path.Combine(copyDir, "table.md")));
        Assert.Equal(File.ReadAllText(Path.Combine(dir, "summary.json")), File.ReadAllText(Path.Combine(copyDir, "summary.json")));
        // Rerunning copy on a finished folder runs nothing and prints the same table.
        var rerun = Run(["copy", .. Tiny, "--out", copyDir]);
        Assert.True(rerun.ExitCode == 0, rerun.Err);
        Assert.Contains("4 done, 0 to run", rerun.Out);
    }

    [Fact]
    public void AFailedEntryDoesNotStopTheOthersAndIsReported()
    {
        string dir = Plan();
        // Damage one entry's checkpoint: its worker fails with a clear line, the other three finish.
        string entry = Path.Combine(dir, "runs", "fixed-k3-seed2");
        Directory.CreateDirectory(entry);
        File.WriteAllText(Path.Combine(entry, "checkpoint.safetensors"), "not a checkpoint");
        var local = Run("sweep", "local", dir, "--jobs", "2");
        Assert.Equal(1, local.ExitCode);
        Assert.Contains("failed: fixed-k3-seed2: failed:", local.Out);
        Assert.Equal(["done", "failed", "done", "done"], States(dir));
        var status = Run("sweep", "status", dir);
        Assert.Matches(@"fixed-k3-seed2\s+failed\s+\S", status.Out);
        Assert.Contains("3 done, 1 failed", status.Out);
        // Once the damage is gone, a rerun picks up only that entry.
        File.Delete(Path.Combine(entry, "checkpoint.safetensors"));
        var rerun = Run("sweep", "local", dir);
        Assert.True(rerun.ExitCode == 0, rerun.Out);
        Assert.Contains("3 done, 1 to run", rerun.Out);
    }

    [Fact]
    public void TheSlurmScriptIsAJobArrayOverTheUnfinishedEntries()
    {
        string dir = Plan();
        Assert.Equal(0, Run("sweep", "run", dir, "--index", "1").ExitCode);
        var r = Run("sweep", "slurm", dir, "--dry-run", "--partition", "short", "--time", "0:30:00", "--cpus-per-task", "2",
            "--mem", "1G", "--max-parallel", "3");
        Assert.True(r.ExitCode == 0, r.Err);
        string script = File.ReadAllText(Path.Combine(dir, "submit.sbatch"));
        Assert.Contains("#SBATCH --array=0,2-3%3", script);
        Assert.Contains("#SBATCH --cpus-per-task=2", script);
        Assert.Contains("#SBATCH --mem=1G", script);
        Assert.Contains("#SBATCH --time=0:30:00", script);
        Assert.Contains("#SBATCH --partition=short", script);
        Assert.Contains("#SBATCH --requeue", script);
        Assert.Contains($"#SBATCH --output={Path.GetFullPath(dir)}/logs/%A_%a.log", script);
        Assert.Contains("TBPTT_THREADS=\"$threads\"", script);
        Assert.Contains($"sweep run {Path.GetFullPath(dir)} --index \"$SLURM_ARRAY_TASK_ID\"", script);
        Assert.Contains("sbatch", r.Out);
        Assert.False(Directory.Exists(Path.Combine(dir, "slurm")), "a dry run submits nothing, so it records nothing");

        // A recorded submission, and no squeue to ask: nothing is known of the queue, and nothing is claimed.
        Directory.CreateDirectory(Path.Combine(dir, "slurm"));
        File.WriteAllText(Path.Combine(dir, "slurm", "submissions.json"), "[{\"job\": \"41\", \"indices\": [0, 2, 3], \"submittedUtc\": \"2026-12-02T10:00:00Z\"}]");
        var status = RunWithPath("/nonexistent", "sweep", "status", dir);
        Assert.True(status.ExitCode == 0, status.Err);
        Assert.Contains("3 pending, 1 done", status.Out);
        Assert.Contains("squeue is not installed", status.Out);
        var blind = RunWithPath("/nonexistent", "sweep", "slurm", dir, "--dry-run");
        Assert.True(blind.ExitCode == 0, blind.Err);
        Assert.Contains("cannot tell which earlier tasks are still queued (squeue is not installed", blind.Out);
        Assert.Contains("#SBATCH --array=0,2-3\n", File.ReadAllText(Path.Combine(dir, "submit.sbatch")));
    }

    /// <summary>Where locks do not reach across nodes, a fresh heartbeat in status.json is a live worker elsewhere.</summary>
    [Fact]
    public void AFreshHeartbeatFromAnotherNodeIsRunningAndAStaleOneIsResumable()
    {
        string dir = Plan(), entry = Path.Combine(dir, "runs", "fixed-k3-seed2");
        Directory.CreateDirectory(entry);
        void Beat(DateTime at) => File.WriteAllText(Path.Combine(entry, "status.json"), JsonSerializer.Serialize(new
        {
            state = "running", message = (string?)null, host = "node-elsewhere", pid = 4242, job = "77_1",
            updatedUtc = at.ToString("O"), fraction = 0.4,
        }));

        Beat(DateTime.UtcNow);
        Assert.Equal(["pending", "running", "pending", "pending"], States(dir)); // no lock is held on this host
        Assert.Matches(@"fixed-k3-seed2\s+running\s+40 % on node-elsewhere \(job 77_1\), heartbeat \d+ s ago", Run("sweep", "status", dir).Out);
        var busy = Run("sweep", "run", dir, "--index", "1");
        Assert.Equal(75, busy.ExitCode); // backs off exactly as from a held lock
        Assert.Contains("is being run by another process (node-elsewhere, pid 4242, job 77_1", busy.Out);
        // Slurm's requeue of that very task takes over at once: Slurm never runs one task twice.
        var requeued = RunWith(new() { ["SLURM_JOB_ID"] = "78", ["SLURM_ARRAY_JOB_ID"] = "77", ["SLURM_ARRAY_TASK_ID"] = "1" }, "sweep", "run", dir, "--index", "1");
        Assert.True(requeued.ExitCode == 0, requeued.Err + requeued.Out);
        Assert.Equal("done", States(dir)[1]);

        // Killed without a word long ago: stopped, and the next worker runs it.
        entry = Path.Combine(dir, "runs", "fixed-k3-seed1");
        Directory.CreateDirectory(entry);
        Beat(DateTime.UtcNow - TimeSpan.FromMinutes(10));
        Assert.Equal("stopped", States(dir)[0]);
        Assert.Contains("no heartbeat from node-elsewhere for 10 min", Run("sweep", "status", dir).Out);
        Assert.Equal(0, Run("sweep", "run", dir, "--index", "0").ExitCode);
        Assert.Equal("done", States(dir)[0]);
    }

    [Fact]
    public void BadInputGetsOneClearLine()
    {
        string dir = Plan(), empty = TempDir();
        AssertOneLineError(Run("sweep", "run", Path.Combine(empty, "nope"), "--index", "0"), "no such folder");
        AssertOneLineError(Run("sweep", "status", empty), "is not a sweep");
        AssertOneLineError(Run("sweep", "run", dir, "--index", "4"), "--index 4 is out of range: the sweep has entries 0..3");
        AssertOneLineError(Run("sweep", "local", dir, "--jobs", "0"), "--jobs: 0 must be at least 1");
        AssertOneLineError(Run("sweep", "slurm", dir, "--mem", "1G; rm -rf /", "--dry-run"), "--mem");
        string broken = Path.Combine(TempDir(), "broken");
        Directory.CreateDirectory(broken);
        File.WriteAllText(Path.Combine(broken, "sweep.json"), "{\"version\": 1, \"kind\": ");
        AssertOneLineError(Run("sweep", "aggregate", broken), "not a valid sweep");
        File.WriteAllText(Path.Combine(broken, "sweep.json"), File.ReadAllText(Path.Combine(dir, "sweep.json")).Replace("runs/fixed-k3-seed1", "../escape"));
        AssertOneLineError(Run("sweep", "local", broken), "must be a plain relative path inside the sweep");
        // Without sbatch on PATH the submission fails with one line (the script is still written).
        var noSlurm = RunWithPath("/nonexistent", "sweep", "slurm", dir);
        AssertOneLineError(noSlurm, "sbatch is not installed");
        string spaced = Path.Combine(TempDir(), "a b");
        Assert.Equal(0, Run(["sweep", "plan", "copy", .. Tiny, "--out", spaced]).ExitCode);
        AssertOneLineError(Run("sweep", "slurm", spaced, "--dry-run"), "must not hold spaces");
        AssertOneLineError(Run(["sweep", "plan", "copy", .. Tiny[..^2], "--seeds", "1,1", "--out", Path.Combine(empty, "s")]), "a seed appears twice");
        AssertOneLineError(Run(["sweep", "plan", "copy", .. Tiny, "--lr", "NaN", "--out", Path.Combine(empty, "s")]), "--lr: the learning rate must be a finite number (got NaN)");
        AssertOneLineError(Run(["sweep", "plan", "copy", .. Tiny, "--minutes", "1e300", "--out", Path.Combine(empty, "s")]), "--minutes");
        AssertOneLineError(Run(["sweep", "plan", "copy", .. Tiny, "--data", Path.Combine(empty, "nodata"), "--out", Path.Combine(empty, "s")]), "nodata: no such folder");
        // A different plan may replace one that has not started, never one whose runs have.
        Assert.Equal(0, Run("sweep", "run", dir, "--index", "0").ExitCode);
        AssertOneLineError(Run(["sweep", "plan", "copy", .. Tiny, "--lr", "0.5", "--out", dir]), "holds a different sweep");
    }

    [Fact]
    public void RunConfigTrainsFromTheFileAloneBitForBit()
    {
        string dir = TempDir(), corpus = CharLmCommandTests.Corpus(dir), first = Path.Combine(dir, "first"), second = Path.Combine(dir, "second");
        var train = Run(["charlm", "train", "--corpus", corpus, "--out", first, .. CharLmCommandTests.TinyModel, "--adaptive", "--delta", "0.5",
            "--window", "20", "--samples", "4", "--kmin", "2", "--kmax", "20", "--k0", "5", "--epochs", "2", "--beta2", "0.99", "--optimizer", "adamw", "--weight-decay", "0.05"]);
        Assert.True(train.ExitCode == 0, train.Err);
        using (var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(first, "run.json"))))
        {
            var run = json.RootElement;
            Assert.Equal(Path.GetFullPath(corpus), run.GetProperty("corpus").GetProperty("path").GetString());
            Assert.Equal(16, run.GetProperty("model").GetProperty("hidden").GetInt32());
            Assert.True(run.GetProperty("truncation").GetProperty("adaptive").GetBoolean());
            Assert.Equal(0.5, run.GetProperty("adaptive").GetProperty("delta").GetDouble());
            Assert.Equal(0.99, run.GetProperty("training").GetProperty("beta2").GetDouble());
            Assert.Equal("adamw", run.GetProperty("training").GetProperty("optimizer").GetString());
            Assert.Equal(0.05, run.GetProperty("training").GetProperty("weightDecay").GetDouble());
            Assert.Equal("approximate", run.GetProperty("adaptive").GetProperty("estimator").GetProperty("cumulative").GetString());
        }
        var again = Run("run", "--config", Path.Combine(first, "run.json"), "--out", second);
        Assert.True(again.ExitCode == 0, again.Err);
        static string Rows(string d) => CopyCommandTests.WithoutWallTimes(Path.Combine(d, "metrics.csv"));
        Assert.Equal(Rows(first), Rows(second));
        Assert.Equal(File.ReadAllText(Path.Combine(first, "run.json")), File.ReadAllText(Path.Combine(second, "run.json")));

        string bad = Path.Combine(dir, "bad.json");
        File.WriteAllText(bad, File.ReadAllText(Path.Combine(first, "run.json")).Replace("\"hidden\"", "\"hiden\""));
        AssertOneLineError(Run("run", "--config", bad, "--out", Path.Combine(dir, "x")), "not valid run options");
        AssertOneLineError(Run("run", "--config", Path.Combine(dir, "missing.json"), "--out", Path.Combine(dir, "x")), "missing.json");
        // A null where the record has none is malformed input, not an internal error.
        var node = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(first, "run.json")))!;
        node["model"] = null;
        File.WriteAllText(bad, node.ToJsonString());
        AssertOneLineError(Run("run", "--config", bad, "--out", Path.Combine(dir, "x")), "not valid run options");
    }

    [Fact]
    public void CopyTrainsOnThePapersOwnDataFiles()
    {
        string data = Path.Combine(Root, "datasets", "aicherc-copy", "fixed"), dir = Path.Combine(TempDir(), "paper");
        string[] small = ["--epochs", "1", "--batch", "8", "--train-steps", "200", "--eval-steps", "50", "--hidden", "8", "--fixed", "12", "--adaptive", ""];
        var r = Run(["copy", "--data", data, .. small, "--seeds", "1,2", "--out", dir]);
        Assert.True(r.ExitCode == 0, r.Err + r.Out);
        Assert.Contains("(data: fixed files)", File.ReadAllText(Path.Combine(dir, "table.md")));
        Assert.Contains($"data from {data}", File.ReadAllText(Path.Combine(dir, "runs", "fixed-k12-seed1", "worker.log")));
        // The data is the files': two seeds differ only in their initial weights.
        using var a = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "runs", "fixed-k12-seed1", "run.json")));
        Assert.Equal(data, a.RootElement.GetProperty("copy").GetProperty("data").GetString());
    }

    /// <summary>A project folder holding the paper's fixed copy data (a copy) and nothing else.</summary>
    private static string Project()
    {
        string project = Path.Combine(TempDir(), "project"), data = Path.Combine(project, "data", "fixed");
        Directory.CreateDirectory(data);
        foreach (var f in Directory.GetFiles(Path.Combine(Root, "datasets", "aicherc-copy", "fixed"))) File.Copy(f, Path.Combine(data, Path.GetFileName(f)));
        return project;
    }

    private static readonly string[] PaperData =
        ["--data", "data/fixed", "--epochs", "1", "--batch", "8", "--train-steps", "200", "--eval-steps", "50", "--hidden", "8", "--fixed", "12", "--adaptive", "", "--seeds", "1"];

    [Fact]
    public void ASweepMovesWithItsDataAndResumesWhereItLands()
    {
        string project = Project();
        var plan = RunIn(project, ["sweep", "plan", "copy", .. PaperData, "--out", "sweeps/paper"]);
        Assert.True(plan.ExitCode == 0, plan.Err);
        using (var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(project, "sweeps", "paper", "sweep.json"))))
        {
            Assert.Equal(2, json.RootElement.GetProperty("version").GetInt32());
            // Relative to the sweep's folder: both lie in the folder it was planned from.
            Assert.Equal("../../data/fixed", json.RootElement.GetProperty("entries")[0].GetProperty("run").GetProperty("copy").GetProperty("data").GetString());
        }

        // The whole project moves (a clone, a copy to a cluster) and runs from anywhere.
        string moved = Path.Combine(Path.GetDirectoryName(project)!, "moved");
        Directory.Move(project, moved);
        string elsewhere = TempDir(), sweep = Path.Combine(moved, "sweeps", "paper"), entry = Path.Combine(sweep, "runs", "fixed-k12-seed1");
        var run = RunIn(elsewhere, "sweep", "run", sweep, "--index", "0");
        Assert.True(run.ExitCode == 0, run.Err + run.Out);
        Assert.Contains($"data from {Path.Combine(moved, "data", "fixed")}", run.Out);
        using (var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(entry, "run.json"))))
            Assert.Equal("../../data/fixed", json.RootElement.GetProperty("copy").GetProperty("data").GetString()); // the record stays relocatable
        string rows = CopyCommandTests.WithoutWallTimes(Path.Combine(entry, "metrics.csv"));

        // Moved again after it ran: a resume takes its options from the checkpoint, and their path resolves too.
        string again = Path.Combine(Path.GetDirectoryName(project)!, "again");
        Directory.Move(moved, again);
        sweep = Path.Combine(again, "sweeps", "paper");
        entry = Path.Combine(sweep, "runs", "fixed-k12-seed1");
        File.Delete(Path.Combine(entry, "status.json"));
        File.Delete(Path.Combine(entry, "summary.json"));
        Assert.Equal("stopped", States(sweep)[0]);
        var resume = RunIn(elsewhere, "sweep", "run", sweep, "--index", "0");
        Assert.True(resume.ExitCode == 0, resume.Err + resume.Out);
        Assert.Contains("resuming", resume.Out);
        Assert.Equal(rows, CopyCommandTests.WithoutWallTimes(Path.Combine(entry, "metrics.csv")));
    }

    [Fact]
    public void AVersionOnePlanResolvesDataAgainstTheCurrentDirectoryAndReplansUnchanged()
    {
        // The committed sweeps of docs/results are version 1, their data relative to the repository's root.
        string project = Project(), sweep = Path.Combine(project, "sweeps", "old");
        Assert.Equal(0, RunIn(project, ["sweep", "plan", "copy", .. PaperData, "--out", "sweeps/old"]).ExitCode);
        string file = Path.Combine(sweep, "sweep.json");
        var node = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(file))!;
        node["version"] = 1;
        node["entries"]![0]!["run"]!["copy"]!["data"] = "data/fixed";
        File.WriteAllText(file, node.ToJsonString());
        string v1 = File.ReadAllText(file);

        var run = RunIn(project, "sweep", "run", "sweeps/old", "--index", "0");
        Assert.True(run.ExitCode == 0, run.Err + run.Out);
        // Planned again with the same flags from the same folder: the same runs on the same files, so the file stays.
        var replan = RunIn(project, ["sweep", "plan", "copy", .. PaperData, "--out", "sweeps/old"]);
        Assert.True(replan.ExitCode == 0, replan.Err);
        Assert.Equal(v1, File.ReadAllText(file));
        // From elsewhere the relative path finds nothing: one clear line.
        File.Delete(Path.Combine(sweep, "runs", "fixed-k12-seed1", "status.json"));
        var lost = RunIn(TempDir(), "sweep", "run", sweep, "--index", "0");
        Assert.Equal(2, lost.ExitCode);
        Assert.Contains("data/fixed: no such folder", lost.Err);
    }

    [Fact]
    public void TheCommittedPaperSweepsStillReplanAsTheyAre()
    {
        foreach (var (name, flags) in new[]
        {
            ("copy-paper-fixed", new[] { "--data", "datasets/aicherc-copy/fixed", "--m", "10", "--epochs", "50", "--seeds", "1,2,3" }),
            ("copy-paper-variable", new[] { "--data", "datasets/aicherc-copy/variable", "--m", "10", "--mmin", "5", "--epochs", "50", "--seeds", "1,2,3" }),
        })
        {
            string copy = Path.Combine(TempDir(), name);
            Directory.CreateDirectory(Path.Combine(copy, "runs", "started"));
            File.Copy(Path.Combine(Root, "docs", "results", name, "sweep.json"), Path.Combine(copy, "sweep.json"));
            var r = RunIn(Root, ["sweep", "plan", "copy", .. flags, "--out", copy]); // the README's command, from the repository's root
            Assert.True(r.ExitCode == 0, r.Err);
            Assert.Equal(File.ReadAllText(Path.Combine(Root, "docs", "results", name, "sweep.json")), File.ReadAllText(Path.Combine(copy, "sweep.json")));
        }
    }

    [Fact]
    public void CopyDataDescribesThePapersFilesBesideOurGenerator()
    {
        var r = Run("copy-data", "--data", Path.Combine(Root, "datasets", "aicherc-copy", "fixed"));
        Assert.True(r.ExitCode == 0, r.Err);
        Assert.Contains("| fixed files | valid | 1.686 |", r.Out);
        Assert.Contains("| generator (seed 1) | valid | 1.866 | 0.0 % | 0.0 % | 0.0 % |", r.Out);
        AssertOneLineError(Run("copy-data", "--data", Path.Combine(TempDir(), "none")), "no such folder");
    }

    [Fact]
    public void ABudgetOfTimeOrComputeWithoutEpochsRunsUntilItIsSpent()
    {
        JsonElement Training(params string[] flags)
        {
            string dir = Path.Combine(TempDir(), "s");
            var r = Run(["sweep", "plan", "copy", .. Tiny.Where((_, i) => i > 3), .. flags, "--out", dir]); // Tiny without --m 4 --epochs 2
            Assert.True(r.ExitCode == 0, r.Err);
            return JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "sweep.json"))).RootElement
                .GetProperty("entries")[0].GetProperty("run").GetProperty("training");
        }
        Assert.Equal(10, Training().GetProperty("epochs").GetInt32()); // the copy task's default
        var compute = Training("--compute", "2");
        Assert.Equal(1_000_000, compute.GetProperty("epochs").GetInt32());
        Assert.Equal(2_000_000, compute.GetProperty("computeBudget").GetInt64());
        Assert.Equal(1_000_000, Training("--minutes", "3").GetProperty("epochs").GetInt32());
        Assert.Equal(4, Training("--minutes", "3", "--epochs", "4").GetProperty("epochs").GetInt32());
    }

    [Fact]
    public void HelpShowsEachConcernsDefaultsFromItsRecord()
    {
        var train = Run("charlm", "train", "--help");
        Assert.Contains("[default: 384]", train.Out); // --hidden of the character model
        Assert.Contains("default: 0.008 for adam", train.Out);
        // compare keeps its published table's model and step when train's defaults move
        var compare = Run("charlm", "compare", "--help");
        Assert.Contains("[default: 512]", compare.Out);
        Assert.Contains("default: 0.002 for adam", compare.Out);
        Assert.Contains("--eval-batch", train.Out);
        var copy = Run("copy", "--help");
        Assert.Contains("[default: 50]", copy.Out); // --hidden of the copy task
        Assert.Contains("--jobs", copy.Out);
        var plan = Run("sweep", "plan", "charlm", "--help");
        Assert.Contains("--compute", plan.Out);
        Assert.Contains("[default: 20]", plan.Out);
        foreach (var sub in new[] { "run", "local", "slurm", "status", "aggregate" })
            Assert.Equal(0, Run("sweep", sub, "--help").ExitCode);
    }
}
