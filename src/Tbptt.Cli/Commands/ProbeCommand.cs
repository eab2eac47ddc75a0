using Tbptt.Cli.Binders;
using System.CommandLine;
using System.Globalization;
using System.Text;
using Tbptt.BiasEstimation;
using Tbptt.Checkpoints;
using Tbptt.LanguageModel.Experiments;
using Tbptt.LanguageModel.Runs;
using Tbptt.Models;
using Tbptt.Probes;

namespace Tbptt.Cli.Commands;

/// <summary>
/// <c>tbptt probe</c>: measures φ_k = ‖∂L_W/∂h_{W−k}‖ for a model on a text (docs §3) and writes the table that
/// <c>estimate-k</c> reads; with <c>--exact-bias</c> it also measures the true relative bias of truncating the
/// parameter gradient at each K — per sample (mean, spread) and of the samples' mean gradient — and prints it beside
/// the estimate δ̂(K) (<see cref="BiasStudy.Measure"/>). Samples come from a text, a run's own data or copy files.
/// </summary>
public static class ProbeCommand
{
    public static Command Create()
    {
        var model = Opt.Required<string>("--model", "Model file (.safetensors): a character model, a copy model or a run's snapshot.");
        var text = Opt.Optional<string?>("--text", "UTF-8 text the samples are drawn from (input x_t, target x_{t+1}); needs a model with a vocabulary.");
        var run = Opt.Optional<string?>("--run", "A run folder: sample the stream it trained on (its run.json: a corpus, copy files or the copy generator with its seed).");
        var data = Opt.Optional<string?>("--data", "A folder of copy data files (e.g. datasets/aicherc-copy/fixed), batched as tbptt copy batches them.");
        var split = Opt.WithDefault("--split", "With --run or --data: the split sampled (train, valid or test).", "train");
        var probeOptions = new ProbeBinder(new ProbeOptions()); // W, burn-in and S: the probe concern's flags
        var offsets = Opt.Optional<string?>("--offsets", "Comma-separated sample start offsets (default: random, seeded); sets S. In a stream of several columns offset o is step o % steps of column o / steps.");
        var seed = Opt.WithDefault("--seed", "Seed of the random offsets.", 1);
        var output = Opt.Required<string>("--out", "CSV of φ to write (one row per lag, one column per sample).");
        var meanOut = Opt.Optional<string?>("--mean-out", "Also write the per-lag mean gradient vectors ḡ_k (rows: lags, columns: state dimensions) for estimate-k --cumulative exact.");
        var exactBias = Opt.Optional<string?>("--exact-bias", "K grid, e.g. 1,2,5,10,20,50,100: measure the parameter-gradient bias ‖ĝ_K − ĝ_W‖/‖ĝ_W‖ per sample and of the samples' mean gradient and print it beside δ̂(K).");
        var biasOut = Opt.Optional<string?>("--bias-out", "With --exact-bias: also write the table (K, δ̂(K), measured biases with their spread over samples) as CSV, or JSON when the name ends in .json.");
        var est = new EstimatorBinder();
        var cmd = new Command("probe", "Measure the gradient-norm profile φ by lag of a model on a text or a run's data (and optionally the true truncation bias).")
            { model, text, run, data, split, offsets, seed, output, meanOut, exactBias, biasOut };
        probeOptions.AddTo(cmd);
        est.AddTo(cmd);
        cmd.SetAction(r => CliErrors.Run(() =>
        {
            string modelPath = r.GetValue(model)!;
            var read = probeOptions.Read(r);
            int w = read.Window;
            int[]? given = r.GetValue(offsets) is { } o ? Opt.ParseInts(o, "--offsets") : null;
            int[] grid = r.GetValue(exactBias) is { } g ? Opt.ParseInts(g, "--exact-bias").Where(k => k <= w).Distinct().Order().ToArray() : [];
            if (grid.Length > 0 && grid[0] < 1) throw new UserInputException($"--exact-bias: K = {grid[0]} must be at least 1.");
            if (r.GetValue(biasOut) is not null && grid.Length == 0) throw new UserInputException("--bias-out needs --exact-bias.");
            var options = read with { Samples = given?.Length ?? read.Samples };
            options.Validate();
            var stream = Stream(r.GetValue(text), r.GetValue(run), r.GetValue(data), r.GetValue(split)!, modelPath, options.EffectiveBurnIn + w + 1, out var m);
            var probe = new GradientProbe<float>(m, options);
            var starts = given ?? (stream.Columns == 1 ? probe.RandomOffsets(stream.Inputs.Length, new Random(r.GetValue(seed)))
                : BiasStudy.Offsets(options, stream.Columns, stream.Inputs.Length / stream.Columns, new Random(r.GetValue(seed))));
            var result = probe.Run(stream.Inputs, stream.Targets, stream.Columns, starts);
            WriteCsv(r.GetValue(output)!, result);
            if (r.GetValue(meanOut) is { } meanPath) WriteMeanCsv(meanPath, result);
            Console.WriteLine($"wrote {r.GetValue(output)}: φ for {w} lags × {options.Samples} samples (burn-in {options.EffectiveBurnIn})");
            if (grid.Length > 0)
            {
                var measured = BiasStudy.Measure(m, options, est.Read(r), grid, [], stream.Inputs, stream.Targets, stream.Columns, starts);
                PrintBias(measured);
                if (r.GetValue(biasOut) is { } path) WriteBias(path, measured);
            }
            return 0;
        }));
        return cmd;
    }

    /// <summary>The token stream a probe samples: a text (one column), a run's data or copy files (their columns).</summary>
    private sealed record TokenColumns(int[] Inputs, int[] Targets, int Columns);

    private static TokenColumns Stream(string? text, string? run, string? data, string split, string modelPath, int minimum, out SequenceModel<float> model)
    {
        if ((text is null ? 0 : 1) + (run is null ? 0 : 1) + (data is null ? 0 : 1) != 1)
            throw new UserInputException("give exactly one of --text, --run and --data: what the samples are drawn from.");
        if (text is not null)
        {
            var (m, vocab, _) = ModelFiles.LoadCharModel(modelPath);
            model = m;
            var tokens = ModelFiles.EncodeText(text, vocab, minimum);
            return new TokenColumns(tokens[..^1], tokens[1..], 1);
        }
        if (split is not ("train" or "valid" or "test")) throw new UserInputException($"--split: '{split}' is not train, valid or test.");
        var file = Safetensors.Read(modelPath);
        model = ModelCheckpoint.Load(file);
        RunOptions o;
        if (run is not null)
        {
            string json = Path.Combine(run, Tbptt.LanguageModel.Runs.RunExecutor.OptionsFile);
            if (!File.Exists(json)) throw new UserInputException($"--run: {json}: no such file (a run folder holds one).");
            o = RunOptions.Load(json);
        }
        else
        {
            if (!Directory.Exists(data)) throw new UserInputException($"--data: {data}: no such folder.");
            o = RunDefaults.Copy with { Copy = RunDefaults.Copy.Copy! with { Data = Path.GetFullPath(data!) } };
        }
        // A probe's windows may start anywhere in a column and every target in them must be scored: plain columns,
        // not the evaluation's warm ones (their context and padding are unscored).
        if (o.Corpus is { } corpus) o = o with { Corpus = corpus with { EvalContext = 0 } };
        var d = RunData.Build(o, file.Metadata.GetValueOrDefault("vocab"));
        var s = split == "train" ? d.Train : split == "valid" ? d.Valid : d.Test
            ?? throw new UserInputException("--split test: the data has no test split.");
        var c = model.Config;
        if (c.Input != InputKind.Tokens || c.Loss != LossKind.CrossEntropy || c.InputSize != d.Vocabulary || c.OutputSize != d.Vocabulary)
            throw new UserInputException($"{modelPath}: the model does not read this data: it needs a token model of {d.Vocabulary} symbols (it has {c.InputSize} in, {c.OutputSize} out).");
        if (s.Steps < minimum - 1) throw new UserInputException($"the {split} split has {s.Steps} steps per column; a probe sample needs burn-in + W = {minimum - 1}.");
        return new TokenColumns(s.Inputs.ToArray(), s.Targets.ToArray(), s.Batch);
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

    private static void PrintBias(BiasMeasurement m)
    {
        var inv = CultureInfo.InvariantCulture;
        Console.WriteLine(string.Create(inv, $"β̂ = {Math.Exp(m.LogBeta):F6} (log β̂ = {m.LogBeta:F6}), τ = {m.Tau}; measured over {m.Samples} samples"));
        Console.WriteLine("    K   measured ‖ĝ_K − ĝ_W‖/‖ĝ_W‖ (mean gradient)   estimated δ̂(K)   per sample: mean ± sd [10 %, median, 90 %]   state gradient");
        static string G(double v) => double.IsFinite(v) ? v.ToString("G4", CultureInfo.InvariantCulture) : "∞";
        foreach (var b in m.Rows)
            Console.WriteLine(string.Create(inv, $"{b.K,5}   {G(b.MeanGradientBias),43}   {G(b.DeltaHat),14}   {G(b.SampleMean) + " ± " + G(b.SampleStd),19} [{G(b.Q10)}, {G(b.Median)}, {G(b.Q90)}]   {G(b.StateBias)}"));
        Console.WriteLine("note: δ̂ bounds the bias of the state gradient; for parameter gradients the paper drops a constant M, so there it is an estimate, not a bound. All biases are relative to the W-step window's gradient.");
        foreach (var msg in m.Messages) Console.WriteLine($"note: {msg}");
    }

    /// <summary>The measured table as CSV (<see cref="BiasStudy.Columns"/>), or JSON when <paramref name="path"/> ends in .json.</summary>
    private static void WriteBias(string path, BiasMeasurement m)
    {
        if (path.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
            AtomicFile.WriteAllText(path, System.Text.Json.JsonSerializer.Serialize(new
            {
                logBeta = m.LogBeta, tau = m.Tau, window = m.Window, samples = m.Samples,
                rows = m.Rows.Select(b => new { k = b.K, deltaHat = Json(b.DeltaHat), stateBias = Json(b.StateBias), measuredMeanGradient = Json(b.MeanGradientBias),
                    measuredSampleMean = Json(b.SampleMean), measuredSampleStd = Json(b.SampleStd), measuredSampleQ10 = Json(b.Q10), measuredSampleMedian = Json(b.Median), measuredSampleQ90 = Json(b.Q90) }),
                messages = m.Messages,
            }, new System.Text.Json.JsonSerializerOptions { WriteIndented = true }) + "\n");
        else AtomicFile.WriteAllText(path, BiasStudy.Csv([m]));
        Console.WriteLine($"wrote {path}");
    }

    /// <summary>A double for JSON: null where it is not finite (an infinite δ̂).</summary>
    private static double? Json(double v) => double.IsFinite(v) ? v : null;
}
