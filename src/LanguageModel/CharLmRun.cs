using System.Globalization;
using Tbptt.BiasEstimation;
using Tbptt.Checkpoints;
using Tbptt.LanguageModel.Text;
using Tbptt.Models;
using Tbptt.Probes;
using Tbptt.Reporting;
using Tbptt.Training;
using Tbptt.Truncation;

namespace Tbptt.LanguageModel;

/// <summary>
/// <c>charlm train</c>: corpus → batchified streams → trainer with a fixed or adaptive truncation, evaluating
/// on the validation split every so often. Writes into the output folder: <c>model.safetensors</c> (best
/// validation parameters, loadable by PyTorch), <c>checkpoint.safetensors</c> (everything to resume),
/// <c>metrics.csv</c>, <c>summary.json</c> and SVG plots.
/// </summary>
internal static class CharLmRun
{
    public const string CheckpointFile = "checkpoint.safetensors", ModelFile = "model.safetensors";

    /// <summary>δ values whose κ̂ every adaptive estimate records (the paper's), beside the run's own δ.</summary>
    public static readonly double[] TrackedDeltas = [0.9, 0.5, 0.1];

    public static TrainingSummary Train(CharLmOptions o, bool resume, TextWriter log, CancellationToken cancel)
    {
        string dir = o.OutputDirectory;
        string checkpointPath = Path.Combine(dir, CheckpointFile);
        SafetensorsFile? checkpoint = null;
        if (resume)
        {
            if (!File.Exists(checkpointPath)) throw new FileNotFoundException($"{checkpointPath}: nothing to resume (no checkpoint).", checkpointPath);
            checkpoint = Safetensors.Read(checkpointPath);
            var saved = CharLmOptions.FromJson(checkpoint.GetMetadata("run.options"));
            // The stored settings win; only the budget may be extended on the command line.
            o = saved with { Epochs = Math.Max(saved.Epochs, o.Epochs), Minutes = o.Minutes ?? saved.Minutes, OutputDirectory = dir };
            log.WriteLine($"resuming with the settings stored in {checkpointPath} (only --epochs and --minutes can extend them)");
        }
        else o = o with { Corpus = Path.GetFullPath(o.Corpus) }; // a resume may start from another folder
        Directory.CreateDirectory(dir);
        var vocab = checkpoint is null ? null : Vocabulary.FromSymbols(checkpoint.GetMetadata("vocab"));
        var corpus = Corpus.Load(o.Corpus, vocabulary: vocab);
        log.WriteLine(corpus.Describe());
        int probeSpan = o.Window + (o.BurnIn ?? o.Window / 10);
        // Every column must hold one window of the largest K the run may use (and, adaptive, one probe window).
        corpus.EnsureSteps("train", o.Batch, o.Adaptive ? Math.Max(o.KMax, probeSpan) : Math.Max(o.K, o.K2 ?? o.K));
        corpus.EnsureSteps("valid", o.EvalBatch, 1);

        var config = o.ModelConfig(corpus.Vocabulary.Count);
        var model = SequenceModel<float>.Create(config, (int)o.Seed);
        var train = TokenStream.NextToken(Batchify.Columns(corpus.Train, o.Batch, out _), o.Batch);
        var valid = TokenStream.NextToken(Batchify.Columns(corpus.Valid, o.EvalBatch, out _), o.EvalBatch);
        TokenStream? test = corpus.Test.Length >= 2 * o.EvalBatch ? TokenStream.NextToken(Batchify.Columns(corpus.Test, o.EvalBatch, out _), o.EvalBatch) : null;
        var trainer = new Trainer(model, new TrainerOptions
        {
            Optimizer = o.Optimizer, LearningRate = o.LearningRate, WeightDecay = o.WeightDecay, Clip = o.Clip, Epochs = o.Epochs,
            TimeLimit = o.Minutes is { } m ? TimeSpan.FromMinutes(m) : null, EvaluationsPerEpoch = o.EvaluationsPerEpoch, Seed = o.Seed,
            MaxProbeShare = o.MaxProbeShare,
        }, train, valid, test);
        var probe = new ProbeOptions { Window = o.Window, BurnIn = o.BurnIn, Samples = o.Samples };
        trainer.Policy = o.Adaptive
            ? new AdaptiveTruncation(new AdaptiveOptions { Delta = o.Delta, K0 = o.K0, KMin = o.KMin, KMax = o.KMax, Probes = o.Probes, ScaleBySqrtK = o.ScaleBySqrtK },
                trainer.CreateProbe(probe), TrackedDeltas)
            : new FixedTruncation(o.K, o.K2 ?? o.K, o.ScaleBySqrtK);
        if (checkpoint is not null)
        {
            trainer.ImportState(TrainingCheckpoint.Load(checkpoint));
            log.WriteLine($"resumed from {checkpointPath}: update {trainer.Updates}, epoch {trainer.Epoch}, step {trainer.Position}");
        }

        var meta = new Dictionary<string, string> { ["vocab"] = corpus.Vocabulary.Symbols, ["run.options"] = o.ToJson() };
        double bestSaved = trainer.BestValidLoss;
        trainer.Checkpoint = t =>
        {
            TrainingCheckpoint.Save(checkpointPath, model, t.ExportState(), meta);
            if (t.BestValidLoss < bestSaved || !File.Exists(Path.Combine(dir, ModelFile)))
            {
                bestSaved = t.BestValidLoss;
                var best = new SequenceModel<float>(config);
                t.BestParameters.CopyTo(best.Parameters.Data, 0);
                ModelCheckpoint.Save(Path.Combine(dir, ModelFile), best, meta);
            }
        };
        string[] columns = ["updates", "epoch", "chars", "compute_tokens", "probe_compute_tokens", "wall_seconds", "train_bits", "valid_bits", "test_bits", "valid_ppl", "k", "log_beta", "delta_hat_at_k",
            .. TrackedDeltas.Select(d => $"kappa_delta_{d.ToString(CultureInfo.InvariantCulture)}"), "grad_norm"];
        using (var csv = new CsvMetricsWriter(Path.Combine(dir, "metrics.csv"), columns, append: resume && File.Exists(Path.Combine(dir, "metrics.csv"))))
        {
            trainer.Evaluated += r =>
            {
                object?[] kappa = TrackedDeltas.Select(d => (object?)(r.KByDelta.FirstOrDefault(x => x.Delta == d) is { K: > 0 } x ? x.K : null)).ToArray();
                csv.WriteRow([r.Updates, r.Epoch, r.TokensSeen, r.ComputeTokens, r.ProbeComputeTokens, r.WallSeconds, r.TrainLoss / Math.Log(2),
                    r.ValidBitsPerToken, r.TestBitsPerToken, r.ValidPerplexity, r.K, r.LogBeta, r.RelativeBiasAtK, .. kappa, r.GradientNorm]);
            };
            // Progress in characters trained; a time-limited run shows its rate but no bar (its end is a time, not a count).
            long total = o.Minutes is null ? (long)train.Steps * train.Batch * o.Epochs : 0;
            using var progress = new ProgressReporter(total, "chars", "train", log);
            trainer.Evaluated += r => progress.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"eval @ update {r.Updates} (epoch {r.Epoch:F2}): valid {r.ValidBitsPerToken:F3} bits/char (ppl {r.ValidPerplexity:F2}), K {r.K}"));
            trainer.Progress += (_, loss) => progress.Report(trainer.TokensSeen, (loss, trainer),
                s => string.Create(CultureInfo.InvariantCulture, $"loss {s.loss:F3} ({s.loss / Math.Log(2):F3} bits/char) K {s.trainer.Policy.K}"));
            var summary = trainer.Run(cancel);
            progress.Complete(string.Create(CultureInfo.InvariantCulture, $"best valid {summary.BestValidBitsPerToken:F3} bits/char{(summary.Interrupted ? " (stopped; resume with --resume)" : "")}"));
            WriteReport(dir, trainer, summary, o, cancel);
            return summary;
        }
    }

    private static void WriteReport(string dir, Trainer trainer, TrainingSummary s, CharLmOptions o, CancellationToken cancel)
    {
        BiasEstimate? final = null;
        int span = o.Window + (o.BurnIn ?? o.Window / 10);
        // The end-of-run profile needs one probe window per column; a shorter stream simply goes without it.
        if (!cancel.IsCancellationRequested && trainer.Evaluations.Count > 0 && trainer.TrainSteps >= span)
        {
            var profile = trainer.CreateProbe(new ProbeOptions { Window = o.Window, BurnIn = o.BurnIn, Samples = Math.Min(o.Samples, 32) })();
            final = BiasEstimator.Estimate(profile, new BiasEstimatorOptions(), [o.Delta]);
        }
        JsonSummary.Write(Path.Combine(dir, "summary.json"), new
        {
            policy = s.Policy, s.Updates, s.Epochs, s.ComputeTokens, s.ProbeComputeTokens, s.WallSeconds, s.Interrupted, s.FinalK,
            bestValidBits = s.BestValidBitsPerToken, testBitsAtBest = s.TestBitsPerTokenAtBest, bestValidPerplexity = s.BestValidPerplexity,
            finalProfile = final is null ? null : new { final.LogBeta, final.Tau, logPhiBar = final.LogPhiBar, relativeBias = final.RelativeBias },
        });
        var ev = s.Evaluations;
        var x = ev.Select(e => (double)e.Updates).ToArray();
        new SvgLineChart { Title = "Loss (bits per character)", XLabel = "update", YLabel = "bits/char" }
            .Add(new Series("train", x, ev.Select(e => e.TrainLoss / Math.Log(2)).ToArray()))
            .Add(new Series("valid", x, ev.Select(e => e.ValidBitsPerToken).ToArray()))
            .Save(Path.Combine(dir, "loss.svg"));
        new SvgLineChart { Title = "Truncation length K", XLabel = "update", YLabel = "K", Markers = true }
            .Add(new Series("K", x, ev.Select(e => (double)e.K).ToArray()))
            .Save(Path.Combine(dir, "k.svg"));
        if (final is not null)
        {
            new SvgLineChart { Title = "Gradient-norm profile at the end of training", XLabel = "lag k", YLabel = "φ̄_k / φ̄_0", LogY = true }
                .Add(new Series("φ̄", Enumerable.Range(0, final.Window).Select(k => (double)k).ToArray(),
                    final.LogPhiBar.Select(l => Math.Exp(l - final.LogPhiBar[0])).Select(v => v > 0 ? v : double.NaN).ToArray()))
                .Save(Path.Combine(dir, "phi-profile.svg"));
            new SvgLineChart { Title = "Estimated relative bias δ̂(K)", XLabel = "K", YLabel = "δ̂(K)", LogY = true }
                .Add(new Series("δ̂", Enumerable.Range(1, final.Window).Select(k => (double)k).ToArray(),
                    final.RelativeBias.Select(v => double.IsFinite(v) && v > 0 ? v : double.NaN).ToArray()))
                .Save(Path.Combine(dir, "relative-bias.svg"));
        }
    }

    /// <summary>Mean cross-entropy of a model on one split, with the state carried (batch columns as in training).</summary>
    public static (double Loss, int Characters, int Unknown) Evaluate(SequenceModel<float> model, Corpus corpus, string split, int batch)
    {
        var tokens = corpus.Split(split);
        int columns = Math.Max(1, Math.Min(batch, tokens.Length / 2));
        var stream = TokenStream.NextToken(Batchify.Columns(tokens, columns, out _), columns);
        return (Evaluation.MeanLoss(model, stream), stream.Steps * columns, corpus.UnknownCount(split));
    }
}
