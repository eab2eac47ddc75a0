using System.Globalization;
using Tbptt.Reporting;
using Tbptt.Training;

namespace Tbptt.LanguageModel.Runs;

/// <summary>The metrics file layout of a run, how its losses are shown, and its plots: said once, used by every run.</summary>
internal static class RunMetrics
{
    public static string[] Columns(IReadOnlyList<double> tracked) =>
    [
        "updates", "epoch", "tokens", "compute_tokens", "probe_compute_tokens", "wall_seconds", "train_loss",
        "valid_loss", "valid_ppl", "valid_bits", "k", "log_beta", "delta_hat_at_k",
        .. tracked.Select(d => $"kappa_delta_{d.ToString(CultureInfo.InvariantCulture)}"), "grad_norm", "skipped_updates", "lr", "eval_seconds",
        "eval_share", "probe_seconds",
    ];

    /// <summary>The columns measured by the clock (cumulative seconds and the evaluation's share of the wall time): the
    /// only ones two runs of the same options may differ in.</summary>
    public static readonly string[] WallClockColumns = ["wall_seconds", "eval_seconds", "eval_share", "probe_seconds"];

    public static object?[] Row(EvaluationRecord r, IReadOnlyList<double> tracked)
    {
        var kappa = tracked.Select(d => (object?)(r.KByDelta.FirstOrDefault(x => x.Delta == d) is var x && x.K > 0 ? x.K : null));
        return
        [
            r.Updates, r.Epoch, r.TokensSeen, r.ComputeTokens, r.ProbeComputeTokens, r.WallSeconds, r.TrainLoss,
            r.ValidLoss, r.ValidPerplexity, r.ValidBitsPerToken, r.K,
            r.LogBeta, r.RelativeBiasAtK, .. kappa, r.GradientNorm, r.SkippedUpdates, r.LearningRate, r.EvalSeconds,
            r.EvalShare, r.ProbeSeconds,
        ];
    }

    /// <summary>The reported value of a mean cross-entropy: perplexity ("ppl") or bits per token ("bits").</summary>
    public static double Value(string metric, double loss) => metric == "bits" ? loss / Math.Log(2) : Math.Exp(loss);

    public static string Format(string metric, double loss) => Value(metric, loss).ToString("F3", CultureInfo.InvariantCulture);

    public static string Unit(string metric) => metric == "bits" ? "bits/char" : "ppl";

    /// <summary>Loss and K over training; the φ profile and δ̂(K) at the end when they were measured.</summary>
    public static void Plots(string dir, string metric, RunSummary s)
    {
        var ev = s.Evaluations;
        var x = ev.Select(e => (double)e.Updates).ToArray();
        string unit = Unit(metric);
        new SvgLineChart { Title = $"Loss ({unit})", XLabel = "update", YLabel = unit, LogY = metric != "bits" }
            .Add(new Series("train", x, ev.Select(e => Value(metric, e.TrainLoss)).ToArray()))
            .Add(new Series("valid", x, ev.Select(e => Value(metric, e.ValidLoss)).ToArray()))
            .Save(Path.Combine(dir, "loss.svg"));
        new SvgLineChart { Title = "Truncation length K", XLabel = "update", YLabel = "K", Markers = true }
            .Add(new Series("K", x, ev.Select(e => (double)e.K).ToArray()))
            .Save(Path.Combine(dir, "k.svg"));
        if (s.FinalProfile is { } p)
        {
            new SvgLineChart { Title = "Gradient-norm profile at the end of training", XLabel = "lag k", YLabel = "φ̄_k / φ̄_0", LogY = true }
                .Add(new Series("φ̄", Enumerable.Range(0, p.LogPhiBar.Count).Select(k => (double)k).ToArray(),
                    p.LogPhiBar.Select(l => Positive(Math.Exp(l - p.LogPhiBar[0]))).ToArray()))
                .Save(Path.Combine(dir, "phi-profile.svg"));
            new SvgLineChart { Title = "Estimated relative bias δ̂(K)", XLabel = "K", YLabel = "δ̂(K)", LogY = true }
                .Add(new Series("δ̂", Enumerable.Range(1, p.RelativeBias.Count).Select(k => (double)k).ToArray(),
                    p.RelativeBias.Select(Positive).ToArray()))
                .Save(Path.Combine(dir, "relative-bias.svg"));
        }
    }

    /// <summary>A value a log-scale chart can draw, else NaN (a gap).</summary>
    public static double Positive(double v) => v > 0 && double.IsFinite(v) ? v : double.NaN;
}
