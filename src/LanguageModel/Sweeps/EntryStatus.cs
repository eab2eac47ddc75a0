using System.Text.Json;
using Tbptt.Checkpoints;
using Tbptt.LanguageModel.Runs;

namespace Tbptt.LanguageModel.Sweeps;

/// <summary>Where a sweep entry stands.</summary>
public enum EntryState
{
    /// <summary>Not started.</summary>
    Pending,
    /// <summary>A worker holds the entry's lock.</summary>
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
/// An entry's <c>status.json</c>, written atomically by its worker only. Whether a worker is alive is told by the
/// entry's lock file, not by the status (a killed worker cannot update it): "running" without the lock is stopped.
/// </summary>
public sealed record EntryStatus(EntryState State, string? Message, string? Host, int? Pid, string? Job, DateTime UpdatedUtc, double Fraction)
{
    /// <summary>The status file and the lock file of an entry folder.</summary>
    public const string FileName = "status.json", LockFile = ".lock";

    /// <summary>Writes the status atomically into the entry folder.</summary>
    public void Save(string entryDir) =>
        AtomicFile.WriteAllText(Path.Combine(entryDir, FileName), JsonSerializer.Serialize(this, RunOptions.Json) + "\n");

    /// <summary>The entry's state as seen from outside its worker.</summary>
    /// <param name="holdingLock">The caller is the worker and holds the lock itself: the lock says nothing.</param>
    public static EntryStatus Read(string entryDir, bool holdingLock = false)
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
        return s.State == EntryState.Running ? s with { State = EntryState.Stopped } : s;
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
