using Tbptt.Cli.Binders;
using System.CommandLine;
using System.Globalization;
using System.Text;
using Tbptt.BiasEstimation;
using Tbptt.Checkpoints;
using Tbptt.Probes;

namespace Tbptt.Cli.Commands;

/// <summary>
/// <c>tbptt probe</c>: measures φ_k = ‖∂L_W/∂h_{W−k}‖ for a model on a text (docs §3) and writes the table that
/// <c>estimate-k</c> reads; with <c>--exact-bias</c> it also measures the true relative bias of truncating the
/// parameter gradient at each K and prints it beside the estimate δ̂(K).
/// </summary>
public static class ProbeCommand
{
    public static Command Create()
    {
        var model = Opt.Required<string>("--model", "Model file (.safetensors).");
        var text = Opt.Required<string>("--text", "UTF-8 text the samples are drawn from (input x_t, target x_{t+1}).");
        var probeOptions = new ProbeBinder(new ProbeOptions()); // W, burn-in and S: the probe concern's flags
        var offsets = Opt.Optional<string?>("--offsets", "Comma-separated sample start offsets (default: random, seeded); sets S.");
        var seed = Opt.WithDefault("--seed", "Seed of the random offsets.", 1);
        var output = Opt.Required<string>("--out", "CSV of φ to write (one row per lag, one column per sample).");
        var meanOut = Opt.Optional<string?>("--mean-out", "Also write the per-lag mean gradient vectors ḡ_k (rows: lags, columns: state dimensions) for estimate-k --cumulative exact.");
        var exactBias = Opt.Optional<string?>("--exact-bias", "K grid, e.g. 1,2,5,10,20,50,100: measure ‖ĝ_K − ĝ_W‖/‖ĝ_W‖ and print it beside δ̂(K).");
        var est = new EstimatorBinder();
        var cmd = new Command("probe", "Measure the gradient-norm profile φ by lag of a model on a text (and optionally the true truncation bias).")
            { model, text, offsets, seed, output, meanOut, exactBias };
        probeOptions.AddTo(cmd);
        est.AddTo(cmd);
        cmd.SetAction(r => CliErrors.Run(() =>
        {
            var (m, vocab, _) = ModelFiles.LoadCharModel(r.GetValue(model)!);
            var read = probeOptions.Read(r);
            int w = read.Window;
            int[]? given = r.GetValue(offsets) is { } o ? Opt.ParseInts(o, "--offsets") : null;
            int[] grid = r.GetValue(exactBias) is { } g ? Opt.ParseInts(g, "--exact-bias").Where(k => k <= w).Distinct().Order().ToArray() : [];
            if (grid.Length > 0 && grid[^1] != w) grid = [.. grid, w];
            var options = read with { Samples = given?.Length ?? read.Samples, BiasGrid = grid };
            options.Validate();
            var tokens = ModelFiles.EncodeText(r.GetValue(text)!, vocab, options.EffectiveBurnIn + w + 1);
            var probe = new Tbptt.Probes.GradientProbe<float>(m, options);
            var inputs = tokens.AsSpan(0, tokens.Length - 1);
            var targets = tokens.AsSpan(1);
            var starts = given ?? probe.RandomOffsets(inputs.Length, new Random(r.GetValue(seed)));
            var result = probe.Run(inputs, targets, starts);
            WriteCsv(r.GetValue(output)!, result);
            if (r.GetValue(meanOut) is { } meanPath) WriteMeanCsv(meanPath, result);
            Console.WriteLine($"wrote {r.GetValue(output)}: φ for {w} lags × {options.Samples} samples (burn-in {options.EffectiveBurnIn})");
            if (grid.Length > 0) PrintBias(result, est.Read(r));
            return 0;
        }));
        return cmd;
    }

    public static void WriteCsv(string path, ProbeResult result)
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendJoin(',', result.Offsets.Select((o, i) => $"sample{i}@{o}")).Append('\n');
        for (int k = 0; k < result.Window; k++)
        {
            for (int s = 0; s < result.Samples; s++)
            {
                if (s > 0) sb.Append(',');
                sb.Append(result.Phi[k, s].ToString("R", inv));
            }
            sb.Append('\n');
        }
        AtomicFile.WriteAllText(path, sb.ToString());
    }

    public static void WriteMeanCsv(string path, ProbeResult result)
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        foreach (var row in result.MeanGradient)
            sb.AppendJoin(',', row.Select(v => v.ToString("R", inv))).Append('\n');
        AtomicFile.WriteAllText(path, sb.ToString());
    }

    private static void PrintBias(ProbeResult result, BiasEstimatorOptions options)
    {
        var profile = new GradientNormProfile(result.Phi, result.MeanGradient);
        var e = BiasEstimator.Estimate(profile, options, []);
        var inv = CultureInfo.InvariantCulture;
        Console.WriteLine(string.Create(inv, $"β̂ = {e.Beta:F6} (log β̂ = {e.LogBeta:F6}), τ = {e.Tau}"));
        Console.WriteLine("    K   measured ‖ĝ_K − ĝ_W‖/‖ĝ_W‖   estimated δ̂(K)");
        foreach (var (k, bias) in result.MeasuredBias)
        {
            double d = e.RelativeBias[k - 1];
            Console.WriteLine(string.Create(inv, $"{k,5}   {bias,28:G4}   {(double.IsFinite(d) ? d.ToString("G4", inv) : "∞"),14}"));
        }
        Console.WriteLine("note: δ̂ bounds the bias of the state gradient; for parameter gradients the paper drops a constant M, so there it is an estimate, not a bound.");
        foreach (var m in e.Messages) Console.WriteLine($"note: {m}");
    }
}
