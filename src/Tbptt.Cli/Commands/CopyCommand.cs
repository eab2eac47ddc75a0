using System.CommandLine;
using System.Globalization;
using Tbptt.LanguageModel.Experiments;
using Tbptt.LanguageModel.Synthetic;
using Tbptt.Models;
using Tbptt.Probes;
using Tbptt.Training;
using Tbptt.Truncation;

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
        var clipOn = Opt.WithDefault("--clip-on", "What --clip bounds: sum (the window's summed loss: clip/K on the per-step mean, as the paper's code) or mean.", "sum");
        var init = Opt.WithDefault("--init", "Initial weights: pytorch (PyTorch's defaults) or scaled-uniform (the paper's code: U(±√(3/max(rows, cols))), zero biases).", "pytorch");
        var burnIn = Opt.WithDefault("--burnin", "Probe burn-in steps.", 20);
        var window = Opt.WithDefault("--window", "Probe window W.", 100);
        var samples = Opt.WithDefault("--samples", "Probe samples S.", 64);
        var probes = Opt.WithDefault("--probes", "Probes per re-estimate P.", 5);
        var k0 = Opt.WithDefault("--k0", "Adaptive runs' first K.", 15);
        var kmin = Opt.WithDefault("--kmin", "Smallest adaptive K.", 2);
        var kmax = Opt.WithDefault("--kmax", "Largest adaptive K.", 100);
        var evals = Opt.WithDefault("--evals-per-epoch", "Evaluation rounds (and adaptive re-estimates) per epoch.", 1);
        var estimator = new EstimatorOptions(cumulative: "exact");
        var cmd = new Command("copy", "Reproduce the paper's copy experiment: fixed K against adaptive δ, with a table shaped like Table C.1 and SVG plots.")
            { m, mMin, fixedK, adaptive, epochs, seeds, output, batch, trainSteps, evalSteps, hidden, layers, lr, weightDecay, clip, clipOn, init, window, burnIn, samples, probes, k0, kmin, kmax, evals };
        estimator.AddFitTo(cmd);
        cmd.SetAction(r => CliErrors.Run(() => Execute(new CopySettings
        {
            M = r.GetValue(m), MMin = r.GetValue(mMin), Fixed = r.GetValue(fixedK)!, Adaptive = r.GetValue(adaptive)!, Epochs = r.GetValue(epochs),
            Seeds = r.GetValue(seeds)!, Output = r.GetValue(output)!, Batch = r.GetValue(batch), TrainSteps = r.GetValue(trainSteps),
            EvalSteps = r.GetValue(evalSteps), Hidden = r.GetValue(hidden), Layers = r.GetValue(layers), LearningRate = r.GetValue(lr),
            WeightDecay = r.GetValue(weightDecay), Clip = r.GetValue(clip), ClipOn = r.GetValue(clipOn)!, Init = r.GetValue(init)!,
            Window = r.GetValue(window), BurnIn = r.GetValue(burnIn), Samples = r.GetValue(samples), Estimator = estimator.ReadFit(r),
            Probes = r.GetValue(probes), K0 = r.GetValue(k0), KMin = r.GetValue(kmin), KMax = r.GetValue(kmax), EvaluationsPerEpoch = r.GetValue(evals),
        })));
        return cmd;
    }

    /// <summary>Runs the comparison and prints its table; returns the exit code.</summary>
    public static int Execute(CopySettings c)
    {
        var task = new CopyTask(c.M, c.MMin);
        var init = c.Init.ToLowerInvariant() switch
        {
            "scaled-uniform" => InitScheme.ScaledUniform, "pytorch" => InitScheme.PyTorch,
            var i => throw new UserInputException($"--init: '{i}' is not one of scaled-uniform, pytorch."),
        };
        bool clipSummed = c.ClipOn.ToLowerInvariant() switch
        {
            "sum" => true, "mean" => false,
            var x => throw new UserInputException($"--clip-on: '{x}' is not one of sum, mean."),
        };
        var runs = Opt.ParseInts(c.Fixed, "--fixed").Select(RunSpec.Fixed)
            .Concat(Opt.ParseDoubles(c.Adaptive, "--adaptive").Select(RunSpec.Adaptive)).ToList();
        if (runs.Count == 0) throw new UserInputException("give at least one --fixed K or --adaptive δ.");
        var options = new ComparisonOptions
        {
            Model = new ModelConfig
            {
                Cell = CellKind.Lstm, Layers = c.Layers, Input = InputKind.Tokens, InputSize = CopyTask.Symbols,
                EmbedSize = c.Hidden, HiddenSize = c.Hidden, OutputSize = CopyTask.Symbols,
            },
            Init = init,
            Trainer = new TrainerOptions
            {
                Optimizer = "sgd", LearningRate = c.LearningRate, WeightDecay = c.WeightDecay, Clip = c.Clip,
                ClipSummedLoss = clipSummed,
                Epochs = c.Epochs, EvaluationsPerEpoch = c.EvaluationsPerEpoch,
            },
            Adaptive = new AdaptiveOptions { K0 = c.K0, KMin = c.KMin, KMax = c.KMax, Probes = c.Probes, Estimator = c.Estimator },
            Probe = new ProbeOptions { Window = c.Window, BurnIn = c.BurnIn, Samples = c.Samples },
            Runs = runs,
            Seeds = Opt.ParseInts(c.Seeds, "--seeds"),
            OutputDirectory = c.Output,
            Metric = "ppl",
            Description = string.Create(CultureInfo.InvariantCulture,
                $"Copy task, m = {(task.VariableLength ? $"[{task.MMin}, {task.M}]" : task.M.ToString(CultureInfo.InvariantCulture))}: LSTM {c.Layers}×{c.Hidden}, batch {c.Batch}, {c.TrainSteps} train / {c.EvalSteps} eval steps per column, {c.Epochs} epochs, SGD lr {c.LearningRate}·√K, clip {c.Clip} on the window's {(clipSummed ? "summed" : "mean")} loss, {(init == InitScheme.PyTorch ? "pytorch" : "scaled-uniform")} init; adaptive: K0 {c.K0}, W {c.Window}, P {c.Probes}, S {c.Samples}, {(c.Estimator.Cumulative == BiasEstimation.CumulativeNorm.Exact ? "exact" : "approximate")} C_K; timing-only reference PPL {task.ReferencePerplexity:F3}."),
        };
        options.Adaptive.Validate();
        options.Adaptive.Estimator.Validate(c.Window); // before any training: a bad --tau must not cost a run
        options.Probe.Validate();
        using var cancel = Interrupt.OnCtrlC();
        var results = Comparison.Run(options, seed =>
        {
            var s = task.GenerateSplits(seed, c.Batch, c.TrainSteps, c.EvalSteps);
            return (new TokenStream(s.Train.Inputs, s.Train.Targets, s.Train.Batch),
                new TokenStream(s.Valid.Inputs, s.Valid.Targets, s.Valid.Batch),
                new TokenStream(s.Test.Inputs, s.Test.Targets, s.Test.Batch));
        }, Console.Out, cancel.Token);
        Console.WriteLine();
        Console.Write(ComparisonReport.Table(options, results));
        Console.WriteLine($"wrote {options.OutputDirectory}: table.md, summary.json, runs/*.csv|json, *.svg");
        return cancel.IsCancellationRequested ? CliErrors.Interrupted : 0;
    }
}

/// <summary>The settings of a copy experiment; defaults are the paper's, but for the epochs (the paper ran 200).</summary>
public sealed record CopySettings
{
    public int M { get; init; } = 10;
    public int? MMin { get; init; }
    public string Fixed { get; init; } = "5,10,15,20,30";
    public string Adaptive { get; init; } = "0.9,0.5,0.1";
    public int Epochs { get; init; } = 10;
    public string Seeds { get; init; } = "1";
    public string Output { get; init; } = "runs/copy";
    public int Batch { get; init; } = 64;
    public int TrainSteps { get; init; } = 4000;
    public int EvalSteps { get; init; } = 1000;
    public int Hidden { get; init; } = 50;
    public int Layers { get; init; } = 2;
    public double LearningRate { get; init; } = 1.0;
    public double WeightDecay { get; init; } = 1e-5;
    public double Clip { get; init; } = 1.0;
    /// <summary>"sum" (the paper's code: the clip bounds the summed window loss's gradient) or "mean".</summary>
    public string ClipOn { get; init; } = "sum";
    /// <summary>"pytorch" or "scaled-uniform" (the paper's code).</summary>
    public string Init { get; init; } = "pytorch";
    public int Window { get; init; } = 100;
    /// <summary>Probe burn-in (the paper's copy script: 20 steps).</summary>
    public int BurnIn { get; init; } = 20;
    /// <summary>β method, τ, fit range and C_K of the adaptive runs' estimates. Default: exact C_K, as the paper's copy script.</summary>
    public BiasEstimation.BiasEstimatorOptions Estimator { get; init; } = new() { Cumulative = BiasEstimation.CumulativeNorm.Exact };
    public int Samples { get; init; } = 64;
    public int Probes { get; init; } = 5;
    public int K0 { get; init; } = 15;
    public int KMin { get; init; } = 2;
    public int KMax { get; init; } = 100;
    public int EvaluationsPerEpoch { get; init; } = 1;
}
