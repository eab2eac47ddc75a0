using System.Globalization;
using System.Text;
using Tbptt.Checkpoints;
using Tbptt.LanguageModel.Runs;
using Tbptt.Reporting;

namespace Tbptt.LanguageModel.Experiments;

/// <summary>The runs of one configuration that are done, over the seeds.</summary>
/// <param name="Planned">How many seeds the sweep planned for it (the table says when some are missing).</param>
public sealed record ConfigurationResult(string Name, bool Adaptive, IReadOnlyList<RunSummary> Runs, int Planned);

/// <summary>The table, summary and plots of a fixed-against-adaptive comparison: mean and standard deviation over seeds.</summary>
internal static class ComparisonReport
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static void Write(string dir, string description, string metric, IReadOnlyList<ConfigurationResult> results)
    {
        AtomicFile.WriteAllText(Path.Combine(dir, "table.md"), Table(description, metric, results));
        JsonSummary.Write(Path.Combine(dir, "summary.json"), results.Select(r => new
        {
            config = r.Name,
            seeds = r.Runs.Count,
            plannedSeeds = r.Planned,
            // Mean and sd over the runs that did not diverge; diverged[i] says which seeds did.
            diverged = r.Runs.Select(s => s.Diverged).ToArray(),
            bestValid = Json(Stats(Finished(r).Select(s => Value(metric, s.BestValidLoss)))),
            testAtBest = Json(Stats(Finished(r).Select(s => Value(metric, s.TestLossAtBest)))),
            finalK = r.Runs.Select(s => s.FinalK).ToArray(),
            computeTokens = r.Runs.Select(s => s.ComputeTokens).ToArray(),
            probeComputeTokens = r.Runs.Select(s => s.ProbeComputeTokens).ToArray(),
        }).ToArray());
        Plots(dir, metric, results);
    }

    private static double Value(string metric, double loss) => RunMetrics.Value(metric, loss);

    // System.Text.Json skips a tuple's fields: name them as properties.
    private static object Json((double Mean, double Sd) stats) => new { mean = stats.Mean, sd = stats.Sd };

    /// <summary>The runs of a configuration that did not diverge: the statistics are over these.</summary>
    private static IEnumerable<RunSummary> Finished(ConfigurationResult r) => r.Runs.Where(s => !s.Diverged);

    private static (double Mean, double Sd) Stats(IEnumerable<double> values)
    {
        var v = values.ToArray();
        if (v.Length == 0) return (double.NaN, double.NaN);
        double mean = v.Average();
        double sd = v.Length > 1 ? Math.Sqrt(v.Sum(x => (x - mean) * (x - mean)) / (v.Length - 1)) : 0;
        return (mean, sd);
    }

    public static string Table(string description, string metric, IReadOnlyList<ConfigurationResult> results)
    {
        string unit = metric == "bits" ? "bits/char" : "PPL";
        var sb = new StringBuilder();
        if (description.Length > 0) sb.Append(description).Append("\n\n");
        sb.Append($"| config | valid {unit} (best) | test {unit} (at best valid) | final K | compute (M tokens) | probe share | seeds |\n");
        sb.Append("|---|---|---|---|---|---|---|\n");
        foreach (var r in results)
        {
            var valid = Stats(Finished(r).Select(s => Value(metric, s.BestValidLoss)));
            var test = Stats(Finished(r).Select(s => Value(metric, s.TestLossAtBest)));
            int diverged = r.Runs.Count(s => s.Diverged);
            string ks = string.Join(", ", r.Runs.Select(s => s.FinalK.ToString(Inv)));
            double compute = r.Runs.Average(s => s.ComputeTokens) / 1e6;
            double probe = r.Runs.Sum(s => (double)s.ProbeComputeTokens) / Math.Max(1, r.Runs.Sum(s => (double)s.ComputeTokens));
            bool stopped = r.Runs.Any(s => s.Interrupted);
            string note = (stopped ? " (stopped)" : "") + (diverged == 0 ? ""
                : diverged == r.Runs.Count ? " (diverged)" : string.Create(Inv, $" ({diverged} of {r.Runs.Count} diverged)"));
            string Cell((double Mean, double Sd) x) => double.IsNaN(x.Mean) ? "diverged" : string.Create(Inv, $"{x.Mean:F3} ({x.Sd:F3})");
            string divergedAt = string.Join(", ", r.Runs.Where(s => s.Diverged).Select(s => string.Create(Inv, $"update {s.Divergence!.Update}")));
            string seeds = (r.Runs.Count < r.Planned ? $"{r.Runs.Count} of {r.Planned}" : r.Runs.Count.ToString(Inv))
                + (diverged > 0 ? $" (diverged at {divergedAt})" : "");
            sb.Append(string.Create(Inv,
                $"| {r.Name}{note} | {Cell(valid)} | {Cell(test)} | {ks} | {compute:F1} | {probe:P1} | {seeds} |\n"));
        }
        return sb.ToString();
    }

    private static void Plots(string dir, string metric, IReadOnlyList<ConfigurationResult> results)
    {
        string unit = metric == "bits" ? "bits/char" : "perplexity";
        var byEpoch = new SvgLineChart { Title = $"Validation {unit} by epoch (mean over seeds)", XLabel = "epoch", YLabel = $"valid {unit}", LogY = metric != "bits" };
        var byCompute = new SvgLineChart { Title = $"Validation {unit} by compute (probes included)", XLabel = "compute (M tokens)", YLabel = $"valid {unit}", LogY = metric != "bits" };
        var kChart = new SvgLineChart { Title = "K over training (adaptive runs, first seed)", XLabel = "update", YLabel = "K", Markers = true };
        var phi = new SvgLineChart { Title = "Gradient-norm profile at the end of training (first seed)", XLabel = "lag k", YLabel = "φ̄_k / φ̄_0", LogY = true };
        var bias = new SvgLineChart { Title = "Estimated relative bias δ̂(K) at the end of training (first seed)", XLabel = "K", YLabel = "δ̂(K)", LogY = true };
        foreach (var r in results)
        {
            int n = Finished(r).Select(s => s.Evaluations.Count).DefaultIfEmpty(0).Min();
            if (n > 0)
            {
                double[] Mean(Func<EvaluationPoint, double> f) =>
                    Enumerable.Range(0, n).Select(i => Finished(r).Average(s => f(s.Evaluations[i]))).ToArray();
                var valid = Mean(e => Value(metric, e.ValidLoss));
                bool dashed = !r.Adaptive;
                byEpoch.Add(new Series(r.Name, Mean(e => e.Epoch), valid) { Dashed = dashed });
                byCompute.Add(new Series(r.Name, Mean(e => e.ComputeTokens / 1e6), valid) { Dashed = dashed });
            }
            if (Finished(r).FirstOrDefault() is not { } first) continue;
            if (first.KHistory.Count > 0)
                kChart.Add(new Series(r.Name, first.KHistory.Select(h => (double)h.Update).ToArray(), first.KHistory.Select(h => (double)h.K).ToArray()));
            if (first.FinalProfile is { } p)
            {
                var lp = p.LogPhiBar;
                phi.Add(new Series(r.Name, Enumerable.Range(0, lp.Count).Select(k => (double)k).ToArray(),
                    lp.Select(l => Positive(Math.Exp(l - lp[0]))).ToArray()) { Dashed = !r.Adaptive });
                bias.Add(new Series(r.Name, Enumerable.Range(1, p.RelativeBias.Count).Select(k => (double)k).ToArray(),
                    p.RelativeBias.Select(Positive).ToArray()) { Dashed = !r.Adaptive });
            }
        }
        byEpoch.Save(Path.Combine(dir, "valid-by-epoch.svg"));
        byCompute.Save(Path.Combine(dir, "valid-by-compute.svg"));
        kChart.Save(Path.Combine(dir, "k-over-training.svg"));
        phi.Save(Path.Combine(dir, "phi-profile.svg"));
        bias.Save(Path.Combine(dir, "relative-bias.svg"));
    }

    private static double Positive(double v) => RunMetrics.Positive(v);
}
