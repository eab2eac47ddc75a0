using System.Diagnostics;
using Tbptt.LanguageModel.Runs;
using Tbptt.Models;
using Tbptt.Training;
using Tbptt.Truncation;

namespace Tbptt.Benchmarks;

/// <summary>
/// <c>ttq train</c>: the trainer's own loop (<see cref="Trainer.Run"/> with a time limit, as <c>charlm train</c> runs
/// it; its training rate is characters / (wall − evaluation)) against the benchmark's loop (<c>Trainer.TrainStep</c>
/// after a warm-up, as <c>bench charlm</c> runs it) on tiny-Shakespeare with <c>charlm train</c>'s model (LSTM 2 × 512,
/// TBPTT(100, 100), dropout 0.1, Adam, batch 32), alternating in one process. Process CPU time is reported beside wall
/// time: on a shared machine it moves less.
/// </summary>
internal static class TrainLoop
{
    private static (Trainer Trainer, RunOptions Options) Make(string corpus, double seconds)
    {
        var o = RunDefaults.CharLm with
        {
            Corpus = RunDefaults.CharLm.Corpus! with { Path = corpus },
            Training = RunDefaults.CharLm.Training with { TimeLimit = TimeSpan.FromSeconds(seconds), Epochs = RunDefaults.UnlimitedEpochs },
        };
        var data = RunData.Build(o);
        var model = SequenceModel<float>.Create(o.Model.ToConfig(data.Vocabulary), (int)o.Training.Seed, o.Model.InitScheme);
        var trainer = new Trainer(model, o.Training, data.Train, data.Valid, data.Test)
            { Policy = new FixedTruncation(o.Truncation.K, o.Truncation.K2 ?? o.Truncation.K) };
        return (trainer, o);
    }

    public static int Run(int reps, double seconds, string corpus)
    {
        var self = Process.GetCurrentProcess();
        var runWall = new List<double>(); var runCpu = new List<double>();
        var stepWall = new List<double>(); var stepCpu = new List<double>();
        for (int r = 0; r < reps; r++)
        {
            // The trainer's loop: everything Run does, evaluation (at the budget's end) subtracted.
            var (trainer, _) = Make(corpus, seconds);
            self.Refresh();
            var cpu0 = self.TotalProcessorTime;
            var s = trainer.Run();
            self.Refresh();
            double cpu = (self.TotalProcessorTime - cpu0).TotalSeconds;
            double chars = s.Evaluations[^1].TokensSeen;
            runWall.Add(chars / (s.WallSeconds - s.EvalSeconds));
            // CPU time of the evaluation is not separated: scale by the wall-time share of training.
            runCpu.Add(chars / (cpu * (1 - s.EvalShare)));

            // The benchmark's loop: warm-up of at least 3 updates and 1 s, then the same wall time of updates.
            var (bench, _) = Make(corpus, seconds);
            var clock = Stopwatch.StartNew();
            for (int i = 0; i < 3 || clock.Elapsed.TotalSeconds < 1; i++) bench.TrainStep();
            self.Refresh();
            cpu0 = self.TotalProcessorTime;
            long updates = 0;
            clock.Restart();
            while (clock.Elapsed.TotalSeconds < seconds - 1) { bench.TrainStep(); updates++; }
            double wall = clock.Elapsed.TotalSeconds;
            self.Refresh();
            cpu = (self.TotalProcessorTime - cpu0).TotalSeconds;
            stepWall.Add(updates * 3200 / wall);
            stepCpu.Add(updates * 3200 / cpu);
            Console.Error.WriteLine(FormattableString.Invariant(
                $"rep {r + 1}: Trainer.Run {runWall[^1]:F0} chars/s ({runCpu[^1]:F0} per CPU second, evaluation share {s.EvalShare:P1}); TrainStep loop {stepWall[^1]:F0} chars/s ({stepCpu[^1]:F0} per CPU second); load {File.ReadAllText("/proc/loadavg").Trim()}"));
        }
        double a = TimeToQuality.Median(runWall), b = TimeToQuality.Median(stepWall), ac = TimeToQuality.Median(runCpu), bc = TimeToQuality.Median(stepCpu);
        Console.WriteLine(FormattableString.Invariant($"charlm train's model, {seconds} s per side, {Environment.ProcessorCount} cores, {DateTime.UtcNow:yyyy-MM-ddTHH:mmZ}, BLAS {Numerics.Blas.Active.Name}"));
        Console.WriteLine(FormattableString.Invariant($"medians of {reps}: Trainer.Run {a:F0} chars/s of wall time less evaluation, TrainStep loop {b:F0}: ratio {a / b:F3}; per CPU second {ac:F0} and {bc:F0}: ratio {ac / bc:F3}"));
        return 0;
    }
}

/// <summary>Scratch: the wall time of one evaluation round's checkpoint (charlm train's model with Adam) and best model.</summary>
internal static class CheckpointCost
{
    public static int Run(int reps)
    {
        var o = RunDefaults.CharLm with { Corpus = RunDefaults.CharLm.Corpus! with { Path = "datasets/tinyshakespeare/input.txt" } };
        var data = RunData.Build(o);
        var config = o.Model.ToConfig(data.Vocabulary);
        var model = SequenceModel<float>.Create(config, 1);
        var trainer = new Trainer(model, o.Training, data.Train, data.Valid, data.Test) { Policy = new FixedTruncation(100, 100) };
        trainer.TrainStep();
        string dir = Directory.CreateTempSubdirectory("tbptt-ckpt-").FullName;
        var times = new List<double>();
        for (int r = 0; r < reps; r++)
        {
            long t0 = Stopwatch.GetTimestamp();
            Checkpoints.ModelCheckpoint.Save(Path.Combine(dir, "model.safetensors"), model, new Dictionary<string, string>());
            TrainingCheckpoint.Save(Path.Combine(dir, "checkpoint.safetensors"), model, trainer.ExportState(), new Dictionary<string, string>());
            times.Add(Stopwatch.GetElapsedTime(t0).TotalSeconds);
        }
        Directory.Delete(dir, true);
        Console.WriteLine(FormattableString.Invariant($"best model + checkpoint: median {TimeToQuality.Median(times):F2} s ({string.Join(", ", times.Select(t => t.ToString("F2", System.Globalization.CultureInfo.InvariantCulture)))})"));
        return 0;
    }
}
