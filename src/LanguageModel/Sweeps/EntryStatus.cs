using System.Diagnostics;
using System.Text.Json;
using Tbptt.Checkpoints;
using Tbptt.LanguageModel.Runs;

namespace Tbptt.LanguageModel.Sweeps;

/// <summary>Where a sweep entry stands.</summary>
public enum EntryState
{
    /// <summary>Not started.</summary>
    Pending,
    /// <summary>Not started (or stopped), and submitted: a scheduler holds its task, waiting. Only a reader that asks the
    /// scheduler knows it (<c>sweep status</c> asks squeue); a worker never writes it.</summary>
    Queued,
    /// <summary>A worker runs it: it holds the entry's lock, or its heartbeat is fresh.</summary>
    Running,
    /// <summary>Stopped before the end (signal, kill, node failure); resumes from its checkpoint.</summary>
    Stopped,
    /// <summary>Finished; its summary.json holds the result.</summary>
    Done,
    /// <summary>Ended with an error; the message says which.</summary>
    Failed,
    /// <summary>Training hit a non-finite loss or gradient.</summary>
    Diverged,
}

/// <summary>
/// An entry's <c>status.json</c>, written atomically by its worker only. Whether a worker is alive is told first by
/// the entry's lock file (a killed worker cannot update its status, but the system drops its lock), and where locks
/// cannot be trusted by a heartbeat: a running worker rewrites its status at least every
/// <see cref="HeartbeatInterval"/>, so <see cref="UpdatedUtc"/> of a live worker is never older than
/// <see cref="HeartbeatTimeout"/>. A "running" status without the lock is stopped when its writer is known dead
/// (a process of this host that is gone) or its heartbeat is stale.
/// </summary>
public sealed record EntryStatus(EntryState State, string? Message, string? Host, int? Pid, string? Job, DateTime UpdatedUtc, double Fraction)
{
    /// <summary>The status file and the lock file of an entry folder.</summary>
    public const string FileName = "status.json", LockFile = ".lock";

    /// <summary>
    /// How often a running worker rewrites its status, whatever it is doing (a timer, so a long evaluation or probe
    /// beats too). Cluster file systems mounted without working locks (Lustre without <c>-o flock</c>, NFS with
    /// <c>nolock</c>: a lock taken on one node is invisible on another) give no other sign of life. Every 30 s is a
    /// few tiny atomic writes a minute per running entry, nothing for a shared file system.
    /// </summary>
    public static readonly TimeSpan HeartbeatInterval = TimeSpan.FromSeconds(30);

    /// <summary>
    /// A running status younger than this is a live worker's (three intervals: a loaded node or a slow file system
    /// may delay a beat or two; the clocks of a cluster's nodes agree far better than this). An older one was left by
    /// a worker that died without a word (<c>kill -9</c>, a lost node): the entry is stopped and resumable.
    /// </summary>
    public static readonly TimeSpan HeartbeatTimeout = 3 * HeartbeatInterval;

    /// <summary>Writes the status atomically into the entry folder.</summary>
    public void Save(string entryDir) =>
        AtomicFile.WriteAllText(Path.Combine(entryDir, FileName), JsonSerializer.Serialize(this, RunOptions.Json) + "\n");

    /// <summary>The entry's state as seen from outside its worker.</summary>
    /// <param name="holdingLock">The caller is a worker and holds the lock itself: the lock says nothing, the
    /// heartbeat still does (where locks do not work across nodes, a live worker elsewhere holds "the same" lock).</param>
    public static EntryStatus Read(string entryDir, bool holdingLock = false) => Read(entryDir, holdingLock, DateTime.UtcNow);

    internal static EntryStatus Read(string entryDir, bool holdingLock, DateTime nowUtc)
    {
        string path = Path.Combine(entryDir, FileName);
        // The lock first: a worker that finishes between the two reads then shows as running, not as stopped.
        bool locked = !holdingLock && IsLocked(entryDir);
        EntryStatus? s = null;
        if (File.Exists(path))
        {
            try { s = JsonSerializer.Deserialize<EntryStatus>(File.ReadAllText(path), RunOptions.Json); }
            catch (JsonException) { s = null; } // a damaged status is re-derived below
            catch (IOException) { s = null; }
        }
        if (locked) return (s ?? Unknown) with { State = EntryState.Running };
        if (s is null)
            return File.Exists(Path.Combine(entryDir, RunExecutor.CheckpointFile)) ? Unknown with { State = EntryState.Stopped } : Unknown;
        if (s.State is EntryState.Done or EntryState.Diverged && !File.Exists(Path.Combine(entryDir, RunExecutor.SummaryFile)))
            return s with { State = EntryState.Failed, Message = "marked done but its summary.json is missing" };
        if (s.State != EntryState.Running) return s;
        return s.IsAlive(nowUtc) ? s : s with { State = EntryState.Stopped, Message = s.StoppedBecause(nowUtc) };
    }

    /// <summary>
    /// Whether the worker that wrote this running status may still be running. On this host the process table
    /// answers (the process is gone, or is a later process that reuses the number); elsewhere the heartbeat does.
    /// </summary>
    public bool IsAlive(DateTime nowUtc)
    {
        if (State != EntryState.Running) return false;
        if (Host == Environment.MachineName && Pid is { } pid) return ProcessAlive(pid, UpdatedUtc);
        return nowUtc - UpdatedUtc < HeartbeatTimeout;
    }

    private string StoppedBecause(DateTime nowUtc) => Host == Environment.MachineName && Pid is not null
        ? $"its worker (pid {Pid}) is gone; it resumes from its checkpoint"
        : $"no heartbeat from {Host ?? "its worker"} for {Ago(nowUtc - UpdatedUtc)}; it resumes from its checkpoint";

    /// <summary>A duration as people read it: "45 s", "12 min", "3 h".</summary>
    internal static string Ago(TimeSpan t) => t.TotalSeconds < 120 ? $"{Math.Max(0, (int)t.TotalSeconds)} s"
        : t.TotalMinutes < 120 ? $"{(int)t.TotalMinutes} min" : $"{(int)t.TotalHours} h";

    /// <summary>A process of this host with that id that started before the status was written (a later one only
    /// reuses the number) and is not a zombie; never this process itself.</summary>
    private static bool ProcessAlive(int pid, DateTime writtenUtc)
    {
        if (pid == Environment.ProcessId) return false;
        try
        {
            using var p = Process.GetProcessById(pid);
            if (p.HasExited) return false;
            if (OperatingSystem.IsLinux() && File.Exists($"/proc/{pid}/stat"))
            {
                string stat = File.ReadAllText($"/proc/{pid}/stat");
                int close = stat.LastIndexOf(')');
                if (close > 0 && close + 2 < stat.Length && stat[close + 2] is 'Z' or 'X') return false;
            }
            return p.StartTime.ToUniversalTime() <= writtenUtc + TimeSpan.FromSeconds(2);
        }
        catch (ArgumentException) { return false; }          // no such process
        catch (InvalidOperationException) { return false; }  // it exited meanwhile
        catch (IOException) { return false; }
        catch (System.ComponentModel.Win32Exception) { return true; } // not ours to inspect: assume it runs
        catch (NotSupportedException) { return true; }
    }

    private static EntryStatus Unknown => new(EntryState.Pending, null, null, null, null, DateTime.MinValue, 0);

    /// <summary>Whether a live process holds the entry's lock.</summary>
    public static bool IsLocked(string entryDir)
    {
        string path = Path.Combine(entryDir, LockFile);
        if (!File.Exists(path)) return false;
        try
        {
            using var probe = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
            return false;
        }
        catch (IOException) { return true; }
        catch (UnauthorizedAccessException) { return true; }
    }

    /// <summary>Takes the entry's lock for the life of the returned stream, or null when another process holds it.
    /// Retries briefly: a status check opens the lock for an instant.</summary>
    public static FileStream? TryLock(string entryDir)
    {
        Directory.CreateDirectory(entryDir);
        for (int attempt = 0; attempt < 20; attempt++)
        {
            try { return new FileStream(Path.Combine(entryDir, LockFile), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None); }
            catch (IOException) { Thread.Sleep(100); }
        }
        return null;
    }
}
