using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using static Tbptt.Tests.CliRunner;

namespace Tbptt.Tests;

/// <summary>
/// A real single-node Slurm cluster for the sweep test: the one <c>.ci/run</c> started (SLURM_CONF set and answering),
/// or one this fixture starts with <c>tests/slurm/cluster.sh</c> (as root; it installs slurm-wlm and munge when
/// missing) and stops afterwards — so the test runs, not skips, wherever the suite runs.
/// </summary>
public sealed class SlurmCluster : IDisposable
{
    private readonly string? _startedIn;

    public SlurmCluster()
    {
        string? conf = System.Environment.GetEnvironmentVariable("SLURM_CONF");
        if (conf is not null && Shell("scontrol", ["ping"], conf).Code == 0)
        {
            Conf = conf;
            return;
        }
        _startedIn = Path.Combine(Path.GetTempPath(), "tbptt-slurm-" + Guid.NewGuid().ToString("N")[..8]);
        var start = Shell("bash", [Path.Combine(Root, "tests", "slurm", "cluster.sh"), "start", _startedIn], null);
        if (start.Code != 0) throw new InvalidOperationException($"could not start the test cluster:\n{start.Out}\n{start.Err}");
        Conf = Regex.Match(start.Out, @"export SLURM_CONF=(\S+)").Groups[1].Value;
    }

    /// <summary>The cluster's slurm.conf, to pass as SLURM_CONF to every Slurm client.</summary>
    public string Conf { get; }

    public Dictionary<string, string> Variables => new() { ["SLURM_CONF"] = Conf };

    public (int Code, string Out, string Err) Run(string command, params string[] args) => Shell(command, args, Conf);

    public void Dispose()
    {
        if (_startedIn is not null) Shell("bash", [Path.Combine(Root, "tests", "slurm", "cluster.sh"), "stop", _startedIn], null);
    }

    private static (int Code, string Out, string Err) Shell(string file, string[] args, string? conf)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        if (conf is not null) psi.Environment["SLURM_CONF"] = conf;
        psi.Environment["PATH"] = System.Environment.GetEnvironmentVariable("PATH") + ":/usr/sbin:/sbin";
        try
        {
            using var p = Process.Start(psi)!;
            var stdout = p.StandardOutput.ReadToEndAsync();
            string err = p.StandardError.ReadToEnd();
            p.WaitForExit();
            return (p.ExitCode, stdout.Result, err);
        }
        catch (System.ComponentModel.Win32Exception e) { return (127, "", e.Message); }
    }
}

/// <summary>
/// A copy sweep submitted through <c>tbptt sweep slurm</c> as a job array; one task is killed mid-run with
/// <c>scancel --signal=KILL</c> and resubmitted; the aggregate must equal the same sweep run with <c>sweep local</c>,
/// number for number.
/// </summary>
public class SlurmTests(SlurmCluster cluster) : IClassFixture<SlurmCluster>
{
    private static readonly string[] Sweep =
    [
        "--m", "4", "--epochs", "30", "--evals-per-epoch", "2", "--batch", "8", "--train-steps", "600", "--eval-steps", "50",
        "--hidden", "16", "--window", "12", "--burnin", "2", "--samples", "4", "--probes", "1", "--k0", "6", "--kmax", "12",
        "--fixed", "3", "--adaptive", "0.5", "--seeds", "1,2",
    ];

    private Result Tbptt(params string[] args) => RunWith(cluster.Variables, args);

    private JsonElement[] Entries(string dir)
    {
        var r = Tbptt("sweep", "status", dir, "--json");
        Assert.True(r.ExitCode == 0, r.Err);
        return JsonDocument.Parse(r.Out).RootElement.GetProperty("entries").EnumerateArray().ToArray();
    }

    private static void WaitFor(Func<bool> condition, TimeSpan limit, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > limit) throw new TimeoutException($"waited {limit.TotalSeconds:F0} s for {what}");
            Thread.Sleep(100);
        }
    }

    private static string Submit(Result r)
    {
        Assert.True(r.ExitCode == 0, r.Err + r.Out);
        return Regex.Match(r.Out, @"submitted job (\d+)").Groups[1].Value;
    }

    [Fact]
    public void AKilledArrayTaskResumesAndTheAggregateEqualsALocalRun()
    {
        string dir = Path.Combine(TempDir(), "slurm");
        Assert.Equal(0, Tbptt(["sweep", "plan", "copy", .. Sweep, "--out", dir]).ExitCode);
        string job = Submit(Tbptt("sweep", "slurm", dir, "--cpus-per-task", "1", "--mem", "500M", "--time", "0:10:00"));
        Assert.Contains("#SBATCH --array=0-3", File.ReadAllText(Path.Combine(dir, "submit.sbatch")));

        // Kill entry 0 once it has checkpointed and before it is done.
        string entry0 = Path.Combine(dir, "runs", "fixed-k3-seed1");
        WaitFor(() => File.Exists(Path.Combine(entry0, "checkpoint.safetensors")), TimeSpan.FromSeconds(90), "entry 0's first checkpoint");
        var cancel = cluster.Run("scancel", "--signal=KILL", $"{job}_0");
        Assert.True(cancel.Code == 0, cancel.Err);
        WaitFor(() => Entries(dir)[0].GetProperty("state").GetString() != "running", TimeSpan.FromSeconds(30), "the killed task to end");
        Assert.Equal("stopped", Entries(dir)[0].GetProperty("state").GetString());
        WaitFor(() => Entries(dir).Skip(1).All(e => e.GetProperty("state").GetString() == "done"), TimeSpan.FromSeconds(120), "the other tasks");

        // Resubmitting submits only what is not finished; the task resumes from its checkpoint.
        Submit(Tbptt("sweep", "slurm", dir, "--cpus-per-task", "1", "--mem", "500M"));
        Assert.Contains("#SBATCH --array=0\n", File.ReadAllText(Path.Combine(dir, "submit.sbatch")));
        WaitFor(() => Entries(dir)[0].GetProperty("state").GetString() == "done", TimeSpan.FromSeconds(90), "the resubmitted task");
        Assert.Contains(Directory.GetFiles(Path.Combine(dir, "logs")), f => File.ReadAllText(f).Contains("entry 0 (fixed-k3-seed1): resuming"));
        // Each task computes with the cores Slurm gave it (--cpus-per-task 1: TBPTT_THREADS=1) and the submitter's backend.
        Assert.All(Directory.GetFiles(Path.Combine(dir, "logs")), f => Assert.Matches(@"BLAS managed \[.*, 1 thread\] \(TBPTT_BLAS=managed\)", File.ReadAllText(f)));
        var nothing = Tbptt("sweep", "slurm", dir);
        Assert.Contains("nothing to submit", nothing.Out);
        var aggregate = Tbptt("sweep", "aggregate", dir);
        Assert.True(aggregate.ExitCode == 0, aggregate.Err + aggregate.Out);

        // The same sweep through the local pool.
        string local = Path.Combine(TempDir(), "local");
        Assert.Equal(0, Tbptt(["sweep", "plan", "copy", .. Sweep, "--out", local]).ExitCode);
        var pool = Tbptt("sweep", "local", local, "--jobs", "2");
        Assert.True(pool.ExitCode == 0, pool.Err + pool.Out);
        Assert.Equal(0, Tbptt("sweep", "aggregate", local).ExitCode);
        Assert.Equal(File.ReadAllText(Path.Combine(local, "table.md")), File.ReadAllText(Path.Combine(dir, "table.md")));
        Assert.Equal(File.ReadAllText(Path.Combine(local, "summary.json")), File.ReadAllText(Path.Combine(dir, "summary.json")));
    }

    /// <summary>
    /// Review finding F11: a second <c>sweep slurm</c> leaves out the array tasks Slurm still holds (each submission is
    /// recorded in DIR/slurm/submissions.json and squeue is asked), and <c>sweep status</c> shows their entries as
    /// queued; once the job is gone they are pending again and submitted again.
    /// </summary>
    [Fact]
    public void QueuedTasksAreShownAsQueuedAndNotSubmittedTwice()
    {
        string dir = Path.Combine(TempDir(), "queued");
        Assert.Equal(0, Tbptt(["sweep", "plan", "copy", .. SweepCommandTests.Tiny, "--out", dir]).ExitCode);
        string job = Submit(Tbptt("sweep", "slurm", dir, "--max-parallel", "1", "--mem", "500M"));
        try
        {
            // Held, every task not yet started stays pending (the first may have started: then it runs on).
            var hold = cluster.Run("scontrol", "hold", job);
            Assert.True(hold.Code == 0, hold.Err);
            using (var record = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "slurm", "submissions.json"))))
            {
                var s = Assert.Single(record.RootElement.EnumerateArray().ToArray());
                Assert.Equal(job, s.GetProperty("job").GetString());
                Assert.Equal([0, 1, 2, 3], s.GetProperty("indices").EnumerateArray().Select(i => i.GetInt32()));
            }
            var states = Entries(dir);
            Assert.All(states.Skip(1), e => Assert.Equal("queued", e.GetProperty("state").GetString()));
            Assert.Contains(states[0].GetProperty("state").GetString(), new[] { "queued", "running", "done" });
            Assert.Equal($"{job}_2", states[2].GetProperty("job").GetString());
            Assert.Matches($@"adaptive-d0\.5-seed1\s+queued\s+job {job}_2, pending in Slurm \(JobHeld", Tbptt("sweep", "status", dir).Out);

            // Submitting again queues nothing twice.
            var again = Tbptt("sweep", "slurm", dir, "--mem", "500M");
            Assert.True(again.ExitCode == 0, again.Err);
            Assert.Matches($@"left out \d entries still queued or running in Slurm: job {job} \(", again.Out);
            Assert.Contains("nothing to submit", again.Out);
            Assert.DoesNotContain("submitted job", again.Out);
        }
        finally
        {
            cluster.Run("scancel", job);
        }
        WaitFor(() => Entries(dir).Skip(1).All(e => e.GetProperty("state").GetString() == "pending"), TimeSpan.FromSeconds(30), "the cancelled tasks to leave the queue");
        var dry = Tbptt("sweep", "slurm", dir, "--dry-run");
        Assert.True(dry.ExitCode == 0, dry.Err);
        Assert.DoesNotContain("left out", dry.Out);
        Assert.Matches(@"#SBATCH --array=(0-3|1-3)\n", File.ReadAllText(Path.Combine(dir, "submit.sbatch")));
    }
}
