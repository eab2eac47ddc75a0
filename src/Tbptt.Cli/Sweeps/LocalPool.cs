using System.Diagnostics;
using System.Globalization;
using System.Text;
using Tbptt.LanguageModel.Sweeps;
using Tbptt.Numerics;
using Tbptt.Reporting;

namespace Tbptt.Cli.Sweeps;

/// <summary>
/// <c>tbptt sweep local</c>: every entry not yet finished, as up to N worker processes (<c>tbptt sweep run DIR
/// --index I</c>) with T BLAS threads each, and one progress line for the whole sweep. A failed entry does not stop
/// the others; Ctrl-C stops every worker cleanly (each keeps its checkpoint) and a rerun continues.
/// </summary>
public static class LocalPool
{
    /// <summary>
    /// Defaults from a measurement (README, "Sweeps"; <c>benchmarks/sweep-throughput.sh</c>, 2026-12-02): on 2 cores
    /// the copy task (LSTM 2 × 50, batch 64) ran 1.91× more tokens per second as 2 jobs × 1 thread than as 1 job ×
    /// 2 threads — its products are too small to split well — so every core gets its own run.
    /// </summary>
    public static int DefaultJobs => Math.Max(1, Environment.ProcessorCount);
    public const int DefaultThreads = 1;

    private sealed record Worker(int Index, Process Process, StreamWriter Log);

    /// <returns>The exit code: 0 when every entry it ran finished (done or diverged: both are results), 1 when some
    /// failed, 130 when stopped.</returns>
    public static int Run(string dir, int jobs, int threads, TextWriter output, CancellationToken cancel)
    {
        if (jobs < 1) throw new UserInputException($"--jobs: {jobs} must be at least 1.");
        if (threads < 1) throw new UserInputException($"--threads: {threads} must be at least 1.");
        var plan = SweepPlan.Load(dir);
        var start = SweepAggregate.Status(dir, plan);
        var queue = new Queue<int>(start.Where(s => s.Status.State is not (EntryState.Done or EntryState.Diverged or EntryState.Running)).Select(s => s.Entry.Index));
        int elsewhere = start.Count(s => s.Status.State == EntryState.Running);
        int alreadyDone = start.Count(s => s.Status.State is EntryState.Done or EntryState.Diverged);
        output.WriteLine($"sweep {dir}: {plan.Entries.Count} entries, {alreadyDone} done, {queue.Count} to run"
            + (elsewhere > 0 ? $", {elsewhere} running in another process (left alone)" : "")
            + $"; {jobs} job{(jobs == 1 ? "" : "s")} × {threads} thread{(threads == 1 ? "" : "s")}");
        int toRun = queue.Count;
        var running = new List<Worker>();
        var failed = new List<string>();
        int done = 0;
        var line = new SweepLine(output);
        bool stopping = false;
        while (queue.Count > 0 || running.Count > 0)
        {
            if (cancel.IsCancellationRequested && !stopping)
            {
                stopping = true;
                queue.Clear();
                foreach (var w in running) Signals.Terminate(w.Process); // each checkpoints and exits
            }
            while (!stopping && running.Count < jobs && queue.Count > 0) running.Add(Start(dir, plan, queue.Dequeue(), threads));
            Thread.Sleep(200);
            foreach (var w in running.Where(w => w.Process.HasExited).ToArray())
            {
                w.Process.WaitForExit(); // drains the output handlers
                w.Log.Dispose();
                running.Remove(w);
                var entry = plan.Entries[w.Index];
                var status = EntryStatus.Read(SweepPlan.EntryDirectory(dir, entry));
                if (w.Process.ExitCode == Commands.SweepCommand.Busy) line.Message($"entry {w.Index} ({entry.Name}) is being run by another process; left alone");
                else if (status.State == EntryState.Done) done++;
                else if (status.State == EntryState.Diverged)
                {
                    // A result, not a failure: the table reports it; the other runs go on.
                    done++;
                    line.Message($"entry {w.Index} ({entry.Name}) diverged: {status.Message}");
                }
                else if (!stopping || status.State == EntryState.Failed)
                {
                    string why = status.Message ?? $"worker exited with code {w.Process.ExitCode}; see {Path.Combine(entry.Directory, "worker.log")}";
                    failed.Add($"{entry.Name}: {status.State.ToString().ToLowerInvariant()}: {why}");
                    line.Message($"entry {w.Index} ({entry.Name}) {status.State.ToString().ToLowerInvariant()}: {why}");
                }
                w.Process.Dispose();
            }
            double partial = running.Sum(w => EntryStatus.Read(SweepPlan.EntryDirectory(dir, plan.Entries[w.Index])).Fraction);
            line.Draw(toRun, done, running.Count, failed.Count, partial, final: false);
        }
        line.Draw(toRun, done, running.Count, failed.Count, 0, final: true);
        if (stopping)
        {
            output.WriteLine("sweep stopped; every entry keeps its checkpoint — run the same command again to continue.");
            return CliErrors.Interrupted;
        }
        foreach (var f in failed) output.WriteLine($"failed: {f}");
        return failed.Count == 0 ? 0 : 1;
    }

    private static Worker Start(string dir, SweepPlan plan, int index, int threads)
    {
        var entry = plan.Entries[index];
        string entryDir = SweepPlan.EntryDirectory(dir, entry);
        Directory.CreateDirectory(entryDir);
        var log = new StreamWriter(Path.Combine(entryDir, "worker.log"), append: true, new UTF8Encoding(false)) { AutoFlush = true };
        var psi = SelfCommand.StartInfo(["sweep", "run", dir, "--index", index.ToString(CultureInfo.InvariantCulture)]);
        psi.RedirectStandardOutput = true;
        psi.RedirectStandardError = true;
        string t = threads.ToString(CultureInfo.InvariantCulture);
        psi.Environment["TBPTT_THREADS"] = t;
        psi.Environment["OPENBLAS_NUM_THREADS"] = t;
        psi.Environment["OMP_NUM_THREADS"] = t;
        // Every worker computes with the backend this process chose: backends round differently, and a sweep's
        // runs (and a run and its resume) must be comparable number for number.
        psi.Environment[Blas.EnvironmentVariable] = Environment.GetEnvironmentVariable(Blas.EnvironmentVariable) ?? Blas.Active.Name;
        var p = new Process { StartInfo = psi };
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.WriteLine(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.WriteLine(e.Data); };
        p.Start();
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return new Worker(index, p, log);
    }

    /// <summary>One line for the whole sweep: runs done, running and failed, the rate in runs per hour, the ETA.</summary>
    private sealed class SweepLine(TextWriter output)
    {
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private readonly bool _interactive = ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected;
        private TimeSpan _last = TimeSpan.FromDays(-1); // draw at once the first time
        private int _length;

        public void Message(string text)
        {
            if (_interactive && _length > 0) output.Write('\r' + new string(' ', _length) + '\r');
            _length = 0;
            output.WriteLine(text);
        }

        public void Draw(int total, int done, int running, int failed, double partial, bool final)
        {
            var now = _clock.Elapsed;
            if (!final && now - _last < (_interactive ? TimeSpan.FromMilliseconds(500) : TimeSpan.FromSeconds(30))) return;
            _last = now;
            double progress = total == 0 ? 1 : Math.Clamp((done + failed + partial) / total, 0, 1);
            double hours = now.TotalHours;
            string rate = hours > 0 ? ((done + failed + partial) / hours).ToString("0.#", CultureInfo.InvariantCulture) + " runs/h" : "-";
            double etaSeconds = progress > 0 ? now.TotalSeconds * (1 - progress) / progress : double.PositiveInfinity;
            string eta = etaSeconds < 3.6e8 ? ProgressReporter.FormatDuration(TimeSpan.FromSeconds(etaSeconds)) : "-:--:--"; // beyond that: not moving
            string text = string.Create(CultureInfo.InvariantCulture,
                $"sweep {progress * 100,5:0.0}%  {done}/{total} done  {running} running  {failed} failed  {rate}  {(final ? "elapsed " + ProgressReporter.FormatDuration(now) : "ETA " + eta)}");
            if (_interactive)
            {
                output.Write('\r' + text + new string(' ', Math.Max(0, _length - text.Length)));
                _length = text.Length;
                if (final) { output.WriteLine(); _length = 0; }
            }
            else output.WriteLine(text);
            output.Flush();
        }
    }
}
