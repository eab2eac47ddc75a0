using Tbptt.Truncation;
using System.Globalization;
using Tbptt.BiasEstimation;
using Tbptt.Checkpoints;
using Tbptt.Models;
using Tbptt.Probes;
using Tbptt.Reporting;
using Tbptt.Training;

namespace Tbptt.LanguageModel.Runs;

/// <summary>
/// The one way a run is trained — by <c>charlm train</c>, <c>tbptt run --config</c> and every sweep entry: data →
/// model → trainer with a fixed or adaptive truncation, evaluating every so often. Writes into its folder
/// <c>run.json</c> (the options), <c>checkpoint.safetensors</c> (everything to resume, after every evaluation),
/// <c>model.safetensors</c> (the best validation parameters, loadable by PyTorch), <c>metrics.csv</c>,
/// <c>summary.json</c> (<see cref="RunSummary"/>), SVG plots and, when asked, <c>snapshots/</c> (<see cref="RunSnapshots"/>). A resumed run ends with exactly the numbers of
/// an uninterrupted one.
/// </summary>
public static class RunExecutor
{
    /// <summary>The file names of a run folder: options, checkpoint, best model, metrics and summary.</summary>
    public const string OptionsFile = "run.json", CheckpointFile = "checkpoint.safetensors", ModelFile = "model.safetensors",
        MetricsFile = "metrics.csv", SummaryFile = "summary.json";

    private const string OptionsKey = "run.options", VocabKey = "vocab", BlasKey = "blas";

    /// <summary>Trains <paramref name="o"/> into <paramref name="dir"/>.</summary>
    /// <param name="resume">Continue from the folder's checkpoint. The stored options win; only the budget
    /// (epochs, time, compute) given in <paramref name="o"/> may extend them.</param>
    /// <param name="progress">Called now and then with the fraction of the run done (for a sweep's status).</param>
    /// <param name="dataRoot">The folder relative data paths (of <paramref name="o"/> or of the checkpoint's options)
    /// resolve against; the records written keep them relative, so a folder holding runs and data can move (a sweep
    /// passes its own folder). Null: the current directory, and the records get absolute paths.</param>
    public static RunSummary Execute(RunOptions o, string dir, bool resume, TextWriter log, CancellationToken cancel,
        Action<double>? progress = null, string? dataRoot = null)
    {
        string checkpointPath = Path.Combine(dir, CheckpointFile);
        SafetensorsFile? checkpoint = null;
        if (resume)
        {
            if (!File.Exists(checkpointPath)) throw new FileNotFoundException($"{checkpointPath}: nothing to resume (no checkpoint).", checkpointPath);
            checkpoint = Safetensors.Read(checkpointPath);
            var saved = RunOptions.FromJson(checkpoint.GetMetadata(OptionsKey), $"{checkpointPath}: {OptionsKey}");
            o = saved with { Training = saved.Training with
            {
                Epochs = Math.Max(saved.Training.Epochs, o.Training.Epochs),
                TimeLimit = o.Training.TimeLimit ?? saved.Training.TimeLimit,
                ComputeBudget = o.Training.ComputeBudget ?? saved.Training.ComputeBudget,
            } };
            log.WriteLine($"resuming with the options stored in {checkpointPath} (only the budget can extend them)");
        }
        else if (dataRoot is null) o = o.WithDataPaths(Path.GetFullPath); // a resume may start elsewhere
        string root = dataRoot ?? Directory.GetCurrentDirectory();
        var located = o.WithDataPaths(p => Path.GetFullPath(p, root));
        located.Validate();
        Directory.CreateDirectory(dir);
        AtomicFile.WriteAllText(Path.Combine(dir, OptionsFile), o.ToJson() + "\n");

        // This thread's products (and its GEMM helpers') at the run's precision, until the run returns.
        using var precision = Numerics.Blas.UsePrecision(o.Training.MatmulPrecision);
        log.WriteLine(precision.Description);
        var data = RunData.Build(located, checkpoint is null ? null : checkpoint.Metadata.GetValueOrDefault(VocabKey));
        log.WriteLine(data.Description);
        var config = o.Model.ToConfig(data.Vocabulary);
        var model = SequenceModel<float>.Create(config, (int)o.Training.Seed, o.Model.InitScheme);
        var trainer = new Trainer(model, o.Training, data.Train, data.Valid, data.Test);
        var tracked = o.TrackedDeltas.ToArray();
        AdaptiveTruncation? adaptive = null;
        trainer.Policy = o.Truncation.Adaptive
            ? adaptive = new AdaptiveTruncation(o.Adaptive, trainer.CreateProbes(o.Probe), tracked)
            : new FixedTruncation(o.Truncation.K, o.Truncation.K2 ?? o.Truncation.K, o.Adaptive.ScaleBySqrtK);
        if (checkpoint is not null)
        {
            trainer.ImportState(TrainingCheckpoint.Load(checkpoint));
            // Temporaries of a killed write go; rows written after the checkpoint go when the metrics file is
            // rewritten from the checkpoint's evaluations below.
            RunFolder.PrepareResume(dir, log);
            log.WriteLine($"resumed from {checkpointPath}: update {trainer.Updates}, epoch {trainer.Epoch}, step {trainer.Position}");
        }

        // Backends round differently, so a run resumed or repeated on another backend differs in the last digits:
        // the checkpoint says which one it was computed with.
        var meta = new Dictionary<string, string> { [OptionsKey] = o.ToJson(), [BlasKey] = Numerics.Blas.Active.Name };
        if (checkpoint?.Metadata.GetValueOrDefault(BlasKey) is { } was && was != Numerics.Blas.Active.Name)
            log.WriteLine($"warning: this run was computed with the {was} backend and continues with {Numerics.Blas.Active.Name}: "
                + "its numbers will not match an uninterrupted run exactly (resume where it ran: the same TBPTT_BLAS, and "
                + "AMX tiles for --matmul-precision medium)");
        if (data.Symbols is not null) meta[VocabKey] = data.Symbols;
        double bestSaved = trainer.BestValidLoss;
        bool bestQueued = false;
        // Written in the background from snapshots taken here, so training does not wait for the disk; in order, and
        // all of it before this method returns.
        using var writes = new BackgroundWrites();
        trainer.Checkpoint = t =>
        {
            // The best model first: a kill between the two writes then leaves a checkpoint that still knows the
            // best model must be written, never a checkpoint ahead of a stale best model.
            SequenceModel<float>? best = null;
            if (t.BestValidLoss < bestSaved || (!bestQueued && !File.Exists(Path.Combine(dir, ModelFile))))
            {
                bestSaved = t.BestValidLoss;
                bestQueued = true;
                best = new SequenceModel<float>(config);
                t.BestParameters.CopyTo(best.Parameters.Data, 0);
            }
            var state = t.ExportState();
            writes.Enqueue(() =>
            {
                if (best is not null) ModelCheckpoint.Save(Path.Combine(dir, ModelFile), best, meta);
                TrainingCheckpoint.Save(checkpointPath, model, state, meta);
            });
        };

        if (o.Snapshots > 0)
        {
            // The initial model, then the models of the rounds RunSnapshots.Due picks (decided from the records alone).
            if (checkpoint is null) RunSnapshots.Save(dir, model, meta, 0, 0, 0);
            else AtomicFile.DeleteStaleTemporaries(Path.Combine(dir, RunSnapshots.Folder));
            double previous = trainer.Evaluations.Count > 0 ? RunSnapshots.Fraction(o.Training, trainer.Evaluations[^1]) : 0;
            trainer.Evaluated += r =>
            {
                double f = RunSnapshots.Fraction(o.Training, r);
                if (RunSnapshots.Due(o.Snapshots, previous, f)) RunSnapshots.Save(dir, model, meta, r.Updates, r.Epoch, r.ComputeTokens);
                previous = f;
            };
        }

        // The metrics file always agrees with the checkpoint: on a resume it is rewritten from the restored
        // evaluations, so rows a killed process wrote after its last checkpoint do not appear twice.
        using var csv = new CsvMetricsWriter(Path.Combine(dir, MetricsFile), RunMetrics.Columns(tracked));
        foreach (var r in trainer.Evaluations) csv.WriteRow(RunMetrics.Row(r, tracked));
        trainer.Evaluated += r => csv.WriteRow(RunMetrics.Row(r, tracked));

        long total = o.Training.ComputeBudget ?? (o.Training.TimeLimit is null ? (long)data.Train.Steps * data.Train.Batch * o.Training.Epochs : 0);
        string Show(double loss) => RunMetrics.Format(o.Metric, loss);
        var summary = default(TrainingSummary);
        using (var bar = new ProgressReporter(total, "tok", o.PolicyName, log))
        {
            trainer.Warning += bar.WriteLine;
            trainer.Evaluated += r => bar.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"eval @ update {r.Updates} (epoch {r.Epoch:F2}): valid {Show(r.ValidLoss)} {RunMetrics.Unit(o.Metric)}, K {r.K}"));
            trainer.Progress += (fraction, loss) =>
            {
                progress?.Invoke(fraction);
                bar.Report(total > 0 ? (long)(fraction * total) : trainer.ComputeTokens, (loss, trainer),
                    s => string.Create(CultureInfo.InvariantCulture, $"loss {s.loss:F3} K {s.trainer.Policy.K}"));
            };
            summary = trainer.Run(cancel);
            writes.Flush();
            bar.Complete(summary.Divergence is { } d ? $"{d}; nothing of it was saved" : string.Create(CultureInfo.InvariantCulture,
                $"best valid {Show(summary.BestValidLoss)}{(double.IsNaN(summary.TestLossAtBest) ? "" : $" test {Show(summary.TestLossAtBest)}")} K {summary.FinalK}{(summary.Interrupted ? " (stopped; resumable: the test runs at the end)" : "")}"));
        }

        // The φ profile and δ̂(K) at the end of training (not counted as training compute); it needs one probe
        // window per column, so a shorter stream goes without it, and a diverged model has no profile worth measuring.
        BiasEstimate? final = null;
        // A stop that arrives after the last update does not skip it: the run is complete and its summary must be too.
        if (!summary.Interrupted && !summary.Diverged && trainer.Evaluations.Count > 0
            && trainer.TrainSteps >= o.Probe.Window + o.Probe.EffectiveBurnIn)
        {
            var profile = trainer.CreateProbe(o.Probe)();
            var est = o.Adaptive.Estimator with { KMin = 1, KMax = profile.Window };
            final = BiasEstimator.Estimate(profile, est, tracked.Length > 0 ? tracked : [o.Adaptive.Delta]);
        }
        var result = RunSummary.From(o, summary, adaptive?.History ?? [], final);
        AtomicFile.WriteAllText(Path.Combine(dir, SummaryFile), result.ToJson() + "\n");
        RunMetrics.Plots(dir, o.Metric, result);
        return result;
    }
}
