using System.Diagnostics;
using System.Globalization;
using Tbptt.Models;
using Tbptt.Training;
using Tbptt.Truncation;

namespace Tbptt.Benchmarks;

/// <summary>
/// Issue 13's cost ratios, measured in one process with the two sides interleaved (not BenchmarkDotNet: each side
/// is seconds long, and on a shared machine only alternation makes two numbers comparable). <c>ttq eval</c>: the
/// seconds per character of evaluation against those of training on the character model; <c>ttq train</c>
/// (<see cref="TrainLoop"/>), <c>ttq probe</c> (<see cref="ProbeShare"/>), <c>ttq checkpoint</c> and <c>ttq pack</c>
/// (<see cref="GemmRows"/>) the rest. How to run them and what they measured: benchmarks/README.md.
/// </summary>
public static class TimeToQuality
{
    private static readonly LanguageModel.Runs.RunOptions Train = LanguageModel.Runs.RunDefaults.CharLm;

    public static int Run(string[] args)
    {
        string what = args.Length > 1 ? args[1] : "eval";
        int reps = Arg(args, "--reps", 5);
        return what switch
        {
            // Defaults: charlm train's model and evaluation round (validation alone), beside the 10 cold columns used before.
            "eval" => Eval(reps, Arg(args, "--hidden", Train.Model.Hidden), Arg(args, "--layers", Train.Model.Layers), Arg(args, "--updates", 4),
                Arg(args, "--dropout-percent", (int)Math.Round(Train.Model.Dropout * 100)) / 100.0,
                Arg(args, "--widths", $"10:0,{Train.Corpus!.EvalBatch}:{Train.Corpus.EvalContext}")!, Arg(args, "--streams", 1)),
            "train" => TrainLoop.Run(reps, Arg(args, "--seconds", 40), args.SkipWhile(a => a != "--corpus").Skip(1).FirstOrDefault() ?? "datasets/tinyshakespeare/input.txt"),
            "checkpoint" => CheckpointCost.Run(reps),
            "pack" => GemmRows.Run(args),
            "probe" => ProbeShare.Run(reps, Arg(args, "--epochs", 3), args.Contains("--sequential-only")),
            _ => Usage(),
        };
    }

    private static int Usage()
    {
        Console.Error.WriteLine("""
            usage: Tbptt.Benchmarks ttq eval [--reps N] [--hidden H] [--layers L] [--updates U] [--dropout-percent P] [--widths COLUMNS:CONTEXT[:LANES[:TABLE]],…] [--streams 1|2]
                   Tbptt.Benchmarks ttq train [--reps N] [--seconds S] [--corpus PATH]
                   Tbptt.Benchmarks ttq probe [--reps N] [--epochs E] [--sequential-only]
                   Tbptt.Benchmarks ttq checkpoint [--reps N]
                   Tbptt.Benchmarks ttq pack
            """);
        return 2;
    }

    private static int Arg(string[] args, string name, int fallback) =>
        Arg(args, name, (string?)null) is { } text ? int.Parse(text, CultureInfo.InvariantCulture) : fallback;

    private static string? Arg(string[] args, string name, string? fallback)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
    }

    /// <summary>The character model: LSTM, embedding 64, vocabulary 65.</summary>
    private static SequenceModel<float> CharModel(int hidden, int layers, double dropout) => SequenceModel<float>.Create(new ModelConfig
    {
        Cell = CellKind.Lstm, Layers = layers, Input = InputKind.Tokens, InputSize = 65, EmbedSize = 64, HiddenSize = hidden,
        OutputSize = 65, Loss = LossKind.CrossEntropy, Dropout = dropout,
    }, seed: 1);

    /// <summary>Seeded random characters.</summary>
    private static int[] Text(int characters, int seed)
    {
        var rng = new Random(seed);
        var data = new int[characters];
        for (int i = 0; i < data.Length; i++) data[i] = rng.Next(65);
        return data;
    }

    /// <summary>Seeded random characters as a next-token stream of <paramref name="columns"/> columns.</summary>
    private static TokenStream Stream(int characters, int columns, int seed) =>
        TokenStream.NextToken(LanguageModel.Text.Batchify.Columns(Text(characters, seed), columns, out _), columns);

    internal static double Median(List<double> xs)
    {
        var s = xs.Order().ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
    }

    /// <summary>The evaluation the trainer shipped before issue 13's point 2: one stream at a time on a training tape (chunks of 200 steps).</summary>
    private static double TapeLoss(SequenceModel<float> model, TokenStream stream)
    {
        int chunk = Math.Min(200, stream.Steps), b = stream.Batch;
        var tape = new Engine.StackTape<float>(model, b, chunk) { Training = false };
        double sum = 0;
        for (int t = 0; t < stream.Steps; t += chunk)
        {
            int n = Math.Min(chunk, stream.Steps - t);
            tape.Append(n, stream.Inputs.Slice(t * b, n * b), default);
            sum += tape.EvaluateLoss(n, stream.Targets.Slice(t * b, n * b));
            tape.Retain(0);
        }
        return sum / ((double)stream.Steps * b);
    }

    /// <param name="widths">Evaluation set-ups "columns:context" (context: unscored warm-up characters before each
    /// column after the first, <see cref="LanguageModel.Text.Batchify.EvaluationStream"/>), timed side by side.</param>
    /// <param name="streams">1: the validation split alone, as a trainer's evaluation round; 2: validation and test side
    /// by side in one batch, as rounds were before the test moved to the end of the run.</param>
    private static int Eval(int reps, int hidden, int layers, int updates, double dropout, string widths, int streams)
    {
        if (streams is not (1 or 2)) return Usage();
        var model = CharModel(hidden, layers, dropout);
        // charlm train's shapes: batch 32, TBPTT(100, 100); validation and test of tiny-Shakespeare's size (55,770 characters each).
        var train = Stream(200_000, 32, 1);
        var setups = widths.Split(',').Select(w => w.Split(':')).Select(w => (Columns: int.Parse(w[0], CultureInfo.InvariantCulture),
            Context: w.Length > 1 ? int.Parse(w[1], CultureInfo.InvariantCulture) : 0,
            Lanes: w.Length > 2 ? int.Parse(w[2], CultureInfo.InvariantCulture) : 0,
            Table: w.Length <= 3 || w[3] != "0")).ToArray();
        var text = Text(55_770, 2);
        var testText = Text(55_770, 3);
        var evaluators = setups.Select(s => new Evaluator(model, new[] { text, testText }.Take(streams)
            .Select(t => LanguageModel.Text.Batchify.EvaluationStream(t, s.Columns, s.Context)).ToArray(), 200, s.Lanes, s.Table)).ToArray();
        string Label(int s) => $"{setups[s].Columns}:{setups[s].Context}:{evaluators[s].Lanes}:{(evaluators[s].UsesTokenTable ? 1 : 0)}";
        // The evaluation the trainer shipped before issue 13's point 2, at the first set-up's columns (no context).
        TokenStream valid = TokenStream.NextToken(LanguageModel.Text.Batchify.Columns(text, setups[0].Columns, out _), setups[0].Columns),
            test = TokenStream.NextToken(LanguageModel.Text.Batchify.Columns(testText, setups[0].Columns, out _), setups[0].Columns);
        var trainer = new Trainer(model, new TrainerOptions { Optimizer = "adam", LearningRate = 2e-3, WeightDecay = 0, Clip = 5, Epochs = int.MaxValue },
            train, valid, test) { Policy = new FixedTruncation(100, 100) };
        trainer.TrainStep();
        foreach (var e in evaluators) e.MeanLosses();
        var repLosses = new double[setups.Length][];
        var trainPerChar = new List<double>();
        var oldPerChar = new List<double>();
        var perChar = setups.Select(_ => new List<double>()).ToArray();
        // Characters scored, the same for every set-up up to the columns' remainders: the cost of a context is in the time.
        long Scored(int columns) => streams * (55_770L / columns - 1) * columns;
        for (int r = 0; r < reps; r++)
        {
            long t0 = Stopwatch.GetTimestamp();
            for (int i = 0; i < updates; i++) trainer.TrainStep();
            trainPerChar.Add(Stopwatch.GetElapsedTime(t0).TotalSeconds / (updates * 100.0 * 32));
            t0 = Stopwatch.GetTimestamp();
            double v0 = TapeLoss(model, valid), t0Loss = streams == 2 ? TapeLoss(model, test) : double.NaN;
            oldPerChar.Add(Stopwatch.GetElapsedTime(t0).TotalSeconds / Scored(setups[0].Columns));
            var line = new System.Text.StringBuilder(string.Create(CultureInfo.InvariantCulture,
                $"rep {r + 1}: train {1 / trainPerChar[^1]:F0} chars/s; evaluation: tape one stream at a time {1 / oldPerChar[^1]:F0} chars/s (ratio {oldPerChar[^1] / trainPerChar[^1]:F3})"));
            for (int s = 0; s < setups.Length; s++)
            {
                t0 = Stopwatch.GetTimestamp();
                var losses = repLosses[s] = evaluators[s].MeanLosses();
                perChar[s].Add(Stopwatch.GetElapsedTime(t0).TotalSeconds / Scored(setups[s].Columns));
                line.Append(string.Create(CultureInfo.InvariantCulture, $"; forward-only {Label(s)} {1 / perChar[s][^1]:F0} chars/s (ratio {perChar[s][^1] / trainPerChar[^1]:F3})"));
                if (s == 0 && setups[0].Context == 0) line.Append($", losses equal to the tape's: {v0 == losses[0] && (streams == 1 || t0Loss == losses[1])}");
                // Lanes and the token table are speed only: the same columns and context give the same losses.
                int same = Array.FindIndex(setups, u => u.Columns == setups[s].Columns && u.Context == setups[s].Context);
                if (same < s) line.Append($", losses equal to {Label(same)}'s: {losses.SequenceEqual(repLosses[same])}");
            }
            Console.Error.WriteLine(line);
        }
        double tr = Median(trainPerChar), ol = Median(oldPerChar);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"LSTM {layers}×{hidden}, dropout {dropout}, {Environment.ProcessorCount} cores, {DateTime.UtcNow:yyyy-MM-ddTHH:mmZ}, BLAS {Numerics.Blas.Active.Name}, load {File.ReadAllText("/proc/loadavg").Trim()}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"medians of {reps}: training {1 / tr:F0} chars/s; evaluation, tape one stream at a time {1 / ol:F0} chars/s = {ol / tr:F3} of training per character"));
        for (int s = 0; s < setups.Length; s++)
        {
            double ne = Median(perChar[s]);
            // The host's speed can drift between reps with no steal to show: each rep's own ratio (training and
            // evaluation back to back) is the steadier number, so its median is printed too.
            double perRep = Median(perChar[s].Zip(trainPerChar, (e, t) => e / t).ToList());
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  forward-only, {(streams == 2 ? "valid + test side by side" : "valid alone")} at {setups[s].Columns} columns{(streams == 2 ? " each" : "")}, context {setups[s].Context}, {evaluators[s].Lanes} lane(s), token table {(evaluators[s].UsesTokenTable ? "on" : "off")}: {1 / ne:F0} chars/s = {ne / tr:F3} of training per character (median of the reps' ratios {perRep:F3})"));
        }
        return 0;
    }
}

/// <summary><c>ttq pack</c>: a recurrent product (h·W_hhᵀ, W_hh 2048 × 512) by rows, the weight packed by every product
/// against packed once (<c>PackedOperand</c>), interleaved; medians of 31 rounds.</summary>
public static class GemmRows
{
    public static int Run(string[] args)
    {
        var rng = new Random(1);
        int n = 2048, k = 512;
        var w = new float[n * k];
        for (int i = 0; i < w.Length; i++) w[i] = (float)rng.NextDouble();
        var packed = new Numerics.PackedOperand<float>();
        Numerics.Blas.Pack(true, k, n, w, k, packed);
        foreach (int m in new[] { 10, 20, 32, 64, 200 })
        {
            var a = new float[m * k];
            var c = new float[m * n];
            for (int i = 0; i < a.Length; i++) a[i] = (float)rng.NextDouble();
            var plain = new List<double>();
            var pre = new List<double>();
            int reps = Math.Max(1, 2000 / m);
            for (int r = 0; r < 31; r++)
            {
                long t0 = Stopwatch.GetTimestamp();
                for (int i = 0; i < reps; i++) Numerics.Blas.Gemm(false, true, m, n, k, 1f, a, k, w, k, 1f, c, n);
                plain.Add(Stopwatch.GetElapsedTime(t0).TotalSeconds / reps);
                t0 = Stopwatch.GetTimestamp();
                for (int i = 0; i < reps; i++) Numerics.Blas.Gemm(false, m, 1f, a, k, packed, 1f, c, n);
                pre.Add(Stopwatch.GetElapsedTime(t0).TotalSeconds / reps);
            }
            double tp = plain.Order().ElementAt(15), tq = pre.Order().ElementAt(15);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"M {m}: packed per product {tp * 1e3:F3} ms ({2.0 * m * n * k / tp / 1e9:F1} GFLOP/s), prepacked {tq * 1e3:F3} ms ({2.0 * m * n * k / tq / 1e9:F1} GFLOP/s)"));
        }
        return 0;
    }
}
