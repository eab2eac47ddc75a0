using System.CommandLine;
using System.Globalization;
using Tbptt.BiasEstimation;
using Tbptt.Cli.Binders;
using Tbptt.LanguageModel.Runs;

namespace Tbptt.Cli.Commands;

/// <summary>
/// <c>tbptt estimate-k</c>: the truncation length for a tolerated relative bias δ from a table of gradient
/// norms by lag — the entry point for trainers other than ours (a PyTorch user dumps φ and asks for K).
/// </summary>
public static class EstimateKCommand
{
    public static Command Create()
    {
        var norms = Opt.Required<string>("--norms", "CSV of φ: one row per lag k = 0..W−1, one column per sample (a header row is allowed).");
        var delta = Opt.WithDefault("--delta", "Tolerated relative biases δ, comma-separated.", Opt.Join(RunDefaults.Deltas));
        var json = Opt.WithDefault("--json", "Print one JSON object instead of text.", false);
        var mean = Opt.Optional<string?>("--mean-gradients", "CSV of the per-lag mean gradient vectors ḡ_k (probe --mean-out), for --cumulative exact.");
        var est = new EstimatorBinder();
        var cmd = new Command("estimate-k", "Estimate the decay rate β, the relative bias δ̂(K) and the smallest K meeting each δ from gradient norms by lag.")
            { norms, delta, json, mean };
        est.AddTo(cmd);
        cmd.SetAction(r => CliErrors.Run(() =>
        {
            var profile = r.GetValue(mean) is { } meanPath ? NormsCsv.ReadFile(r.GetValue(norms)!, meanPath) : NormsCsv.ReadFile(r.GetValue(norms)!);
            var labels = Opt.Split(r.GetValue(delta)!);
            var deltas = Opt.ParseDoubles(r.GetValue(delta)!, "--delta");
            if (deltas.Length == 0) throw new UserInputException("--delta: give at least one δ.");
            var estimate = BiasEstimator.Estimate(profile, est.Read(r), deltas);
            if (r.GetValue(json)) Console.WriteLine(BiasEstimateJson.Serialize(estimate, labels));
            else Print(estimate, labels);
            return 0;
        }));
        return cmd;
    }

    public static void Print(BiasEstimate e, IReadOnlyList<string> labels)
    {
        var inv = CultureInfo.InvariantCulture;
        Console.WriteLine(string.Create(inv, $"W = {e.Window} lags × {e.Samples} samples; τ = {e.Tau}; method {e.Method.ToString().ToLowerInvariant()}"));
        Console.WriteLine(string.Create(inv, $"log β̂ = {e.LogBeta:F6}   β̂ = {e.Beta:F6}"));
        for (int i = 0; i < e.KByDelta.Count; i++)
        {
            var (d, k) = e.KByDelta[i];
            double at = e.RelativeBias[k - 1];
            Console.WriteLine(string.Create(inv, $"δ = {labels[i],-6} K = {k,-5} δ̂(K) = {(double.IsFinite(at) ? at.ToString("G4", inv) : "∞")}"));
        }
        foreach (var m in e.Messages) Console.WriteLine($"note: {m}");
    }
}
