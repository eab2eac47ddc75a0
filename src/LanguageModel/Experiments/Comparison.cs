using System.Globalization;
using Tbptt.Checkpoints;
using Tbptt.Models;
using Tbptt.Probes;
using Tbptt.Reporting;
using Tbptt.Training;
using Tbptt.Truncation;

namespace Tbptt.LanguageModel.Experiments;

/// <summary>One configuration of a comparison: fixed TBPTT(K, ·) or adaptive with tolerance δ.</summary>
internal sealed record RunSpec(string Name, int? FixedK, double? Delta)
{
    public static RunSpec Fixed(int k) => new($"K={k}", k, null);
    public static RunSpec Adaptive(double delta) => new($"δ={delta.ToString(CultureInfo.InvariantCulture)}", null, delta);
    public string FileStem => FixedK is { } k ? $"fixed-k{k}" : $"adaptive-d{Delta!.Value.ToString(CultureInfo.InvariantCulture)}";
}

/// <summary>Everything a fixed-against-adaptive comparison needs (the copy experiment and charlm compare).</summary>
internal sealed record ComparisonOptions
{
    public required ModelConfig Model { get; init; }
    /// <summary>How each seed's initial weights are drawn (shared by every configuration of that seed).</summary>
    public InitScheme Init { get; init; } = InitScheme.PyTorch;
    public required TrainerOptions Trainer { get; init; }
    /// <summary>Template of the adaptive runs; each run's δ replaces <see cref="AdaptiveOptions.Delta"/>.</summary>
    public required AdaptiveOptions Adaptive { get; init; }
    public required ProbeOptions Probe { get; init; }
    public required IReadOnlyList<RunSpec> Runs { get; init; }
    public required IReadOnlyList<int> Seeds { get; init; }
    public required string OutputDirectory { get; init; }
    /// <summary>Fixed runs use TBPTT(K, 2K − 1) when true (the paper's), TBPTT(K, K) otherwise.</summary>
    public bool FixedPaperWindows { get; init; } = true;
    /// <summary>"ppl" (perplexity, the copy task) or "bits" (bits per token, the character model).</summary>
    public string Metric { get; init; } = "ppl";
    /// <summary>A line describing the set-up, printed and written at the top of the table.</summary>
    public string Description { get; init; } = "";
}

/// <summary>The runs of one configuration over the seeds.</summary>
internal sealed record ConfigurationResult(RunSpec Spec, IReadOnlyList<TrainingSummary> Runs, IReadOnlyList<IReadOnlyList<KEstimate>> KHistories,
    IReadOnlyList<Tbptt.BiasEstimation.BiasEstimate?> FinalProfiles);

/// <summary>
/// Runs every configuration for every seed from the same initial weights per seed, then writes per-run metrics
/// (CSV), summaries (JSON), a Markdown table (mean and standard deviation over seeds) and SVG plots.
/// Stops cleanly on cancellation, keeping everything written so far.
/// </summary>
internal static class Comparison
{
    public static IReadOnlyList<ConfigurationResult> Run(ComparisonOptions o,
        Func<int, (TokenStream Train, TokenStream Valid, TokenStream Test)> data, TextWriter log, CancellationToken cancel)
    {
        Directory.CreateDirectory(Path.Combine(o.OutputDirectory, "runs"));
        if (o.Description.Length > 0) log.WriteLine(o.Description);
        var results = new List<ConfigurationResult>();
        foreach (var spec in o.Runs)
        {
            var summaries = new List<TrainingSummary>();
            var histories = new List<IReadOnlyList<KEstimate>>();
            var profiles = new List<Tbptt.BiasEstimation.BiasEstimate?>();
            foreach (int seed in o.Seeds)
            {
                if (cancel.IsCancellationRequested) break;
                var (train, valid, test) = data(seed);
                var run = RunOne(o, spec, seed, train, valid, test, log, cancel);
                summaries.Add(run.Summary);
                histories.Add(run.History);
                profiles.Add(run.Final);
            }
            if (summaries.Count > 0) results.Add(new ConfigurationResult(spec, summaries, histories, profiles));
            ComparisonReport.Write(o, results); // after every configuration: an interrupted comparison keeps its table
        }
        return results;
    }

    private sealed record OneRun(TrainingSummary Summary, IReadOnlyList<KEstimate> History, Tbptt.BiasEstimation.BiasEstimate? Final);

    private static OneRun RunOne(ComparisonOptions o, RunSpec spec, int seed, TokenStream train, TokenStream valid, TokenStream test,
        TextWriter log, CancellationToken cancel)
    {
        var model = SequenceModel<float>.Create(o.Model, seed, o.Init); // the same initial weights for every configuration
        var trainer = new Trainer(model, o.Trainer with { Seed = seed }, train, valid, test);
        AdaptiveTruncation? adaptive = null;
        var tracked = o.Runs.Where(r => r.Delta is not null).Select(r => r.Delta!.Value).Distinct().ToArray();
        if (spec.Delta is { } delta)
            trainer.Policy = adaptive = new AdaptiveTruncation(o.Adaptive with { Delta = delta }, trainer.CreateProbe(o.Probe), tracked);
        else
            trainer.Policy = new FixedTruncation(spec.FixedK!.Value, o.FixedPaperWindows ? 2 * spec.FixedK.Value - 1 : spec.FixedK.Value,
                o.Adaptive.ScaleBySqrtK);

        string stem = Path.Combine(o.OutputDirectory, "runs", $"{spec.FileStem}-seed{seed}");
        using var csv = new CsvMetricsWriter(stem + ".csv", Columns(tracked));
        long total = o.Trainer.ComputeBudget ?? (long)train.Steps * train.Batch * o.Trainer.Epochs;
        using var progress = new ProgressReporter(total, "tok", $"{spec.Name} seed {seed}", log);
        trainer.Evaluated += r => csv.WriteRow(Row(r, tracked));
        trainer.Progress += (fraction, loss) => progress.Report((long)(fraction * total), (loss, trainer), s =>
            string.Create(CultureInfo.InvariantCulture, $"loss {s.loss:F3} K {s.trainer.Policy.K}"));
        var summary = trainer.Run(cancel);
        string Show(double loss) => o.Metric == "bits" ? (loss / Math.Log(2)).ToString("F3", CultureInfo.InvariantCulture) : Math.Exp(loss).ToString("F3", CultureInfo.InvariantCulture);
        progress.Complete(string.Create(CultureInfo.InvariantCulture,
            $"best valid {Show(summary.BestValidLoss)} test {Show(summary.TestLossAtBest)} K {summary.FinalK}{(summary.Interrupted ? " (stopped)" : "")}"));

        // The φ profile and δ̂(K) at the end of training, for every run (not counted as training compute).
        Tbptt.BiasEstimation.BiasEstimate? final = null;
        if (!cancel.IsCancellationRequested)
        {
            var profile = trainer.CreateProbe(o.Probe)();
            var est = o.Adaptive.Estimator with { KMin = 1, KMax = profile.Window };
            final = Tbptt.BiasEstimation.BiasEstimator.Estimate(profile, est, tracked.Length > 0 ? tracked : [0.1]);
        }
        JsonSummary.Write(stem + ".json", new
        {
            config = spec.Name, seed, summary.Updates, summary.Epochs, summary.ComputeTokens, summary.ProbeComputeTokens,
            summary.WallSeconds, summary.BestValidLoss, summary.TestLossAtBest, summary.UpdatesAtBest, summary.FinalK, summary.Interrupted,
            bestValidPerplexity = summary.BestValidPerplexity, testPerplexityAtBest = summary.TestPerplexityAtBest,
            bestValidBits = summary.BestValidBitsPerToken, testBitsAtBest = summary.TestBitsPerTokenAtBest,
            kHistory = adaptive?.History.Select(h => new { h.Update, h.K, h.LogBeta, h.RelativeBiasAtK, probeKs = h.ProbeKs }).ToArray(),
            finalProfile = final is null ? null : new { final.LogBeta, final.Tau, logPhiBar = final.LogPhiBar, relativeBias = final.RelativeBias },
        });
        return new OneRun(summary, adaptive?.History ?? [], final);
    }

    private static string[] Columns(double[] tracked) =>
    [
        "updates", "epoch", "tokens", "compute_tokens", "probe_compute_tokens", "wall_seconds", "train_loss",
        "valid_loss", "valid_ppl", "valid_bits", "test_loss", "test_ppl", "test_bits", "k", "log_beta", "delta_hat_at_k",
        .. tracked.Select(d => $"kappa_delta_{d.ToString(CultureInfo.InvariantCulture)}"), "grad_norm",
    ];

    private static object?[] Row(EvaluationRecord r, double[] tracked)
    {
        var kappa = tracked.Select(d => (object?)(r.KByDelta.FirstOrDefault(x => x.Delta == d) is var x && x.K > 0 ? x.K : null));
        return
        [
            r.Updates, r.Epoch, r.TokensSeen, r.ComputeTokens, r.ProbeComputeTokens, r.WallSeconds, r.TrainLoss,
            r.ValidLoss, r.ValidPerplexity, r.ValidBitsPerToken, r.TestLoss, r.TestPerplexity, r.TestBitsPerToken, r.K,
            r.LogBeta, r.RelativeBiasAtK, .. kappa, r.GradientNorm,
        ];
    }
}
