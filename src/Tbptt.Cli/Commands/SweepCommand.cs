using System.CommandLine;
using System.Globalization;
using Tbptt.Cli.Binders;
using Tbptt.Cli.Sweeps;
using Tbptt.LanguageModel.Experiments;
using Tbptt.LanguageModel.Sweeps;
using Tbptt.Reporting;

namespace Tbptt.Cli.Commands;

/// <summary>
/// <c>tbptt sweep</c>: grids of runs as data. <c>plan</c> writes <c>DIR/sweep.json</c>; <c>run</c> trains one entry
/// (idempotent, resumable); <c>local</c> runs the unfinished entries as a process pool; <c>slurm</c> submits them as
/// a job array; <c>status</c> and <c>aggregate</c> read the entry folders.
/// </summary>
public static class SweepCommand
{
    public static Command Create()
    {
        var cmd = new Command("sweep", "Grids of runs as data: plan a comparison, run it locally or as a Slurm job array, resume it, aggregate it.");
        var plan = new Command("plan", "Write DIR/sweep.json: one complete run record per (configuration, seed). Runs nothing.");
        plan.Subcommands.Add(Plan("copy", "The copy experiment (Table C.1): every flag of 'tbptt copy'.", SweepBinder.Copy(requiredOut: true)));
        plan.Subcommands.Add(Plan("charlm", "The character-model comparison: every flag of 'tbptt charlm compare'.", SweepBinder.CharLm()));
        cmd.Subcommands.Add(plan);
        cmd.Subcommands.Add(RunOne());
        cmd.Subcommands.Add(Local());
        cmd.Subcommands.Add(Slurm());
        cmd.Subcommands.Add(Status());
        cmd.Subcommands.Add(Aggregate());
        return cmd;
    }

    private static Argument<string> DirArgument() => new("DIR") { Description = "The sweep's folder (holding sweep.json)." };

    private static Command Plan(string kind, string description, SweepBinder binder)
    {
        var cmd = new Command(kind, description);
        binder.AddTo(cmd);
        cmd.SetAction(r => CliErrors.Run(() =>
        {
            var (plan, dir) = binder.Read(r);
            plan.Save(dir);
            Console.WriteLine($"planned {plan.Entries.Count} entries ({plan.Configurations.Count} configurations × {plan.Entries.Count / plan.Configurations.Count} seeds) in {Path.Combine(dir, SweepPlan.FileName)}");
            Console.WriteLine($"run them with 'tbptt sweep local {dir}' or 'tbptt sweep slurm {dir}'");
            return 0;
        }));
        return cmd;
    }

    private static Command RunOne()
    {
        var dir = DirArgument();
        var index = Opt.Required<int>("--index", "The entry to run (0-based; Slurm passes $SLURM_ARRAY_TASK_ID).");
        var cmd = new Command("run", "Run one entry: a finished entry is left alone, a stopped one resumes from its checkpoint.") { dir, index };
        cmd.SetAction(r => CliErrors.Run(() =>
        {
            using var cancel = Interrupt.OnCtrlC();
            return SweepWorker.Run(r.GetValue(dir)!, r.GetValue(index), Console.Out, cancel.Token) switch
            {
                WorkerOutcome.Done or WorkerOutcome.AlreadyDone => 0,
                WorkerOutcome.Stopped => CliErrors.Interrupted,
                WorkerOutcome.Diverged => CliErrors.Diverged,
                _ => Busy,
            };
        }));
        return cmd;
    }

    /// <summary>Exit code of a worker that found its entry held by another process (EX_TEMPFAIL).</summary>
    public const int Busy = 75;

    private static Command Local()
    {
        var dir = DirArgument();
        var pool = new PoolBinder();
        var cmd = new Command("local", "Run every unfinished entry as a pool of worker processes, with one progress line; Ctrl-C stops cleanly.") { dir };
        pool.AddTo(cmd);
        cmd.SetAction(r => CliErrors.Run(() =>
        {
            var (jobs, threads) = pool.Read(r);
            using var cancel = Interrupt.OnCtrlC();
            return LocalPool.Run(r.GetValue(dir)!, jobs, threads, Console.Out, cancel.Token);
        }));
        return cmd;
    }

    private static Command Slurm()
    {
        var dir = DirArgument();
        var partition = Opt.Optional<string?>("--partition", "Slurm partition (default: the cluster's).");
        var time = Opt.Optional<string?>("--time", "Time limit per task, e.g. 4:00:00 (default: the partition's).");
        var cpus = Opt.WithDefault("--cpus-per-task", "Cores per task; the worker uses as many BLAS threads.", 1);
        var mem = Opt.Optional<string?>("--mem", "Memory per task, e.g. 2G (default: the cluster's).");
        var maxParallel = Opt.Optional<int?>("--max-parallel", "At most this many tasks at once (the array's %K).");
        var account = Opt.Optional<string?>("--account", "Slurm account to charge.");
        var dryRun = Opt.WithDefault("--dry-run", "Write DIR/submit.sbatch and print how to submit it, without calling sbatch.", false);
        var cmd = new Command("slurm", "Submit the unfinished entries as a Slurm job array (writes DIR/submit.sbatch; prints the job id).")
            { dir, partition, time, cpus, mem, maxParallel, account, dryRun };
        cmd.SetAction(r => CliErrors.Run(() =>
        {
            string d = r.GetValue(dir)!;
            var request = new SlurmRequest(r.GetValue(partition), r.GetValue(time), r.GetValue(cpus), r.GetValue(mem), r.GetValue(maxParallel), r.GetValue(account));
            SweepPlan.Load(d); // a folder that is not a sweep is refused before squeue is asked
            // Tasks of earlier submissions that Slurm still holds are not submitted again.
            var (live, unknown) = SlurmQueue.Live(d);
            if (unknown is not null)
                Console.WriteLine($"cannot tell which earlier tasks are still queued ({unknown}); submitting every unfinished entry (a duplicate task backs off)");
            else if (live!.Count > 0)
                Console.WriteLine($"left out {Entries(live.Select(t => t.Index).Distinct().Count())} still queued or running in Slurm: "
                    + string.Join("; ", live.GroupBy(t => t.Job).Select(g => $"job {g.Key} ({SlurmSubmit.ArrayRanges(g.Select(t => t.Index).Distinct().Order().ToArray())})")));
            var written = SlurmSubmit.Write(d, request, live?.Select(t => t.Index).ToHashSet());
            if (written is not { } w)
            {
                Console.WriteLine($"every entry of {d} is done, running or queued; nothing to submit ('tbptt sweep aggregate {d}' writes the table once all are done).");
                return 0;
            }
            Console.WriteLine($"wrote {w.Script}: {w.Indices.Count} array task{(w.Indices.Count == 1 ? "" : "s")} ({SlurmSubmit.ArrayRanges(w.Indices)})");
            if (r.GetValue(dryRun))
            {
                Console.WriteLine($"submit it with: sbatch {SelfCommand.ShellQuote(w.Script)}");
                return 0;
            }
            string job = SlurmSubmit.Submit(w.Script);
            SlurmQueue.Record(d, new SlurmSubmission(job, w.Indices, DateTime.UtcNow), live);
            Console.WriteLine($"submitted job {job}; follow it with 'tbptt sweep status {d}' (logs in {Path.Combine(d, "logs")})");
            return 0;
        }));
        return cmd;
    }

    private static string Entries(int n) => n == 1 ? "1 entry" : $"{n} entries";

    private static Command Status()
    {
        var dir = DirArgument();
        var json = Opt.WithDefault("--json", "Print the status as JSON.", false);
        var cmd = new Command("status", "Each entry as pending, queued (in Slurm), running, stopped, done, failed (with its error) or diverged.") { dir, json };
        cmd.SetAction(r => CliErrors.Run(() =>
        {
            string d = r.GetValue(dir)!;
            var plan = SweepPlan.Load(d);
            var status = SweepAggregate.Status(d, plan);
            // Entries whose Slurm task is waiting: known only by asking squeue (and only for recorded submissions).
            var (live, unknown) = SlurmQueue.Live(d);
            if (live is not null) status = SlurmQueue.WithQueued(status, live);
            if (r.GetValue(json))
            {
                Console.WriteLine(JsonSummary.Serialize(new
                {
                    entries = status.Select(s => new
                    {
                        s.Entry.Index, s.Entry.Name, s.Entry.Configuration, s.Entry.Seed, state = s.Status.State.ToString().ToLowerInvariant(),
                        s.Status.Message, s.Status.Host, s.Status.Job, s.Status.Fraction,
                        updated = s.Status.UpdatedUtc == DateTime.MinValue ? null : s.Status.UpdatedUtc.ToString("O", CultureInfo.InvariantCulture),
                    }),
                    counts = Enum.GetValues<EntryState>().ToDictionary(e => e.ToString().ToLowerInvariant(), e => status.Count(s => s.Status.State == e)),
                }));
                return 0;
            }
            foreach (var s in status)
            {
                string state = s.Status.State.ToString().ToLowerInvariant();
                string detail = s.Status.State switch
                {
                    EntryState.Running => string.Create(CultureInfo.InvariantCulture, $"{s.Status.Fraction:P0} on {s.Status.Host}{(s.Status.Job is null ? "" : $" (job {s.Status.Job})")}")
                        + (s.Status.UpdatedUtc == DateTime.MinValue ? "" : $", heartbeat {EntryStatus.Ago(DateTime.UtcNow - s.Status.UpdatedUtc)} ago"),
                    EntryState.Queued => $"job {s.Status.Job}, {s.Status.Message}",
                    EntryState.Failed or EntryState.Diverged or EntryState.Stopped => s.Status.Message ?? "",
                    _ => "",
                };
                Console.WriteLine($"{s.Entry.Index,4}  {s.Entry.Name,-28} {state,-9} {detail}".TrimEnd());
            }
            Console.WriteLine(string.Join(", ", Enum.GetValues<EntryState>().Select(e => (e, n: status.Count(s => s.Status.State == e)))
                .Where(x => x.n > 0).Select(x => $"{x.n} {x.e.ToString().ToLowerInvariant()}")));
            if (unknown is not null) Console.WriteLine($"(submitted to Slurm, but {unknown}: entries waiting in its queue show as pending or stopped)");
            return 0;
        }));
        return cmd;
    }

    private static Command Aggregate()
    {
        var dir = DirArgument();
        var cmd = new Command("aggregate", "Write DIR/table.md, DIR/summary.json and the plots from the entries that are done.") { dir };
        cmd.SetAction(r => CliErrors.Run(() => PrintAggregate(r.GetValue(dir)!)));
        return cmd;
    }

    /// <summary>Aggregates, prints the table and names what is missing; 0 when every entry is in it.</summary>
    public static int PrintAggregate(string dir)
    {
        var plan = SweepPlan.Load(dir);
        var (results, missing) = SweepAggregate.Write(dir, plan);
        Console.WriteLine();
        Console.Write(ComparisonReport.Table(plan.Description, plan.Metric, results));
        if (missing.Count > 0)
            Console.WriteLine($"missing {missing.Count} of {plan.Entries.Count}: " + string.Join(", ",
                missing.Select(m => $"{m.Entry.Name} ({m.Status.State.ToString().ToLowerInvariant()})")));
        Console.WriteLine($"wrote {dir}: table.md, summary.json, *.svg (runs in {Path.Combine(dir, "runs")})");
        return missing.Count == 0 ? 0 : 1;
    }

    /// <summary>A comparison command (copy, charlm compare, demo): its sweep's flags and the pool's, then plan + local + aggregate.</summary>
    /// <param name="before">Runs once the flags are read, before planning (demo prints what it runs on).</param>
    public static Command Comparison(string name, string description, SweepBinder sweep, Action? before = null)
    {
        var pool = new PoolBinder();
        var cmd = new Command(name, description);
        sweep.AddTo(cmd);
        pool.AddTo(cmd);
        cmd.SetAction(r => CliErrors.Run(() =>
        {
            var (plan, dir) = sweep.Read(r);
            var (jobs, threads) = pool.Read(r);
            before?.Invoke();
            return PlanRunAggregate(plan, dir, jobs, threads);
        }));
        return cmd;
    }

    /// <summary>copy and charlm compare: plan, run locally, aggregate — one code path with the sweep commands.</summary>
    public static int PlanRunAggregate(SweepPlan plan, string dir, int jobs, int threads)
    {
        Console.WriteLine(plan.Description);
        plan.Save(dir);
        int code;
        using (var cancel = Interrupt.OnCtrlC()) code = LocalPool.Run(dir, jobs, threads, Console.Out, cancel.Token);
        int aggregated = PrintAggregate(dir);
        return code != 0 ? code : aggregated;
    }
}
