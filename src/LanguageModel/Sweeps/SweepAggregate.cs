using Tbptt.LanguageModel.Experiments;
using Tbptt.LanguageModel.Runs;

namespace Tbptt.LanguageModel.Sweeps;

/// <summary>An entry and where it stands, as <c>sweep status</c> reports it.</summary>
public sealed record EntryReport(SweepEntry Entry, EntryStatus Status);

/// <summary>Reads a sweep's entry folders: its status, and the table, summary and plots of whatever is done.</summary>
public static class SweepAggregate
{
    /// <summary>Every entry of the plan with its status, in plan order.</summary>
    public static IReadOnlyList<EntryReport> Status(string dir, SweepPlan plan) =>
        plan.Entries.Select(e => new EntryReport(e, EntryStatus.Read(SweepPlan.EntryDirectory(dir, e)))).ToArray();

    /// <summary>
    /// Writes <c>table.md</c>, <c>summary.json</c> and the plots from the done entries (mean and standard deviation
    /// over seeds, configurations in plan order) and returns the results and the entries that are missing.
    /// </summary>
    public static (IReadOnlyList<ConfigurationResult> Results, IReadOnlyList<EntryReport> Missing) Write(string dir, SweepPlan plan)
    {
        var status = Status(dir, plan);
        // A diverged run is a result (the table reports it); anything else not done is missing.
        static bool Finished(EntryReport s) => s.Status.State is EntryState.Done or EntryState.Diverged;
        var missing = status.Where(s => !Finished(s)).ToArray();
        var results = new List<ConfigurationResult>();
        foreach (string config in plan.Configurations)
        {
            var done = status.Where(s => s.Entry.Configuration == config && Finished(s))
                .Select(s => RunSummary.Load(Path.Combine(SweepPlan.EntryDirectory(dir, s.Entry), RunExecutor.SummaryFile))).ToArray();
            int planned = plan.Entries.Count(e => e.Configuration == config);
            bool adaptive = plan.Entries.First(e => e.Configuration == config).Run.Truncation.Adaptive;
            if (done.Length > 0) results.Add(new ConfigurationResult(config, adaptive, done, planned));
        }
        ComparisonReport.Write(dir, plan.Description, plan.Metric, results);
        return (results, missing);
    }
}
