using System.CommandLine;
using Tbptt.LanguageModel.Experiments;
using Tbptt.LanguageModel.Runs;

namespace Tbptt.Cli.Commands;

/// <summary>
/// <c>tbptt bias-study --run DIR</c>: the estimate against the truth during training (issue 14 §3). Every snapshot
/// the run kept (<c>--snapshots N</c> when it trained) is probed on the run's training stream at the same seeded
/// positions, with the run's probe (W, burn-in, S) and estimator; at each K of a grid and at κ̂(δ) of each δ of --deltas
/// it measures the relative bias of the truncated parameter gradient per sample and of the samples' mean,
/// beside δ̂(K). Writes bias.csv, bias.json, table.md and the plots bias.svg, at-kappa.svg and phi.svg.
/// </summary>
public static class BiasStudyCommand
{
    /// <summary>The default K grid: roughly evenly spaced in log K, cut at W.</summary>
    public static readonly int[] DefaultGrid = [1, 2, 3, 5, 7, 10, 15, 20, 30, 50, 70, 100, 150, 200, 300];

    public static Command Create()
    {
        var run = Opt.Required<string>("--run", "A run folder with snapshots/ (train it with --snapshots N).");
        var output = Opt.Optional<string?>("--out", "Folder for the table, CSV, JSON and plots (default: RUN/bias-study).");
        var grid = Opt.WithDefault("--grid", "K values measured (besides κ̂(δ) of each δ of --deltas, and W).", string.Join(',', DefaultGrid));
        // These override the run's own probe concern (its run.json) for the study; they default to it.
        var window = Opt.Optional<int?>("--window", "Probe window W (default: the run's).");
        var burnIn = Opt.Optional<int?>("--burnin", "Probe burn-in (default: the run's).");
        var samples = Opt.Optional<int?>("--samples", "Probe samples S (default: the run's).");
        var seed = Opt.WithDefault("--seed", "Seed of the sample positions (the same positions for every snapshot).", 1);
        var updates = Opt.Optional<string?>("--updates", "Only the snapshots of these updates, comma-separated (default: all).");
        var deltas = Opt.WithDefault("--deltas", "δ values whose κ̂(δ) is measured too, comma-separated.", "0.9,0.5,0.1");
        var cmd = new Command("bias-study", "δ̂(K) against the measured parameter-gradient bias, at every snapshot of a run: table, CSV and plots.")
            { run, output, grid, window, burnIn, samples, seed, updates, deltas };
        cmd.SetAction(r => CliErrors.Run(() =>
        {
            string dir = r.GetValue(run)!;
            string json = Path.Combine(dir, RunExecutor.OptionsFile);
            if (!File.Exists(json)) throw new UserInputException($"--run: {json}: no such file (a run folder holds one).");
            var o = RunOptions.Load(json);
            var probe = o.Probe with
            {
                Window = r.GetValue(window) ?? o.Probe.Window,
                BurnIn = r.GetValue(burnIn) ?? o.Probe.BurnIn,
                Samples = r.GetValue(samples) ?? o.Probe.Samples,
                BiasGrid = [],
            };
            probe.Validate();
            var ks = Opt.ParseInts(r.GetValue(grid)!, "--grid");
            if (ks.Any(k => k < 1)) throw new UserInputException("--grid: every K must be at least 1.");
            long[]? only = r.GetValue(updates) is { } u ? Opt.ParseInts(u, "--updates").Select(x => (long)x).ToArray() : null;
            string outDir = r.GetValue(output) ?? Path.Combine(dir, "bias-study");
            var ds = Opt.ParseDoubles(r.GetValue(deltas)!, "--deltas");
            if (ds.Any(d => !(d > 0 && double.IsFinite(d)))) throw new UserInputException("--deltas: every δ must be finite and > 0.");
            var points = BiasStudy.Study(dir, ks, probe, r.GetValue(seed), Console.Out, only, ds);
            string title = $"δ̂(K) against the measured bias: {o.PolicyName}, {o.Task}, W = {probe.Window}, S = {probe.Samples}";
            BiasStudy.Write(outDir, title, o.Metric, points);
            Console.WriteLine($"wrote {outDir}: {points.Count} training points (table.md, bias.csv, bias.json, bias.svg, at-kappa.svg, phi.svg)");
            return 0;
        }));
        return cmd;
    }
}
