using System.Globalization;
using System.Text;
using Tbptt.Checkpoints;
using Tbptt.Reporting;

namespace Tbptt.LanguageModel.Experiments;

/// <summary>The table and plots of a comparison, rewritten after every configuration so a stopped run keeps them.</summary>
internal static class ComparisonReport
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static void Write(ComparisonOptions o, IReadOnlyList<ConfigurationResult> results)
    {
        string table = Table(o, results);
        AtomicFile.WriteAllText(Path.Combine(o.OutputDirectory, "table.md"), table);
        JsonSummary.Write(Path.Combine(o.OutputDirectory, "summary.json"), results.Select(r => new
        {
            config = r.Spec.Name,
            seeds = r.Runs.Count,
            bestValid = Json(Stats(r.Runs.Select(s => Value(o, s.BestValidLoss)))),
            testAtBest = Json(Stats(r.Runs.Select(s => Value(o, s.TestLossAtBest)))),
            finalK = r.Runs.Select(s => s.FinalK).ToArray(),
            computeTokens = r.Runs.Select(s => s.ComputeTokens).ToArray(),
            probeComputeTokens = r.Runs.Select(s => s.ProbeComputeTokens).ToArray(),
        }).ToArray());
        Plots(o, results);
    }

    /// <summary>The reported value of a mean cross-entropy: perplexity or bits per token.</summary>
    public static double Value(ComparisonOptions o, double loss) => o.Metric == "bits" ? loss / Math.Log(2) : Math.Exp(loss);

    // System.Text.Json skips a tuple's fields: name them as properties.
    private static object Json((double Mean, double Sd) stats) => new { mean = stats.Mean, sd = stats.Sd };

    private static (double Mean, double Sd) Stats(IEnumerable<double> values)
    {
        var v = values.ToArray();
        double mean = v.Average();
        double sd = v.Length > 1 ? Math.Sqrt(v.Sum(x => (x - mean) * (x - mean)) / (v.Length - 1)) : 0;
        return (mean, sd);
    }

    public static string Table(ComparisonOptions o, IReadOnlyList<ConfigurationResult> results)
    {
        string unit = o.Metric == "bits" ? "bits/char" : "PPL";
        var sb = new StringBuilder();
        if (o.Description.Length > 0) sb.Append(o.Description).Append("\n\n");
        sb.Append($"| config | valid {unit} (best) | test {unit} (at best valid) | final K | compute (M tokens) | probe share | seeds |\n");
        sb.Append("|---|---|---|---|---|---|---|\n");
        foreach (var r in results)
        {
            var valid = Stats(r.Runs.Select(s => Value(o, s.BestValidLoss)));
            var test = Stats(r.Runs.Select(s => Value(o, s.TestLossAtBest)));
            string ks = string.Join(", ", r.Runs.Select(s => s.FinalK.ToString(Inv)));
            double compute = r.Runs.Average(s => s.ComputeTokens) / 1e6;
            double probe = r.Runs.Sum(s => (double)s.ProbeComputeTokens) / Math.Max(1, r.Runs.Sum(s => (double)s.ComputeTokens));
            bool stopped = r.Runs.Any(s => s.Interrupted);
            sb.Append(string.Create(Inv,
                $"| {r.Spec.Name}{(stopped ? " (stopped)" : "")} | {valid.Mean:F3} ({valid.Sd:F3}) | {test.Mean:F3} ({test.Sd:F3}) | {ks} | {compute:F1} | {probe:P1} | {r.Runs.Count} |\n"));
        }
        return sb.ToString();
    }

    private static void Plots(ComparisonOptions o, IReadOnlyList<ConfigurationResult> results)
    {
        string unit = o.Metric == "bits" ? "bits/char" : "perplexity";
        var byEpoch = new SvgLineChart { Title = $"Validation {unit} by epoch (mean over seeds)", XLabel = "epoch", YLabel = $"valid {unit}", LogY = o.Metric != "bits" };
        var byCompute = new SvgLineChart { Title = $"Validation {unit} by compute (probes included)", XLabel = "compute (M tokens)", YLabel = $"valid {unit}", LogY = o.Metric != "bits" };
        var kChart = new SvgLineChart { Title = "K over training (adaptive runs, first seed)", XLabel = "update", YLabel = "K", Markers = true };
        var phi = new SvgLineChart { Title = "Gradient-norm profile at the end of training (first seed)", XLabel = "lag k", YLabel = "φ̄_k / φ̄_0", LogY = true };
        var bias = new SvgLineChart { Title = "Estimated relative bias δ̂(K) at the end of training (first seed)", XLabel = "K", YLabel = "δ̂(K)", LogY = true };
        foreach (var r in results)
        {
            int n = r.Runs.Min(s => s.Evaluations.Count);
            if (n > 0)
            {
                double[] Mean(Func<Training.EvaluationRecord, double> f) =>
                    Enumerable.Range(0, n).Select(i => r.Runs.Average(s => f(s.Evaluations[i]))).ToArray();
                var valid = Mean(e => Value(o, e.ValidLoss));
                bool dashed = r.Spec.Delta is null;
                byEpoch.Add(new Series(r.Spec.Name, Mean(e => e.Epoch), valid) { Dashed = dashed });
                byCompute.Add(new Series(r.Spec.Name, Mean(e => e.ComputeTokens / 1e6), valid) { Dashed = dashed });
            }
            if (r.KHistories.Count > 0 && r.KHistories[0].Count > 0)
                kChart.Add(new Series(r.Spec.Name, r.KHistories[0].Select(h => (double)h.Update).ToArray(), r.KHistories[0].Select(h => (double)h.K).ToArray()));
            if (r.FinalProfiles.Count > 0 && r.FinalProfiles[0] is { } p)
            {
                var lp = p.LogPhiBar;
                phi.Add(new Series(r.Spec.Name, Enumerable.Range(0, lp.Count).Select(k => (double)k).ToArray(),
                    lp.Select(l => Positive(Math.Exp(l - lp[0]))).ToArray()) { Dashed = r.Spec.Delta is null });
                bias.Add(new Series(r.Spec.Name, Enumerable.Range(1, p.RelativeBias.Count).Select(k => (double)k).ToArray(),
                    p.RelativeBias.Select(Positive).ToArray()) { Dashed = r.Spec.Delta is null });
            }
        }
        string dir = o.OutputDirectory;
        byEpoch.Save(Path.Combine(dir, "valid-by-epoch.svg"));
        byCompute.Save(Path.Combine(dir, "valid-by-compute.svg"));
        kChart.Save(Path.Combine(dir, "k-over-training.svg"));
        phi.Save(Path.Combine(dir, "phi-profile.svg"));
        bias.Save(Path.Combine(dir, "relative-bias.svg"));
    }

    private static double Positive(double v) => v > 0 && double.IsFinite(v) ? v : double.NaN;
}
