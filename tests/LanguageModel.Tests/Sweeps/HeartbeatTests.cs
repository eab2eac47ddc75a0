using System.Diagnostics;
using Tbptt.LanguageModel.Sweeps;

namespace Tbptt.Tests;

/// <summary>
/// Review finding F5: where locks do not reach across nodes (Lustre without flock, NFS nolock) a worker elsewhere
/// is told by its heartbeat: a running status younger than <see cref="EntryStatus.HeartbeatTimeout"/> is running even
/// though the lock can be taken; an older one was left by a dead worker and is stopped. On this host the process
/// table decides. Statuses are written by hand, and the clock of the reader is given.
/// </summary>
public class HeartbeatTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tbptt-heartbeat-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly DateTime Now = new(2026, 12, 2, 12, 0, 0, DateTimeKind.Utc);

    private void Write(string? host, int? pid, DateTime updated) =>
        new EntryStatus(EntryState.Running, null, host, pid, "77_1", updated, 0.4).Save(_dir);

    [Fact]
    public void ARunningStatusFromAnotherNodeIsRunningWhileItsHeartbeatIsFresh()
    {
        Write("node-elsewhere", 4242, Now - EntryStatus.HeartbeatInterval);
        Assert.False(EntryStatus.IsLocked(_dir)); // the lock says nothing here: nobody on this host holds it
        Assert.Equal(EntryState.Running, EntryStatus.Read(_dir, holdingLock: false, Now).State);
        Assert.Equal(EntryState.Running, EntryStatus.Read(_dir, holdingLock: true, Now).State); // a worker that got "the lock" still backs off
        Assert.Equal(EntryState.Running, EntryStatus.Read(_dir, false, Now + EntryStatus.HeartbeatTimeout - EntryStatus.HeartbeatInterval - TimeSpan.FromSeconds(1)).State);

        // Three intervals without a beat: the worker died without a word (kill -9, a lost node).
        var stale = EntryStatus.Read(_dir, false, Now + EntryStatus.HeartbeatTimeout);
        Assert.Equal(EntryState.Stopped, stale.State);
        Assert.Contains("no heartbeat from node-elsewhere for 2 min", stale.Message); // written 30 s before Now
        Assert.Equal(EntryState.Stopped, EntryStatus.Read(_dir, false, Now + TimeSpan.FromHours(3)).State);
    }

    [Fact]
    public void OnThisHostTheProcessTableDecidesNotTheClock()
    {
        using var sleeper = Process.Start(new ProcessStartInfo("sleep", "30") { UseShellExecute = false })!;
        try
        {
            // A live process of this host that started before the status was written: running, however old the beat.
            Write(Environment.MachineName, sleeper.Id, DateTime.UtcNow);
            Assert.Equal(EntryState.Running, EntryStatus.Read(_dir, false, DateTime.UtcNow + TimeSpan.FromHours(1)).State);
            // The same number, but the status is older than the process: a reused pid, not the worker.
            Write(Environment.MachineName, sleeper.Id, DateTime.UtcNow - TimeSpan.FromHours(1));
            Assert.Equal(EntryState.Stopped, EntryStatus.Read(_dir).State);
        }
        finally
        {
            sleeper.Kill();
            sleeper.WaitForExit();
        }
        // Gone: stopped at once, with a fresh heartbeat.
        Write(Environment.MachineName, sleeper.Id, DateTime.UtcNow);
        var gone = EntryStatus.Read(_dir);
        Assert.Equal(EntryState.Stopped, gone.State);
        Assert.Contains($"its worker (pid {sleeper.Id}) is gone", gone.Message);
        // This very process is never "another worker".
        Write(Environment.MachineName, Environment.ProcessId, DateTime.UtcNow);
        Assert.Equal(EntryState.Stopped, EntryStatus.Read(_dir).State);
    }

    [Fact]
    public void AWorkerBeatsWhileItRunsAndNeverAfterItsLastWord()
    {
        using (var writer = new StatusWriter(_dir, "here", 1, null, TimeSpan.FromMilliseconds(50)))
        {
            writer.Running(0.25);
            var first = Read();
            var clock = Stopwatch.StartNew();
            while (Read().UpdatedUtc == first.UpdatedUtc && clock.Elapsed < TimeSpan.FromSeconds(10)) Thread.Sleep(20);
            var beat = Read();
            Assert.True(beat.UpdatedUtc > first.UpdatedUtc, "no heartbeat within 10 s at a 50 ms interval");
            Assert.Equal((EntryState.Running, 0.25), (beat.State, beat.Fraction)); // a beat repeats the progress
            writer.Progress(0.5); // within 2 s of the last write: recorded, written by the next beat
            clock.Restart();
            while (Read().Fraction != 0.5 && clock.Elapsed < TimeSpan.FromSeconds(10)) Thread.Sleep(20);
            Assert.Equal(0.5, Read().Fraction);
            writer.Final(EntryState.Done, null, 1);
            Thread.Sleep(300); // six intervals: a beat after the final state would show now
            Assert.Equal(EntryState.Done, Read().State);
        }
        Assert.Equal(EntryState.Done, Read().State);

        EntryStatus Read() => System.Text.Json.JsonSerializer.Deserialize<EntryStatus>(
            File.ReadAllText(Path.Combine(_dir, EntryStatus.FileName)), Tbptt.LanguageModel.Runs.RunOptions.Json)!;
    }
}
