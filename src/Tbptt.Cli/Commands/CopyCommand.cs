using System.CommandLine;
using System.Globalization;
using Tbptt.LanguageModel.Experiments;
using Tbptt.LanguageModel.Synthetic;
using Tbptt.Models;
using Tbptt.Probes;
using Tbptt.Training;

namespace Tbptt.Cli.Commands;

/// <summary>
/// <c>tbptt copy</c>: the paper's synthetic copy experiment (Table C.1) — fixed TBPTT(K, 2K−1) against adaptive
/// TBPTT at tolerances δ, every configuration from the same initial weights per seed. Defaults are the paper's
/// set-up except the number of epochs (the paper ran 200).
/// </summary>
public static class CopyCommand
{
    public static Command Create()
    {
        var m = Opt.WithDefault("--m", "Segment length m (marker + m−1 payload symbols).", 10);
        var mMin = Opt.Optional<int?>("--mmin", "Smallest segment length: m is drawn from [mmin, m] per segment (default: fixed m).");
        var fixedK = Opt.WithDefault("--fixed", "Fixed truncation lengths K, comma-separated (runs TBPTT(K, 2K−1)).", "5,10,15,20,30");
        var adaptive = Opt.WithDefault("--adaptive", "Tolerated relative biases δ for adaptive runs, comma-separated.", "0.9,0.5,0.1");
        var epochs = Opt.WithDefault("--epochs", "Passes over the training streams (the paper: 200).", 10);
        var seeds = Opt.WithDefault("--seeds", "Seeds (initial weights and data), comma-separated.", "1");
        var output = Opt.WithDefault("--out", "Folder for metrics, table and plots.", "runs/copy");
        var batch = Opt.WithDefault("--batch", "Batch columns B.", 64);
        var trainSteps = Opt.WithDefault("--train-steps", "Training steps per column.", 4000);
        var evalSteps = Opt.WithDefault("--eval-steps", "Validation and test steps per column.", 1000);
        var hidden = Opt.WithDefault("--hidden", "LSTM units per layer (and embedding width).", 50);
        var layers = Opt.WithDefault("--layers", "LSTM layers.", 2);
        var lr = Opt.WithDefault("--lr", "SGD step size before the √K scaling.", 1.0);
        var weightDecay = Opt.WithDefault("--weight-decay", "L2 weight decay.", 1e-5);
        var clip = Opt.WithDefault("--clip", "Global gradient-norm clip (0: off).", 1.0);
        var window = Opt.WithDefault("--window", "Probe window W.", 100);
        var samples = Opt.WithDefault("--samples", "Probe samples S.", 64);
        var probes = Opt.WithDefault("--probes", "Probes per re-estimate P.", 5);
        var k0 = Opt.WithDefault("--k0", "Adaptive runs' first K.", 15);
        var kmin = Opt.WithDefault("--kmin", "Smallest adaptive K.", 2);
        var kmax = Opt.WithDefault("--kmax", "Largest adaptive K.", 100);
        var evals = Opt.WithDefault("--evals-per-epoch", "Evaluation rounds (and adaptive re-estimates) per epoch.", 1);
        var cmd = new Command("copy", "Reproduce the paper's copy experiment: fixed K against adaptive δ, with a table shaped like Table C.1 and SVG plots.")
            { m, mMin, fixedK, adaptive, epochs, seeds, output, batch, trainSteps, evalSteps, hidden, layers, lr, weightDecay, clip, window, samples, probes, k0, kmin, kmax, evals };
        cmd.SetAction(r => CliErrors.Run(() =>
        {
            var task = new CopyTask(r.GetValue(m), r.GetValue(mMin));
            var runs = Opt.ParseInts(r.GetValue(fixedK)!, "--fixed").Select(RunSpec.Fixed)
                .Concat(Opt.ParseDoubles(r.GetValue(adaptive)!, "--adaptive").Select(RunSpec.Adaptive)).ToList();
            if (runs.Count == 0) throw new UserInputException("give at least one --fixed K or --adaptive δ.");
            int h = r.GetValue(hidden);
            var options = new ComparisonOptions
            {
                Model = new ModelConfig
                {
                    Cell = CellKind.Lstm, Layers = r.GetValue(layers), Input = InputKind.Tokens, InputSize = CopyTask.Symbols,
                    EmbedSize = h, HiddenSize = h, OutputSize = CopyTask.Symbols,
                },
                Trainer = new TrainerOptions
                {
                    Optimizer = "sgd", LearningRate = r.GetValue(lr), WeightDecay = r.GetValue(weightDecay), Clip = r.GetValue(clip),
                    Epochs = r.GetValue(epochs), EvaluationsPerEpoch = r.GetValue(evals),
                },
                Adaptive = new AdaptiveOptions { K0 = r.GetValue(k0), KMin = r.GetValue(kmin), KMax = r.GetValue(kmax), Probes = r.GetValue(probes) },
                Probe = new ProbeOptions { Window = r.GetValue(window), Samples = r.GetValue(samples) },
                Runs = runs,
                Seeds = Opt.ParseInts(r.GetValue(seeds)!, "--seeds"),
                OutputDirectory = r.GetValue(output)!,
                Metric = "ppl",
                Description = string.Create(CultureInfo.InvariantCulture,
                    $"Copy task, m = {(task.VariableLength ? $"[{task.MMin}, {task.M}]" : task.M.ToString(CultureInfo.InvariantCulture))}: LSTM {r.GetValue(layers)}×{h}, batch {r.GetValue(batch)}, {r.GetValue(trainSteps)} train / {r.GetValue(evalSteps)} eval steps per column, {r.GetValue(epochs)} epochs, SGD lr {r.GetValue(lr)}·√K; timing-only reference PPL {task.ReferencePerplexity:F3}."),
            };
            options.Adaptive.Validate();
            options.Probe.Validate();
            using var cancel = Interrupt.OnCtrlC();
            var results = Comparison.Run(options, seed =>
            {
                var s = task.GenerateSplits(seed, r.GetValue(batch), r.GetValue(trainSteps), r.GetValue(evalSteps));
                return (new TokenStream(s.Train.Inputs, s.Train.Targets, s.Train.Batch),
                    new TokenStream(s.Valid.Inputs, s.Valid.Targets, s.Valid.Batch),
                    new TokenStream(s.Test.Inputs, s.Test.Targets, s.Test.Batch));
            }, Console.Out, cancel.Token);
            Console.WriteLine();
            Console.Write(ComparisonReport.Table(options, results));
            Console.WriteLine($"wrote {options.OutputDirectory}: table.md, summary.json, runs/*.csv|json, *.svg");
            return cancel.IsCancellationRequested ? CliErrors.Interrupted : 0;
        }));
        return cmd;
    }
}
