using System.Diagnostics;
using Tbptt.LanguageModel.Runs;

namespace Tbptt.LanguageModel.Sweeps;

/// <summary>What <see cref="SweepWorker.Run"/> did with an entry.</summary>
public enum WorkerOutcome
{
    /// <summary>Trained to the end of its budget.</summary>
    Done,
    /// <summary>Finished before (done or diverged): left alone.</summary>
    AlreadyDone,
    /// <summary>Stopped by a signal or cancellation; it resumes from its checkpoint.</summary>
    Stopped,
    /// <summary>Another process holds the entry.</summary>
    Busy,
    /// <summary>Training hit a non-finite value; the entry is reported as diverged.</summary>
    Diverged,
}

/// <summary>
/// <c>tbptt sweep run DIR --index I</c>: trains entry I, idempotently. A finished entry is left alone; a stopped
/// or killed one resumes from its checkpoint and ends with exactly the numbers of an uninterrupted run; a second
/// worker on the same entry (a duplicate Slurm task) backs off. Writes only inside the entry's folder.
/// </summary>
public static class SweepWorker
{
    /// <summary>Runs entry <paramref name="index"/> of the sweep in <paramref name="sweepDir"/> (see the class remarks).</summary>
    public static WorkerOutcome Run(string sweepDir, int index, TextWriter log, CancellationToken cancel)
    {
        var plan = SweepPlan.Load(sweepDir);
        if (index < 0 || index >= plan.Entries.Count)
            throw new ArgumentOutOfRangeException(nameof(index), index, $"--index {index} is out of range: the sweep has entries 0..{plan.Entries.Count - 1}.");
        var entry = plan.Entries[index];
        string dir = SweepPlan.EntryDirectory(sweepDir, entry);
        using var lockFile = EntryStatus.TryLock(dir);
        if (lockFile is null)
        {
            log.WriteLine($"entry {index} ({entry.Name}) is being run by another process; leaving it.");
            return WorkerOutcome.Busy;
        }
        string host = Environment.MachineName;
        int pid = Environment.ProcessId;
        string? job = Environment.GetEnvironmentVariable("SLURM_JOB_ID") is { } j
            ? $"{Environment.GetEnvironmentVariable("SLURM_ARRAY_JOB_ID") ?? j}_{Environment.GetEnvironmentVariable("SLURM_ARRAY_TASK_ID") ?? "-"}" : null;
        var previous = EntryStatus.Read(dir, holdingLock: true);
        // Our lock proves nothing where locks do not reach across nodes: a fresh heartbeat from another worker does.
        // Only Slurm's own requeue of this very task may take over at once (Slurm never runs one task twice).
        if (previous.State == EntryState.Running && (job is null || previous.Job != job))
        {
            log.WriteLine($"entry {index} ({entry.Name}) is being run by another process ({previous.Host}, pid {previous.Pid}{(previous.Job is null ? "" : $", job {previous.Job}")}; "
                + $"heartbeat {EntryStatus.Ago(DateTime.UtcNow - previous.UpdatedUtc)} ago); leaving it.");
            return WorkerOutcome.Busy;
        }
        if (previous.State is EntryState.Done or EntryState.Diverged)
        {
            // A diverged run is a result: run again with the same seed, it would diverge at the same update.
            log.WriteLine($"entry {index} ({entry.Name}) is done already{(previous.State == EntryState.Diverged ? " (it diverged)" : "")}.");
            return WorkerOutcome.AlreadyDone;
        }

        using var status = new StatusWriter(dir, host, pid, job, EntryStatus.HeartbeatInterval);
        status.Running(0);
        bool resume = File.Exists(Path.Combine(dir, RunExecutor.CheckpointFile));
        // The backend and its threads (TBPTT_THREADS: the pool's --threads, a Slurm task's cores) in every worker's log.
        log.WriteLine($"entry {index} ({entry.Name}): {(resume ? "resuming" : "starting")} on {host}, pid {pid}{(job is null ? "" : $", job {job}")}; BLAS {Numerics.Blas.Describe()}");
        try
        {
            var summary = RunExecutor.Execute(entry.Run, dir, resume, log, cancel, status.Progress, plan.DataRoot(sweepDir));
            if (summary.Interrupted)
            {
                status.Final(EntryState.Stopped, "stopped before the end; it resumes from its checkpoint", 0);
                return WorkerOutcome.Stopped;
            }
            if (summary.Divergence is { } d)
            {
                status.Final(EntryState.Diverged, d.ToString(), 1);
                return WorkerOutcome.Diverged;
            }
            status.Final(EntryState.Done, null, 1);
            return WorkerOutcome.Done;
        }
        catch (OperationCanceledException)
        {
            status.Final(EntryState.Stopped, "stopped before the end; it resumes from its checkpoint", 0);
            throw;
        }
        catch (Exception e)
        {
            status.Final(EntryState.Failed, OneLine(Describe(e)), 0);
            throw;
        }
    }

    /// <summary>The message without .NET's " (Parameter 'x') Actual value was …" decoration.</summary>
    private static string Describe(Exception e)
    {
        string m = e.Message;
        int cut = e is ArgumentException ? m.IndexOf(" (Parameter '", StringComparison.Ordinal) : -1;
        return cut >= 0 ? m[..cut] : m;
    }

    private static string OneLine(string s) => string.Join(' ', s.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries)).Trim();
}

/// <summary>
/// A worker's writes of its entry's status.json: "running" with the progress now and then, a heartbeat every
/// interval from a timer (so a long evaluation or probe still shows a live worker), and the final state — after
/// which no beat can overwrite it.
/// </summary>
internal sealed class StatusWriter : IDisposable
{
    /// <summary>Progress is for people and the sweep's progress line: a few writes a minute are plenty.</summary>
    private const long ProgressMilliseconds = 2000;

    private readonly string _dir, _host;
    private readonly int _pid;
    private readonly string? _job;
    private readonly object _gate = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly Timer _timer;
    private double _fraction;
    private long _lastWrite = long.MinValue / 2;
    private bool _final;

    public StatusWriter(string dir, string host, int pid, string? job, TimeSpan heartbeat)
    {
        (_dir, _host, _pid, _job) = (dir, host, pid, job);
        _timer = new Timer(_ => Beat(), null, heartbeat, heartbeat);
    }

    /// <summary>Writes "running" at <paramref name="fraction"/> now.</summary>
    public void Running(double fraction)
    {
        lock (_gate)
        {
            _fraction = fraction;
            Write(EntryState.Running, null, fraction);
        }
    }

    /// <summary>Records the progress, writing it when the last write is a while ago.</summary>
    public void Progress(double fraction)
    {
        lock (_gate)
        {
            _fraction = fraction;
            if (_clock.ElapsedMilliseconds - _lastWrite >= ProgressMilliseconds) Write(EntryState.Running, null, fraction);
        }
    }

    /// <summary>The last write: the entry's outcome. Heartbeats stop.</summary>
    public void Final(EntryState state, string? message, double fraction)
    {
        lock (_gate)
        {
            _final = true;
            Write(state, message, fraction);
        }
    }

    private void Beat()
    {
        lock (_gate)
        {
            if (_final) return;
            // A failed beat (a file system hiccup) must not end the process from a timer thread: the next one retries.
            try { Write(EntryState.Running, null, _fraction); }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
    }

    private void Write(EntryState state, string? message, double fraction)
    {
        if (_final && state == EntryState.Running) return;
        new EntryStatus(state, message, _host, _pid, _job, DateTime.UtcNow, fraction).Save(_dir);
        _lastWrite = _clock.ElapsedMilliseconds;
    }

    public void Dispose()
    {
        using var done = new ManualResetEvent(false);
        if (_timer.Dispose(done)) done.WaitOne(); // a beat in flight ends before the worker returns
    }
}
