using System.Globalization;
using System.Text;
using Tbptt.BiasEstimation;
using Tbptt.Checkpoints;
using Tbptt.LanguageModel.Runs;
using Tbptt.Models;
using Tbptt.Probes;
using Tbptt.Reporting;

namespace Tbptt.LanguageModel.Experiments;

/// <summary>
/// δ̂(K) beside the truth at one K (issue 14 §3). All relative to the gradient of the W-step window (the state before
/// it is a constant), which is what the probe sees: the measured biases are 0 at K = W, where δ̂ still counts the
/// extrapolated tail beyond the window.
/// </summary>
/// <param name="DeltaHat">The estimate δ̂(K) = Ê(K)/Ĝ from the probe's φ with the given estimator (∞ when no decay was detected).</param>
/// <param name="DeltaHatExact">δ̂(K) with the exact cumulative norm C_K = ‖Σ_{k&lt;K} ḡ_k‖ (the copy runs' choice).</param>
/// <param name="DeltaHatApprox">δ̂(K) with the approximation C_K = Σ_{k&lt;K} φ̄_k (the character runs' choice): a larger Ĝ, a smaller δ̂.</param>
/// <param name="StateBias">The state-gradient bias δ̂ bounds: ‖Σ_{k≥K} ḡ_k‖ / ‖Σ_{k&lt;W} ḡ_k‖ of the mean state gradients.</param>
/// <param name="MeanGradientBias">The parameter-gradient bias of the samples' mean gradient (a mini-batch's).</param>
/// <param name="SampleMean">Mean over samples of each sample's own parameter-gradient bias ‖ĝ_K − ĝ_W‖/‖ĝ_W‖.</param>
/// <param name="SampleStd">Their standard deviation.</param>
/// <param name="Q10">Their 10 % quantile.</param>
/// <param name="Median">Their median.</param>
/// <param name="Q90">Their 90 % quantile.</param>
public sealed record BiasRow(int K, double DeltaHat, double DeltaHatExact, double DeltaHatApprox, double StateBias, double MeanGradientBias,
    double SampleMean, double SampleStd, double Q10, double Median, double Q90);

/// <summary>One probe of one model: its decay estimate, the K the estimator would choose, and the rows of its grid.</summary>
/// <param name="Updates">Updates of training behind the model (a snapshot's; −1 when unknown).</param>
/// <param name="Epoch">Epochs behind it (NaN when unknown).</param>
/// <param name="ValidLoss">Its validation loss in nats per token, from the run's evaluations (NaN when none was recorded).</param>
/// <param name="Cumulative">The C_K of the estimate behind <see cref="BiasRow.DeltaHat"/> and κ̂.</param>
/// <param name="KByDelta">κ̂(δ) of the estimate for each tracked δ; every such K is a row too.</param>
public sealed record BiasMeasurement(long Updates, double Epoch, double ValidLoss, int Window, int Samples, CumulativeNorm Cumulative, double LogBeta, int Tau,
    IReadOnlyList<(double Delta, int K)> KByDelta, IReadOnlyList<double> LogPhiBar, IReadOnlyList<BiasRow> Rows, IReadOnlyList<string> Messages)
{
    /// <summary>The row of <paramref name="k"/> (every κ̂ and grid value has one).</summary>
    public BiasRow At(int k) => Rows.First(r => r.K == k);
}

/// <summary>
/// The estimate against the truth: at a model's current parameters, the probe's φ gives δ̂(K) (docs §5), and
/// <see cref="TruncationBias{T}"/> measures the relative bias of the truncated parameter gradient at the same samples,
/// per sample and for their mean. <see cref="Study"/> does this for every snapshot of a run
/// (<see cref="RunSnapshots"/>) and <see cref="Write"/> writes the table, CSV, JSON and plots.
/// </summary>
public static class BiasStudy
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>
    /// Random sample offsets as the trainer's probes draw them: a column, then a start within it that leaves
    /// burn-in + W steps (offset = column·steps + step).
    /// </summary>
    public static int[] Offsets(ProbeOptions probe, int columns, int steps, Random rng)
    {
        int span = probe.EffectiveBurnIn + probe.Window;
        if (steps < span) throw new ArgumentException($"a probe needs burn-in + W = {span} steps in one column; the stream has {steps} per column.");
        var offsets = new int[probe.Samples];
        for (int i = 0; i < offsets.Length; i++) offsets[i] = rng.Next(columns) * steps + rng.Next(steps - span + 1);
        return offsets;
    }

    /// <summary>
    /// Probes <paramref name="model"/> at <paramref name="offsets"/> of a step-major stream and measures the bias at every
    /// K of <paramref name="grid"/> (values above W dropped; W always included) and at κ̂(δ) for each of
    /// <paramref name="deltas"/>. The estimator runs with <paramref name="estimator"/>, K clamped to [1, W] only.
    /// </summary>
    public static BiasMeasurement Measure(SequenceModel<float> model, ProbeOptions probe, BiasEstimatorOptions estimator,
        IReadOnlyList<int> grid, IReadOnlyList<double> deltas, ReadOnlySpan<int> inputs, ReadOnlySpan<int> targets, int columns, int[] offsets,
        long updates = -1, double epoch = double.NaN, double validLoss = double.NaN)
    {
        int w = probe.Window;
        var options = probe with { Samples = offsets.Length, BiasGrid = [] };
        var result = new GradientProbe<float>(model, options).Run(inputs, targets, columns, offsets);
        var profile = new GradientNormProfile(result.Phi, result.MeanGradient);
        var e = BiasEstimator.Estimate(profile, estimator with { KMin = 1, KMax = w }, [.. deltas]);
        var exact = BiasEstimator.Estimate(profile, estimator with { KMin = 1, KMax = w, Cumulative = CumulativeNorm.Exact }, []);
        var approx = BiasEstimator.Estimate(profile, estimator with { KMin = 1, KMax = w, Cumulative = CumulativeNorm.Approximate }, []);
        int[] ks = [.. grid.Where(k => k >= 1 && k <= w).Concat(e.KByDelta.Select(x => x.K)).Append(w).Distinct().Order()];
        var measured = new TruncationBias<float>(model, options with { BiasGrid = ks }).Measure(inputs, targets, columns, offsets);
        var state = StateBias(result.MeanGradient);
        var rows = measured.Select(m => new BiasRow(m.K, e.RelativeBias[m.K - 1], exact.RelativeBias[m.K - 1], approx.RelativeBias[m.K - 1], state[m.K], m.MeanGradientBias,
            m.Mean, m.Std, m.Quantile(0.1), m.Quantile(0.5), m.Quantile(0.9))).ToArray();
        return new BiasMeasurement(updates, epoch, validLoss, w, offsets.Length, estimator.Cumulative, e.LogBeta, e.Tau, e.KByDelta, e.LogPhiBar.ToArray(), rows, e.Messages);
    }

    /// <summary>‖Σ_{k≥K} ḡ_k‖ / ‖Σ_{k&lt;W} ḡ_k‖ for K = 0..W (index K): the state-gradient bias of truncating at K.</summary>
    public static double[] StateBias(IReadOnlyList<double[]> meanGradient)
    {
        int w = meanGradient.Count, n = meanGradient[0].Length;
        var tail = new double[n];
        var norms = new double[w + 1];
        for (int k = w - 1; k >= 0; k--)
        {
            double sq = 0;
            for (int j = 0; j < n; j++) { tail[j] += meanGradient[k][j]; sq += tail[j] * tail[j]; }
            norms[k] = Math.Sqrt(sq);
        }
        return [.. norms.Select(v => norms[0] > 0 ? v / norms[0] : double.PositiveInfinity)];
    }

    /// <summary>
    /// Every snapshot of the run in <paramref name="runDir"/>, probed on its training stream at the same offsets
    /// (seeded by <paramref name="seed"/>) with the run's probe settings (or <paramref name="probe"/>) and estimator,
    /// at the K of <paramref name="grid"/> and κ̂ of <paramref name="deltas"/> (default: the δ values the run tracks). Progress goes to <paramref name="log"/>.
    /// </summary>
    public static IReadOnlyList<BiasMeasurement> Study(string runDir, IReadOnlyList<int> grid, ProbeOptions? probe, int seed, TextWriter log,
        IReadOnlyList<long>? only = null, IReadOnlyList<double>? deltas = null)
    {
        var o = RunOptions.Load(Path.Combine(runDir, RunExecutor.OptionsFile));
        var snapshots = RunSnapshots.List(runDir).Where(s => only is null || only.Contains(s.Updates)).ToArray();
        if (snapshots.Length == 0)
            throw new FileNotFoundException($"{Path.Combine(runDir, RunSnapshots.Folder)}: no snapshots{(only is null ? "" : " of the updates asked for")} (train with --snapshots N).");
        var first = Safetensors.Read(snapshots[0].Path);
        var data = RunData.Build(o, first.Metadata.GetValueOrDefault("vocab"));
        var p = probe ?? o.Probe;
        var offsets = Offsets(p, data.Train.Batch, data.Train.Steps, new Random(seed));
        var evaluations = ReadEvaluations(runDir);
        deltas ??= o.TrackedDeltas.Count > 0 ? o.TrackedDeltas : [o.Adaptive.Delta];
        var list = new List<BiasMeasurement>();
        foreach (var (updates, path) in snapshots)
        {
            var file = Safetensors.Read(path);
            var model = ModelCheckpoint.Load(file);
            double epoch = double.TryParse(file.Metadata.GetValueOrDefault(RunSnapshots.EpochKey), NumberStyles.Float, Inv, out double ep) ? ep : double.NaN;
            double valid = evaluations.TryGetValue(updates, out double v) ? v : double.NaN;
            var started = System.Diagnostics.Stopwatch.StartNew();
            var m = Measure(model, p, o.Adaptive.Estimator, grid, deltas, data.Train.Inputs, data.Train.Targets, data.Train.Batch, offsets, updates, epoch, valid);
            list.Add(m);
            log.WriteLine(string.Create(Inv, $"update {updates} (epoch {epoch:F2}): β̂ {Math.Exp(m.LogBeta):F4}, κ̂ {string.Join(", ", m.KByDelta.Select(x => $"{x.Delta}→{x.K}"))}; {started.Elapsed.TotalSeconds:F0} s"));
        }
        return list;
    }

    /// <summary>Validation loss by updates from the run's summary.json (empty when there is none yet).</summary>
    private static Dictionary<long, double> ReadEvaluations(string runDir)
    {
        string path = Path.Combine(runDir, RunExecutor.SummaryFile);
        if (!File.Exists(path)) return [];
        var s = RunSummary.Load(path);
        return s.Evaluations.GroupBy(e => e.Updates).ToDictionary(g => g.Key, g => g.Last().ValidLoss);
    }

    /// <summary>The CSV columns, one row per (measurement, K).</summary>
    public static readonly string[] Columns =
    [
        "updates", "epoch", "valid_loss", "log_beta", "window", "samples", "k", "delta_hat", "delta_hat_exact_ck", "delta_hat_approx_ck", "state_bias",
        "measured_mean_gradient", "measured_sample_mean", "measured_sample_std", "measured_sample_q10", "measured_sample_median", "measured_sample_q90",
    ];

    /// <summary>Every row of every measurement as CSV (round-trip doubles, ∞ as Infinity, NaN empty).</summary>
    public static string Csv(IReadOnlyList<BiasMeasurement> points)
    {
        var sb = new StringBuilder(string.Join(',', Columns)).Append('\n');
        static string D(double v) => double.IsNaN(v) ? "" : double.IsPositiveInfinity(v) ? "Infinity" : v.ToString("R", Inv);
        foreach (var m in points)
            foreach (var r in m.Rows)
                sb.AppendJoin(',', [m.Updates.ToString(Inv), D(m.Epoch), D(m.ValidLoss), D(m.LogBeta), m.Window.ToString(Inv), m.Samples.ToString(Inv),
                    r.K.ToString(Inv), D(r.DeltaHat), D(r.DeltaHatExact), D(r.DeltaHatApprox), D(r.StateBias), D(r.MeanGradientBias), D(r.SampleMean), D(r.SampleStd), D(r.Q10), D(r.Median), D(r.Q90)]).Append('\n');
        return sb.ToString();
    }

    /// <summary>
    /// Writes into <paramref name="dir"/>: <c>bias.csv</c> (<see cref="Columns"/>), <c>bias.json</c>, <c>table.md</c>
    /// (per point: where δ̂ is conservative, and the measured bias at each κ̂(δ)), <c>bias.svg</c> (small multiples:
    /// δ̂(K), the measured biases and the samples' 10–90 % band against K, one panel per point), <c>at-kappa.svg</c>
    /// (the measured bias at κ̂(δ) over δ, through training) and <c>phi.svg</c> (the φ̄ profiles).
    /// </summary>
    /// <param name="metric">"ppl" or "bits": how validation losses are shown.</param>
    public static void Write(string dir, string title, string metric, IReadOnlyList<BiasMeasurement> points)
    {
        Directory.CreateDirectory(dir);
        AtomicFile.WriteAllText(Path.Combine(dir, "bias.csv"), Csv(points));
        JsonSummary.Write(Path.Combine(dir, "bias.json"), points.Select(m => new
        {
            updates = m.Updates, epoch = m.Epoch, validLoss = m.ValidLoss, cumulative = Name(m.Cumulative), logBeta = m.LogBeta, tau = m.Tau, window = m.Window, samples = m.Samples,
            kByDelta = m.KByDelta.Select(x => new { delta = x.Delta, k = x.K }).ToArray(),
            rows = m.Rows, messages = m.Messages,
        }).ToArray());
        AtomicFile.WriteAllText(Path.Combine(dir, "table.md"), Table(title, metric, points));
        Plots(dir, title, metric, points);
    }

    /// <summary>One line per point: β̂, how often δ̂ ≥ the measured bias over the K &lt; W, and the bias measured at each κ̂(δ).</summary>
    public static string Table(string title, string metric, IReadOnlyList<BiasMeasurement> points)
    {
        var deltas = points.SelectMany(p => p.KByDelta.Select(x => x.Delta)).Distinct().ToArray();
        var sb = new StringBuilder();
        if (title.Length > 0) sb.Append(title).Append("\n\n");
        sb.Append($"| update | epoch | valid {RunMetrics.Unit(metric)} | β̂ | δ̂ ≥ measured, mean gradient | δ̂ ≥ measured, sample mean | min δ̂ / measured (mean gradient) |");
        foreach (double d in deltas) sb.Append(Invariant($" δ = {d}: K, measured mean gradient / samples (10–90 %) |"));
        sb.Append('\n').Append("|--:|--:|--:|--:|--:|--:|--:|").Append(string.Concat(deltas.Select(_ => "---|"))).Append('\n');
        foreach (var m in points)
        {
            var inside = m.Rows.Where(r => r.K < m.Window).ToArray();
            int byMean = inside.Count(r => r.DeltaHat >= r.MeanGradientBias), bySample = inside.Count(r => r.DeltaHat >= r.SampleMean);
            double ratio = inside.Where(r => r.MeanGradientBias > 0).Select(r => r.DeltaHat / r.MeanGradientBias).DefaultIfEmpty(double.NaN).Min();
            sb.Append(Invariant($"| {m.Updates} | {m.Epoch:F2} | {(double.IsNaN(m.ValidLoss) ? "—" : RunMetrics.Format(metric, m.ValidLoss))} | {Math.Exp(m.LogBeta):F4} | {byMean}/{inside.Length} | {bySample}/{inside.Length} | {ratio:G3} |"));
            foreach (double d in deltas)
            {
                var k = m.KByDelta.FirstOrDefault(x => x.Delta == d).K;
                if (k == 0) { sb.Append(" — |"); continue; }
                var r = m.At(k);
                sb.Append(Invariant($" {k}: {r.MeanGradientBias:G3} / {r.SampleMean:G3} ({r.Q10:G2}–{r.Q90:G2}) |"));
            }
            sb.Append('\n');
        }
        sb.Append("\nδ̂ ≥ measured counts the K of the grid below W (at W every measured bias is 0); κ̂(δ) is the smallest K with δ̂(K) < δ.\n");
        return sb.ToString();
    }

    private static string Label(BiasMeasurement m, string metric) =>
        Invariant($"update {m.Updates}, epoch {m.Epoch:F1}") + (double.IsNaN(m.ValidLoss) ? "" : $", valid {RunMetrics.Format(metric, m.ValidLoss)}");

    private static void Plots(string dir, string title, string metric, IReadOnlyList<BiasMeasurement> points)
    {
        // One y range for every panel: the smallest positive value shown is at most 1e-6 below the largest.
        var all = points.SelectMany(m => m.Rows.Where(r => r.K < m.Window)
            .SelectMany(r => new[] { r.DeltaHat, r.DeltaHatExact, r.DeltaHatApprox, r.StateBias, r.MeanGradientBias, r.SampleMean, r.Q10, r.Q90 }))
            .Where(v => v > 0 && double.IsFinite(v)).ToArray();
        double hi = all.Length > 0 ? Math.Max(1, all.Max()) : 10, lo = all.Length > 0 ? Math.Max(all.Min(), hi * 1e-6) : 1e-3;
        int w = points.Max(m => m.Window);
        var panels = points.Select(m =>
        {
            var rows = m.Rows.Where(r => r.K < m.Window).ToArray();
            var ks = rows.Select(r => (double)r.K).ToArray();
            return new SvgLineChart { Title = Label(m, metric), XLabel = "K", YLabel = "relative bias", LogX = true, LogY = true, Markers = true,
                    XMin = 1, XMax = w, YMin = lo, YMax = hi, Legend = m == points[0] ? LegendPlacement.BottomLeft : LegendPlacement.None }
                .Add(new Series($"δ̂(K), estimate ({Name(m.Cumulative)} C_K)", ks, rows.Select(r => RunMetrics.Positive(r.DeltaHat)).ToArray()) { Color = "#000000" })
                .Add(new Series($"δ̂(K) with the {Name(Other(m.Cumulative))} C_K", ks,
                    rows.Select(r => RunMetrics.Positive(m.Cumulative == CumulativeNorm.Exact ? r.DeltaHatApprox : r.DeltaHatExact)).ToArray())
                    { Color = "#999999", Dashed = true, Markers = false })
                .Add(new Series("measured, samples' mean (10–90 %)", ks, rows.Select(r => RunMetrics.Positive(r.SampleMean)).ToArray())
                    { Color = "#D55E00", Low = rows.Select(r => RunMetrics.Positive(r.Q10)).ToArray(), High = rows.Select(r => RunMetrics.Positive(r.Q90)).ToArray() })
                .Add(new Series("measured, mean gradient", ks, rows.Select(r => RunMetrics.Positive(r.MeanGradientBias)).ToArray()) { Color = "#0072B2" })
                .Add(new Series("state gradient (what δ̂ bounds)", ks, rows.Select(r => RunMetrics.Positive(r.StateBias)).ToArray()) { Color = "#009E73", Dashed = true, Markers = false });
        }).ToList();
        SvgLineChart.SaveGrid(Path.Combine(dir, "bias.svg"), panels, columns: Math.Min(3, panels.Count), cellWidth: 440, cellHeight: 330, title: title);

        var deltas = points.SelectMany(p => p.KByDelta.Select(x => x.Delta)).Distinct().ToArray();
        var x = points.Select(m => (double)m.Updates).ToArray();
        // Measured bias over δ: the estimator kept its promise at a point where this is at most 1.
        var atKappa = new SvgLineChart { Title = "Measured bias at K = κ̂(δ), over δ, during training", XLabel = "update", YLabel = "measured relative bias / δ",
            LogY = true, Markers = true, Legend = LegendPlacement.TopRight };
        atKappa.Add(new Series("measured bias = δ", [x.Min(), x.Max()], [1.0, 1.0]) { Color = "#000000", Markers = false });
        for (int i = 0; i < deltas.Length; i++)
        {
            double d = deltas[i];
            string color = SvgLineChart.Palette[(i + 1) % SvgLineChart.Palette.Count];
            var rows = points.Select(m => m.KByDelta.FirstOrDefault(k => k.Delta == d).K is int k and > 0 ? m.At(k) : null).ToArray();
            double[] Over(Func<BiasRow, double> f) => [.. rows.Select(r => r is null ? double.NaN : RunMetrics.Positive(f(r) / d))];
            atKappa.Add(new Series(Invariant($"δ = {d}: mean gradient"), x, Over(r => r.MeanGradientBias)) { Color = color });
            atKappa.Add(new Series(Invariant($"δ = {d}: samples' mean"), x, Over(r => r.SampleMean)) { Color = color, Dashed = true });
        }
        // Two decades above the level 1 for the legend, so it hides no point (the spread is in table.md and bias.svg).
        double top = atKappa.Series.SelectMany(se => se.Ys).Where(v => v > 0 && double.IsFinite(v)).DefaultIfEmpty(1).Max();
        atKappa.YMax = 100 * Math.Max(1, top);
        atKappa.Save(Path.Combine(dir, "at-kappa.svg"));

        var phi = new SvgLineChart { Title = "Gradient-norm profiles φ̄_k / φ̄_0", XLabel = "lag k", YLabel = "φ̄_k / φ̄_0", LogY = true, Legend = LegendPlacement.TopRight };
        foreach (var m in points)
            phi.Add(new Series(Invariant($"update {m.Updates}"), Enumerable.Range(0, m.LogPhiBar.Count).Select(k => (double)k).ToArray(),
                m.LogPhiBar.Select(l => RunMetrics.Positive(Math.Exp(l - m.LogPhiBar[0]))).ToArray()));
        phi.Save(Path.Combine(dir, "phi.svg"));
    }

    private static string Invariant(FormattableString s) => s.ToString(Inv);

    private static string Name(CumulativeNorm c) => c == CumulativeNorm.Exact ? "exact" : "approximate";

    private static CumulativeNorm Other(CumulativeNorm c) => c == CumulativeNorm.Exact ? CumulativeNorm.Approximate : CumulativeNorm.Exact;
}
