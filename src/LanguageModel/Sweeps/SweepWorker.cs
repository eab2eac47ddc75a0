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
        var previous = EntryStatus.Read(dir, holdingLock: true);
        if (previous.State is EntryState.Done or EntryState.Diverged)
        {
            // A diverged run is a result: run again with the same seed, it would diverge at the same update.
            log.WriteLine($"entry {index} ({entry.Name}) is done already{(previous.State == EntryState.Diverged ? " (it diverged)" : "")}.");
            return WorkerOutcome.AlreadyDone;
        }
        string host = Environment.MachineName;
        int pid = Environment.ProcessId;
        string? job = Environment.GetEnvironmentVariable("SLURM_JOB_ID") is { } j
            ? $"{Environment.GetEnvironmentVariable("SLURM_ARRAY_JOB_ID") ?? j}_{Environment.GetEnvironmentVariable("SLURM_ARRAY_TASK_ID") ?? "-"}" : null;
        EntryStatus Status(EntryState s, string? message, double fraction) => new(s, message, host, pid, job, DateTime.UtcNow, fraction);

        Status(EntryState.Running, null, 0).Save(dir);
        bool resume = File.Exists(Path.Combine(dir, RunExecutor.CheckpointFile));
        log.WriteLine($"entry {index} ({entry.Name}): {(resume ? "resuming" : "starting")} on {host}, pid {pid}{(job is null ? "" : $", job {job}")}");
        var clock = Stopwatch.StartNew();
        long lastWrite = 0;
        try
        {
            var summary = RunExecutor.Execute(entry.Run, dir, resume, log, cancel, fraction =>
            {
                // The status is for people and the sweep's progress line: a few writes a minute are plenty.
                if (clock.ElapsedMilliseconds - lastWrite < 2000) return;
                lastWrite = clock.ElapsedMilliseconds;
                Status(EntryState.Running, null, fraction).Save(dir);
            });
            if (summary.Interrupted)
            {
                Status(EntryState.Stopped, "stopped before the end; it resumes from its checkpoint", 0).Save(dir);
                return WorkerOutcome.Stopped;
            }
            if (summary.Divergence is { } d)
            {
                Status(EntryState.Diverged, d.ToString(), 1).Save(dir);
                return WorkerOutcome.Diverged;
            }
            Status(EntryState.Done, null, 1).Save(dir);
            return WorkerOutcome.Done;
        }
        catch (OperationCanceledException)
        {
            Status(EntryState.Stopped, "stopped before the end; it resumes from its checkpoint", 0).Save(dir);
            throw;
        }
        catch (Exception e)
        {
            Status(EntryState.Failed, OneLine(Describe(e)), 0).Save(dir);
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
