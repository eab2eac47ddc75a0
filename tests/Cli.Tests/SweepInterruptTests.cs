using System.Diagnostics;
using System.Text.Json;
using static Tbptt.Tests.CliRunner;

namespace Tbptt.Tests;

/// <summary>
/// <c>sweep local</c> stopped from outside, as a user or a scheduler stops it: SIGTERM to the pool alone (what Slurm,
/// systemd or <c>kill</c> send) and SIGINT to its whole process group (Ctrl-C in a terminal reaches the pool and its
/// workers at once). Each time the pool exits 130 and its running entry is stopped with a checkpoint; rerunning the
/// same command finishes the sweep with exactly the table of a sweep never stopped. And the pool's <c>--threads</c>
/// reaches its workers.
/// </summary>
public class SweepInterruptTests
{
    /// <summary>A copy sweep of 2 entries each long enough to be caught mid-run: a worker writes its fraction every 2 s,
    /// and on a loaded machine the test's own poll and signal can lag by seconds, so an entry runs many of those
    /// (120 checkpoints, 10–20 s when idle depending on the machine; at 60 a full CI run once caught an entry too late).</summary>
    private static readonly string[] Sweep =
    [
        "--m", "4", "--epochs", "120", "--batch", "4", "--train-steps", "1500", "--eval-steps", "40", "--hidden", "8",
        "--window", "12", "--burnin", "2", "--samples", "4", "--probes", "1", "--k0", "6", "--kmax", "12",
        "--fixed", "3", "--adaptive", "0.5", "--seeds", "1",
    ];

    private static string Plan()
    {
        string dir = Path.Combine(TempDir(), "sweep");
        var r = Run(["sweep", "plan", "copy", .. Sweep, "--out", dir]);
        Assert.True(r.ExitCode == 0, r.Err);
        return dir;
    }

    private static JsonElement[] Entries(string dir)
    {
        var r = Run("sweep", "status", dir, "--json");
        Assert.True(r.ExitCode == 0, r.Err);
        return JsonDocument.Parse(r.Out).RootElement.GetProperty("entries").EnumerateArray().ToArray();
    }

    /// <summary>Starts <c>sweep local DIR --jobs 1</c> in a session of its own (so a signal can reach its whole group),
    /// with SIGINT at its default: a test run started in the background by a shell (<c>.ci/run &amp;</c>) inherits SIGINT
    /// ignored, as every asynchronous command of a non-interactive shell does, and a terminal's Ctrl-C never meets that.</summary>
    private static Process StartPool(string dir)
    {
        var psi = new ProcessStartInfo("setsid") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "env", "--default-signal=INT", "dotnet", Path.Combine(AppContext.BaseDirectory, "tbptt.dll"), "sweep", "local", dir, "--jobs", "1" }) psi.ArgumentList.Add(a);
        psi.Environment["TBPTT_BLAS"] = "managed";
        return Process.Start(psi)!;
    }

    /// <summary>Waits until some entry is running and has checkpointed, and returns its index.</summary>
    private static int WaitForARunningEntry(string dir, Process pool)
    {
        var plan = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "sweep.json"))).RootElement.GetProperty("entries").EnumerateArray()
            .Select(e => Path.Combine(dir, e.GetProperty("directory").GetString()!)).ToArray();
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(120))
        {
            Assert.False(pool.HasExited, "the pool ended before an entry could be stopped");
            for (int i = 0; i < plan.Length; i++)
            {
                string status = Path.Combine(plan[i], "status.json");
                if (!File.Exists(status) || !File.Exists(Path.Combine(plan[i], "checkpoint.safetensors"))) continue;
                JsonElement s;
                try { s = JsonDocument.Parse(File.ReadAllText(status)).RootElement; }
                catch (Exception e) when (e is IOException or JsonException) { continue; }
                // Caught early enough that the stop cannot come after its last update, even when the signal lags.
                if (s.GetProperty("state").GetString() == "running" && s.GetProperty("fraction").GetDouble() is > 0 and < 0.4) return i;
            }
            Thread.Sleep(50);
        }
        throw new TimeoutException("no entry was running with a checkpoint within 120 s");
    }

    private static void Signal(string signal, string target)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill") { ArgumentList = { signal, "--", target }, UseShellExecute = false })!;
        kill.WaitForExit();
        Assert.Equal(0, kill.ExitCode);
    }

    /// <summary>Stops the pool with <paramref name="signal"/> sent to <paramref name="target"/>; returns the stopped entry.</summary>
    private static int Stop(string dir, string signal, Func<Process, string> target)
    {
        using var pool = StartPool(dir);
        var stdout = pool.StandardOutput.ReadToEndAsync();
        var stderr = pool.StandardError.ReadToEndAsync();
        int entry = WaitForARunningEntry(dir, pool);
        Signal(signal, target(pool));
        Assert.True(pool.WaitForExit(60_000), "the pool did not stop within 60 s");
        Assert.True(pool.ExitCode == 130, $"exit {pool.ExitCode}\n{stdout.Result}\n{stderr.Result}");
        Assert.Contains("sweep stopped; every entry keeps its checkpoint", stdout.Result);
        var states = Entries(dir).Select(e => e.GetProperty("state").GetString()).ToArray();
        Assert.Equal("stopped", states[entry]);
        Assert.DoesNotContain("running", states); // every worker ended with the pool
        Assert.DoesNotContain("failed", states);
        return entry;
    }

    [Fact]
    public void SigtermAndCtrlCStopThePoolAndARerunFinishesWithTheNumbersOfAnUnstoppedSweep()
    {
        string dir = Plan();
        int first = Stop(dir, "-TERM", pool => pool.Id.ToString());        // the pool alone, as Slurm or kill sends it
        int second = Stop(dir, "-INT", pool => "-" + pool.Id.ToString());   // its process group, as Ctrl-C does
        Assert.True(second >= first);
        var rerun = Run("sweep", "local", dir, "--jobs", "1");
        Assert.True(rerun.ExitCode == 0, rerun.Err + rerun.Out);
        Assert.All(Entries(dir), e => Assert.Equal("done", e.GetProperty("state").GetString()));
        Assert.Equal(0, Run("sweep", "aggregate", dir).ExitCode);

        string whole = Plan();
        var unstopped = Run("sweep", "local", whole, "--jobs", "2");
        Assert.True(unstopped.ExitCode == 0, unstopped.Err + unstopped.Out);
        Assert.Equal(0, Run("sweep", "aggregate", whole).ExitCode);
        Assert.Equal(File.ReadAllText(Path.Combine(whole, "table.md")), File.ReadAllText(Path.Combine(dir, "table.md")));
        Assert.Equal(File.ReadAllText(Path.Combine(whole, "summary.json")), File.ReadAllText(Path.Combine(dir, "summary.json")));
    }

    [Fact]
    public void ThePoolsThreadsReachItsWorkers()
    {
        string dir = Path.Combine(TempDir(), "threads");
        Assert.Equal(0, Run(["sweep", "plan", "copy", .. SweepCommandTests.Tiny[..^4], "--adaptive", "", "--seeds", "1,2", "--out", dir]).ExitCode);
        var r = Run("sweep", "local", dir, "--jobs", "1", "--threads", "2");
        Assert.True(r.ExitCode == 0, r.Err + r.Out);
        Assert.Contains("1 job × 2 threads", r.Out);
        foreach (string entry in Directory.GetDirectories(Path.Combine(dir, "runs")))
            Assert.Matches(@"BLAS managed \[.*, 2 threads\] \(TBPTT_BLAS=managed\)", File.ReadAllText(Path.Combine(entry, "worker.log")));
    }
}
