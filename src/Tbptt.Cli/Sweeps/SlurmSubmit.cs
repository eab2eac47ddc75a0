using System.Diagnostics;
using System.Globalization;
using System.Text;
using Tbptt.Checkpoints;
using Tbptt.LanguageModel.Sweeps;
using Tbptt.Numerics;

namespace Tbptt.Cli.Sweeps;

/// <summary>What a Slurm job array asks for; null leaves the cluster's default.</summary>
public sealed record SlurmRequest(string? Partition, string? Time, int CpusPerTask, string? Memory, int? MaxParallel, string? Account);

/// <summary>
/// <c>tbptt sweep slurm</c>: a job array over the entries not yet finished, one task per entry, each running
/// <c>tbptt sweep run DIR --index $SLURM_ARRAY_TASK_ID</c> — so a requeued or resubmitted task resumes where it
/// stopped, and a finished one returns at once.
/// </summary>
public static class SlurmSubmit
{
    public const string ScriptName = "submit.sbatch";

    /// <summary>Writes <c>DIR/submit.sbatch</c> for the unfinished entries not in <paramref name="leaveOut"/> (tasks
    /// Slurm still holds); null when there are none.</summary>
    public static (string Script, IReadOnlyList<int> Indices)? Write(string dir, SlurmRequest request, IReadOnlySet<int>? leaveOut = null)
    {
        if (request.CpusPerTask < 1) throw new UserInputException($"--cpus-per-task: {request.CpusPerTask} must be at least 1.");
        if (request.MaxParallel is < 1) throw new UserInputException($"--max-parallel: {request.MaxParallel} must be at least 1.");
        foreach (var (flag, value) in new[] { ("--partition", request.Partition), ("--time", request.Time), ("--mem", request.Memory), ("--account", request.Account) })
            if (value is not null && (value.Length == 0 || value.Any(c => char.IsWhiteSpace(c) || char.IsControl(c) || c is '\'' or '"' or '\\' or '$' or '`')))
                throw new UserInputException($"--{flag.TrimStart('-')}: '{Escape(value)}' is not a plain Slurm value.");
        var plan = SweepPlan.Load(dir);
        string full = Path.GetFullPath(dir);
        // #SBATCH lines are not shell lines: a space would split the path and '%' is a job-id pattern there.
        if (full.Any(c => char.IsWhiteSpace(c) || c is '%' or '\'' or '"'))
            throw new UserInputException($"{full}: a Slurm sweep folder's path must not hold spaces, quotes or '%'; move the sweep.");
        var indices = SweepAggregate.Status(dir, plan)
            .Where(s => s.Status.State is not (EntryState.Done or EntryState.Diverged or EntryState.Running) && leaveOut?.Contains(s.Entry.Index) != true)
            .Select(s => s.Entry.Index).ToArray();
        if (indices.Length == 0) return null;
        string logs = Path.Combine(full, "logs");
        Directory.CreateDirectory(logs);
        var s = new StringBuilder();
        s.Append("#!/bin/bash\n");
        s.Append($"# Written by tbptt sweep slurm: one array task per unfinished entry of {full}.\n");
        s.Append("# Each task resumes its entry from its checkpoint, so requeueing or resubmitting is safe.\n");
        s.Append($"#SBATCH --job-name=tbptt-{plan.Kind}\n");
        s.Append($"#SBATCH --array={ArrayRanges(indices)}{(request.MaxParallel is { } k ? $"%{k}" : "")}\n");
        s.Append($"#SBATCH --output={logs}/%A_%a.log\n");
        s.Append("#SBATCH --open-mode=append\n");
        s.Append("#SBATCH --ntasks=1\n");
        s.Append(Invariant($"#SBATCH --cpus-per-task={request.CpusPerTask}\n"));
        if (request.Memory is { } m) s.Append($"#SBATCH --mem={m}\n");
        if (request.Time is { } t) s.Append($"#SBATCH --time={t}\n");
        if (request.Partition is { } p) s.Append($"#SBATCH --partition={p}\n");
        if (request.Account is { } a) s.Append($"#SBATCH --account={a}\n");
        s.Append("#SBATCH --requeue\n");
        s.Append("#SBATCH --signal=B:TERM@60\n"); // a minute's warning before the time limit: the worker checkpoints
        s.Append("set -euo pipefail\n");
        s.Append("threads=\"${SLURM_CPUS_PER_TASK:-1}\"\n");
        s.Append("export TBPTT_THREADS=\"$threads\" OPENBLAS_NUM_THREADS=\"$threads\" OMP_NUM_THREADS=\"$threads\"\n");
        // The backend the sweep was submitted with, unless the job's environment names one: backends round
        // differently, and a requeued task must resume with the numbers it started with.
        s.Append($"export {Blas.EnvironmentVariable}=\"${{{Blas.EnvironmentVariable}:-{Environment.GetEnvironmentVariable(Blas.EnvironmentVariable) ?? Blas.Active.Name}}}\"\n");
        s.Append($"exec {SelfCommand.ShellLine(["sweep", "run", full, "--index"])} \"$SLURM_ARRAY_TASK_ID\"\n");
        string script = Path.Combine(full, ScriptName);
        AtomicFile.WriteAllText(script, s.ToString());
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        return (script, indices);
    }

    /// <summary>Submits the script with <c>sbatch --parsable</c>; returns the job id.</summary>
    public static string Submit(string script)
    {
        var psi = new ProcessStartInfo("sbatch") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add("--parsable");
        psi.ArgumentList.Add(script);
        Process p;
        try { p = Process.Start(psi)!; }
        catch (System.ComponentModel.Win32Exception)
        {
            throw new UserInputException("sbatch is not installed or not on PATH; use --dry-run to write the script only, or 'tbptt sweep local'.");
        }
        using (p)
        {
            var stdout = p.StandardOutput.ReadToEndAsync();
            string err = p.StandardError.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0)
                throw new UserInputException($"sbatch failed (exit {p.ExitCode}): {Escape(string.Join(' ', err.Split('\n', StringSplitOptions.RemoveEmptyEntries)))}");
            return stdout.Result.Trim().Split(';')[0];
        }
    }

    /// <summary>Indices as Slurm's array syntax: 0-3,5,7-9.</summary>
    public static string ArrayRanges(IReadOnlyList<int> sorted)
    {
        var parts = new List<string>();
        for (int i = 0; i < sorted.Count;)
        {
            int j = i;
            while (j + 1 < sorted.Count && sorted[j + 1] == sorted[j] + 1) j++;
            parts.Add(j == i ? Invariant($"{sorted[i]}") : Invariant($"{sorted[i]}-{sorted[j]}"));
            i = j + 1;
        }
        return string.Join(',', parts);
    }

    private static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    private static string Escape(string s) => string.Concat(s.Select(c => char.IsControl(c) ? $"\\x{(int)c:x2}" : c.ToString()));
}
