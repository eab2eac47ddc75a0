using System.Diagnostics;
using System.Globalization;
using Tbptt.BiasEstimation;
using Tbptt.LanguageModel.Runs;
using Tbptt.Models;
using Tbptt.Training;
using Tbptt.Truncation;

namespace Tbptt.Benchmarks;

/// <summary>
/// <c>ttq probe</c>: the probes' share of an adaptive copy run at the paper's settings (LSTM 2 × 50, batch 64,
/// δ = 0.5, W 100, S 64, burn-in 20, P 5 after every epoch; <c>RunDefaults.Copy</c>), by wall time — the probe
/// callback timed — and by tokens of compute. Each repetition trains the same seeded run twice, alternating: P
/// probes called one by one (<c>Trainer.CreateProbe</c>, the path before issue 13's point 3) and P probes as one
/// batch (<c>Trainer.CreateProbes</c>). Both choose the same K at every estimate (checked).
/// </summary>
internal static class ProbeShare
{
    private sealed record Outcome(double ProbeSeconds, double ComputeSeconds, long ProbeTokens, long ComputeTokens, string Ks)
    {
        public double TimeShare => ProbeSeconds / ComputeSeconds;
        public double TokenShare => (double)ProbeTokens / ComputeTokens;
    }

    private static Outcome Train(int epochs, bool batched)
    {
        var o = RunDefaults.Copy with
        {
            Training = RunDefaults.Copy.Training with { Epochs = epochs },
            Truncation = RunDefaults.Copy.Truncation with { Adaptive = true },
            Adaptive = RunDefaults.Copy.Adaptive with { Delta = 0.5 },
        };
        var data = RunData.Build(o);
        var model = SequenceModel<float>.Create(o.Model.ToConfig(data.Vocabulary), (int)o.Training.Seed, o.Model.InitScheme);
        var trainer = new Trainer(model, o.Training, data.Train, data.Valid, data.Test);
        var clock = new Stopwatch();
        AdaptiveTruncation policy;
        if (batched)
        {
            var probes = trainer.CreateProbes(o.Probe);
            policy = new AdaptiveTruncation(o.Adaptive, count => { clock.Start(); var r = probes(count); clock.Stop(); return r; });
        }
        else
        {
            var probe = trainer.CreateProbe(o.Probe);
            policy = new AdaptiveTruncation(o.Adaptive, () => { clock.Start(); var r = probe(); clock.Stop(); return r; });
        }
        trainer.Policy = policy;
        var s = trainer.Run();
        return new Outcome(clock.Elapsed.TotalSeconds, s.WallSeconds - s.EvalSeconds, s.ProbeComputeTokens, s.ComputeTokens,
            string.Join(' ', policy.History.Select(h => h.K)));
    }

    public static int Run(int reps, int epochs, bool sequentialOnly)
    {
        Train(1, false); // warm-up: JIT, pools, the BLAS choice
        var seq = new List<Outcome>();
        var bat = new List<Outcome>();
        for (int r = 0; r < reps; r++)
        {
            seq.Add(Train(epochs, false));
            if (!sequentialOnly)
            {
                bat.Add(Train(epochs, true));
                if (bat[^1].Ks != seq[^1].Ks) throw new InvalidOperationException($"batched K {bat[^1].Ks} differ from single K {seq[^1].Ks}");
            }
            Console.Error.WriteLine(FormattableString.Invariant($"rep {r + 1}: one by one {seq[^1].ProbeSeconds:F2} s of {seq[^1].ComputeSeconds:F2} s = {seq[^1].TimeShare:P1}")
                + (sequentialOnly ? "" : FormattableString.Invariant($"; batched {bat[^1].ProbeSeconds:F2} s of {bat[^1].ComputeSeconds:F2} s = {bat[^1].TimeShare:P1}"))
                + FormattableString.Invariant($"; token share {seq[^1].TokenShare:P2}; K {seq[^1].Ks}"));
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"copy, δ = 0.5, {epochs} epochs; {Environment.ProcessorCount} cores, {DateTime.UtcNow:yyyy-MM-ddTHH:mmZ}, BLAS {Numerics.Blas.Active.Name}, load {File.ReadAllText("/proc/loadavg").Trim()}"));
        Console.WriteLine(FormattableString.Invariant($"medians of {reps}: probe share by wall time, one by one {TimeToQuality.Median(seq.Select(x => x.TimeShare).ToList()):P2}")
            + (sequentialOnly ? "" : FormattableString.Invariant($", batched {TimeToQuality.Median(bat.Select(x => x.TimeShare).ToList()):P2}"))
            + FormattableString.Invariant($"; by tokens {seq[0].TokenShare:P2}"));
        return 0;
    }
}
