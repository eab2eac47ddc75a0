using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Tbptt.Checkpoints;
using Tbptt.LanguageModel.Runs;
using Tbptt.LanguageModel.Sweeps;

namespace Tbptt.Cli.Sweeps;

/// <summary>One <c>sbatch</c> of a sweep: the job id and the array's task ids (the entries' indices).</summary>
public sealed record SlurmSubmission(string Job, IReadOnlyList<int> Indices, DateTime SubmittedUtc);

/// <summary>An array task Slurm still holds: waiting (<see cref="Queued"/>) or under way, and squeue's reason.</summary>
public sealed record SlurmTask(string Job, int Index, string State, string Reason)
{
    /// <summary>Waiting to start (pending, or requeued and waiting again).</summary>
    public bool Queued => State is "PENDING" or "REQUEUED" or "REQUEUE_HOLD" or "REQUEUE_FED" or "RESV_DEL_HOLD" or "CONFIGURING";

    /// <summary>The task as Slurm names it: <c>12_3</c>.</summary>
    public string Name => $"{Job}_{Index.ToString(CultureInfo.InvariantCulture)}";
}

/// <summary>
/// The submissions of a sweep, <c>DIR/slurm/submissions.json</c> (written atomically by <c>sweep slurm</c> only;
/// workers never touch it, nor <c>sweep.json</c>), and what <c>squeue</c> says of them: which array tasks are still
/// waiting or running. <c>sweep slurm</c> leaves those out of a new array, so a second submission does not queue
/// an entry twice; <c>sweep status</c> shows their entries as queued. Without squeue nothing is known, and nothing
/// is claimed.
/// </summary>
public static class SlurmQueue
{
    /// <summary>The folder and file of the record, inside the sweep's folder.</summary>
    public const string Folder = "slurm", FileName = "submissions.json";

    /// <summary>How long squeue may take to answer before the queue is taken as unknown.</summary>
    private static readonly TimeSpan SqueueTimeout = TimeSpan.FromSeconds(30);

    private static string PathOf(string dir) => Path.Combine(dir, Folder, FileName);

    /// <summary>The recorded submissions, oldest first; none when the sweep was never submitted (or the record is damaged).</summary>
    public static IReadOnlyList<SlurmSubmission> Submissions(string dir)
    {
        string path = PathOf(dir);
        if (!File.Exists(path)) return [];
        try { return JsonSerializer.Deserialize<List<SlurmSubmission>>(File.ReadAllText(path), RunOptions.Json) ?? []; }
        catch (JsonException) { return []; } // a damaged record only forgets what is queued
    }

    /// <summary>Adds a submission to the record, dropping those squeue no longer holds any task of.</summary>
    /// <param name="live">What squeue said before this submission; null (unknown) keeps every earlier one.</param>
    public static void Record(string dir, SlurmSubmission submission, IReadOnlyList<SlurmTask>? live)
    {
        var kept = Submissions(dir).Where(s => live is null || live.Any(t => t.Job == s.Job)).Append(submission).ToList();
        Directory.CreateDirectory(Path.Combine(dir, Folder));
        AtomicFile.WriteAllText(PathOf(dir), JsonSerializer.Serialize(kept, RunOptions.Json) + "\n");
    }

    /// <summary>
    /// The array tasks of the recorded submissions that Slurm still holds (waiting or running; finished, failed and
    /// cancelled ones are not). Empty when nothing was submitted; null, with the reason, when squeue cannot answer.
    /// </summary>
    public static (IReadOnlyList<SlurmTask>? Tasks, string? Unknown) Live(string dir)
    {
        var submissions = Submissions(dir);
        if (submissions.Count == 0) return ([], null);
        var psi = new ProcessStartInfo("squeue") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        // One line per array task (--array), its array job id, task id, state and reason.
        foreach (var a in new[] { "--noheader", "--array", "--format=%F|%K|%T|%r", "--jobs=" + string.Join(',', submissions.Select(s => s.Job).Distinct()) })
            psi.ArgumentList.Add(a);
        Process p;
        try { p = Process.Start(psi)!; }
        catch (System.ComponentModel.Win32Exception) { return (null, "squeue is not installed or not on PATH"); }
        using (p)
        {
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            if (!p.WaitForExit(SqueueTimeout))
            {
                try { p.Kill(); } catch (InvalidOperationException) { }
                return (null, $"squeue did not answer within {SqueueTimeout.TotalSeconds:0} s");
            }
            string err = OneLine(stderr.Result);
            // Jobs the controller has forgotten (long finished) are not an error of the queue: none of them is live.
            if (p.ExitCode != 0)
                return err.Contains("Invalid job id", StringComparison.OrdinalIgnoreCase) ? ([], null) : (null, $"squeue failed (exit {p.ExitCode}): {err}");
            var jobs = submissions.Select(s => s.Job).ToHashSet();
            var tasks = new List<SlurmTask>();
            foreach (string line in stdout.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                var f = line.Split('|');
                if (f.Length < 4 || !jobs.Contains(f[0]) || !int.TryParse(f[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out int index)) continue;
                var task = new SlurmTask(f[0], index, f[2].ToUpperInvariant(), f[3]);
                // A task that is completing has done its work: its entry's folder says how it ended.
                if (task.Queued || task.State is "RUNNING" or "SUSPENDED" or "STOPPED" or "SIGNALING" or "RESIZING") tasks.Add(task);
            }
            return (tasks, null);
        }
    }

    /// <summary>
    /// The entries' reports with those that have not started (pending, stopped, failed) but whose array task Slurm
    /// still holds shown as <see cref="EntryState.Queued"/>, with the task and squeue's reason.
    /// </summary>
    public static IReadOnlyList<EntryReport> WithQueued(IReadOnlyList<EntryReport> reports, IReadOnlyList<SlurmTask> live)
    {
        var byIndex = live.GroupBy(t => t.Index).ToDictionary(g => g.Key, g => g.Last());
        return reports.Select(r => r.Status.State is EntryState.Pending or EntryState.Stopped or EntryState.Failed && byIndex.TryGetValue(r.Entry.Index, out var t)
            ? r with { Status = r.Status with { State = EntryState.Queued, Job = t.Name, Message = $"{t.State.ToLowerInvariant()} in Slurm{(t.Reason is "" or "None" ? "" : $" ({t.Reason})")}" } }
            : r).ToArray();
    }

    private static string OneLine(string s) => string.Join(' ', s.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries)).Trim();
}
