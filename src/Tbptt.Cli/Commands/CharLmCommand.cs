using System.CommandLine;
using System.Globalization;
using Tbptt.LanguageModel;
using Tbptt.LanguageModel.Experiments;
using Tbptt.LanguageModel.Text;
using Tbptt.Probes;
using Tbptt.Training;
using Tbptt.Truncation;

namespace Tbptt.Cli.Commands;

/// <summary><c>tbptt charlm</c>: train, evaluate, sample and compare truncations for character language models.</summary>
public static class CharLmCommand
{
    public static Command Create()
    {
        var cmd = new Command("charlm", "Character language models: train, eval, sample, compare (fixed K against adaptive δ).");
        cmd.Subcommands.Add(Train());
        cmd.Subcommands.Add(Eval());
        cmd.Subcommands.Add(SampleCommand());
        cmd.Subcommands.Add(Compare());
        return cmd;
    }

    /// <summary>The model and optimizer options shared by train and compare.</summary>
    private sealed class ModelOptions
    {
        public Option<string> Cell = Opt.WithDefault("--cell", "Recurrent cell: lstm, gru or elman.", "lstm");
        public Option<int> Layers = Opt.WithDefault("--layers", "Recurrent layers.", 2);
        public Option<int> Hidden = Opt.WithDefault("--hidden", "Units per layer.", 512);
        public Option<int> Embed = Opt.WithDefault("--embed", "Embedding width.", 64);
        public Option<double> Dropout = Opt.WithDefault("--dropout", "Dropout on embeddings, between layers and before the decoder.", 0.2);
        public Option<bool> Tied = Opt.WithDefault("--tied", "Tie decoder.weight to embedding.weight (needs embed = hidden).", false);
        public Option<string> Optimizer = Opt.WithDefault("--optimizer", "sgd or adam.", "adam");
        public Option<double?> Lr = Opt.Optional<double?>("--lr", "Step size (default: 0.002 for adam, 1.0 for sgd).");
        public Option<double> Clip = Opt.WithDefault("--clip", "Global gradient-norm clip (0: off).", 5.0);
        public Option<double> WeightDecay = Opt.WithDefault("--weight-decay", "L2 weight decay.", 0.0);
        public Option<int> Batch = Opt.WithDefault("--batch", "Batch columns B.", 32);
        public Option<int> Window = Opt.WithDefault("--window", "Probe window W (adaptive).", 400);
        public Option<int> Samples = Opt.WithDefault("--samples", "Probe samples S.", 64);
        public Option<int> Probes = Opt.WithDefault("--probes", "Probes per re-estimate P.", 5);
        public Option<int> KMin = Opt.WithDefault("--kmin", "Smallest adaptive K.", 10);
        public Option<int> KMax = Opt.WithDefault("--kmax", "Largest adaptive K.", 300);
        public Option<long> Seed = Opt.WithDefault("--seed", "Seed of weights, dropout and probes.", 1L);
        public Option<int> Evals = Opt.WithDefault("--evals-per-epoch", "Validation rounds per epoch (also when K is re-estimated).", 4);

        public Option<int?> BurnIn = Opt.Optional<int?>("--burnin", "Probe burn-in steps (default W/10).");

        /// <param name="single">A single run (train) takes --seed; compare takes --seeds instead.</param>
        public void AddTo(Command c, bool single)
        {
            foreach (var o in new Option[] { Cell, Layers, Hidden, Embed, Dropout, Tied, Optimizer, Lr, Clip, WeightDecay, Batch, Window, BurnIn, Samples, Probes, KMin, KMax, Evals })
                c.Options.Add(o);
            if (single) c.Options.Add(Seed);
        }

        public double LearningRate(ParseResult r) => r.GetValue(Lr) ?? (r.GetValue(Optimizer) == "sgd" ? 1.0 : 2e-3);
    }

    private static Command Train()
    {
        var m = new ModelOptions();
        var corpus = Opt.Required<string>("--corpus", "A UTF-8 text file (split 90/5/5) or a folder with train.txt, valid.txt, test.txt.");
        var k = Opt.WithDefault("--k", "Fixed truncation k1.", 50);
        var k2 = Opt.Optional<int?>("--k2", "Fixed k2 (default k1: the chunked form).");
        var adaptive = Opt.WithDefault("--adaptive", "Choose K adaptively from the tolerated bias δ.", false);
        var delta = Opt.WithDefault("--delta", "δ for --adaptive.", 0.1);
        var k0 = Opt.WithDefault("--k0", "First K of an adaptive run.", 50);
        var epochs = Opt.Optional<int?>("--epochs", "Passes over the training split (default 1; with --minutes, as many as fit).");
        var minutes = Opt.Optional<double?>("--minutes", "Stop after this many minutes (and after --epochs, when both are given).");
        var output = Opt.Required<string>("--out", "Output folder (model, checkpoint, metrics, plots).");
        var resume = Opt.WithDefault("--resume", "Continue the run in --out from its checkpoint.", false);
        var cmd = new Command("train", "Train a character model with fixed TBPTT(k1, k2) or adaptive TBPTT; Ctrl-C stops and keeps a resumable checkpoint.")
            { corpus, k, k2, adaptive, delta, k0, epochs, minutes, output, resume };
        m.AddTo(cmd, single: true);
        cmd.SetAction(r => CliErrors.Run(() =>
        {
            var options = new CharLmOptions
            {
                Corpus = r.GetValue(corpus)!, OutputDirectory = r.GetValue(output)!, Cell = r.GetValue(m.Cell)!, Layers = r.GetValue(m.Layers),
                Hidden = r.GetValue(m.Hidden), Embed = r.GetValue(m.Embed), Dropout = r.GetValue(m.Dropout), Tied = r.GetValue(m.Tied),
                K = r.GetValue(k), K2 = r.GetValue(k2), Adaptive = r.GetValue(adaptive), Delta = r.GetValue(delta), K0 = r.GetValue(k0),
                KMin = r.GetValue(m.KMin), KMax = r.GetValue(m.KMax), Window = r.GetValue(m.Window), BurnIn = r.GetValue(m.BurnIn), Samples = r.GetValue(m.Samples),
                Probes = r.GetValue(m.Probes), Optimizer = r.GetValue(m.Optimizer)!, LearningRate = m.LearningRate(r), Clip = r.GetValue(m.Clip),
                WeightDecay = r.GetValue(m.WeightDecay), Batch = r.GetValue(m.Batch), Minutes = r.GetValue(minutes),
                Epochs = r.GetValue(epochs) ?? (r.GetValue(minutes) is null ? 1 : 1_000_000),
                EvaluationsPerEpoch = r.GetValue(m.Evals), Seed = r.GetValue(m.Seed), ScaleBySqrtK = r.GetValue(m.Optimizer) == "sgd",
            };
            using var cancel = Interrupt.OnCtrlC();
            var summary = CharLmRun.Train(options, r.GetValue(resume), Console.Out, cancel.Token);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"best valid {summary.BestValidBitsPerToken:F3} bits/char (test {summary.TestBitsPerTokenAtBest:F3}), {summary.Updates} updates, final K {summary.FinalK}; wrote {options.OutputDirectory}"));
            return summary.Interrupted ? CliErrors.Interrupted : 0;
        }));
        return cmd;
    }

    private static Command Eval()
    {
        var model = Opt.Required<string>("--model", "Model file (.safetensors).");
        var corpus = Opt.Required<string>("--corpus", "Corpus file or folder.");
        var split = Opt.WithDefault("--split", "train, valid or test.", "test");
        var batch = Opt.WithDefault("--batch", "Columns evaluated in parallel (the state is carried within each).", 10);
        var cmd = new Command("eval", "Loss, bits per character and perplexity of a model on a corpus split.") { model, corpus, split, batch };
        cmd.SetAction(r => CliErrors.Run(() =>
        {
            var (m, vocab, _) = ModelFiles.LoadCharModel(r.GetValue(model)!);
            var c = Corpus.Load(r.GetValue(corpus)!, vocabulary: vocab);
            string s = r.GetValue(split)!;
            if (!Corpus.SplitNames.Contains(s)) throw new UserInputException($"--split: '{s}' is not train, valid or test.");
            var (loss, chars, unknown) = CharLmRun.Evaluate(m, c, s, r.GetValue(batch));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{s}: {chars:N0} characters ({unknown} unknown), loss {loss:F4} nats/char, {loss / Math.Log(2):F4} bits/char, perplexity {Math.Exp(loss):F3}"));
            return 0;
        }));
        return cmd;
    }

    private static Command SampleCommand()
    {
        var model = Opt.Required<string>("--model", "Model file (.safetensors).");
        var prime = Opt.WithDefault("--prime", "Text to start from.", "");
        var length = Opt.WithDefault("--length", "Characters to generate.", 500);
        var temperature = Opt.WithDefault("--temperature", "Softmax temperature (lower: more conservative).", 0.8);
        var topK = Opt.WithDefault("--top-k", "Sample among the k most likely characters (0: all).", 0);
        var seed = Opt.WithDefault("--seed", "Seed of the draws.", 1L);
        var cmd = new Command("sample", "Generate text from a character model.") { model, prime, length, temperature, topK, seed };
        cmd.SetAction(r => CliErrors.Run(() =>
        {
            var (m, vocab, _) = ModelFiles.LoadCharModel(r.GetValue(model)!);
            string p = r.GetValue(prime)!;
            try { vocab.Encode(p); }
            catch (FormatException e) { throw new UserInputException($"--prime: {e.Message}"); }
            Console.WriteLine(CharSampler.Sample(m, vocab, p, r.GetValue(length), r.GetValue(temperature), r.GetValue(topK), r.GetValue(seed)));
            return 0;
        }));
        return cmd;
    }

    private static Command Compare()
    {
        var m = new ModelOptions();
        var corpus = Opt.Required<string>("--corpus", "Corpus file or folder.");
        var fixedK = Opt.WithDefault("--fixed", "Fixed K values, comma-separated (TBPTT(K, 2K−1)).", "10,50,100,200");
        var adaptive = Opt.WithDefault("--adaptive", "Adaptive δ values, comma-separated.", "0.9,0.5,0.1");
        var compute = Opt.WithDefault("--compute-per-run", "Budget of every run in millions of tokens of compute (forward + backward steps × batch, probes included).", 20.0);
        var minutes = Opt.Optional<double?>("--minutes-per-run", "Wall-time budget per run instead (compute budgets compare fairer).");
        var seeds = Opt.WithDefault("--seeds", "Seeds, comma-separated.", "1");
        var k0 = Opt.WithDefault("--k0", "First K of adaptive runs.", 50);
        var output = Opt.Required<string>("--out", "Output folder.");
        var cmd = new Command("compare", "The paper's Table C.2 experiment on characters: fixed K against adaptive δ at equal compute.")
            { corpus, fixedK, adaptive, compute, minutes, seeds, k0, output };
        m.AddTo(cmd, single: false);
        cmd.SetAction(r => CliErrors.Run(() =>
        {
            var c = Corpus.Load(r.GetValue(corpus)!);
            Console.WriteLine(c.Describe());
            var seedList = Opt.ParseInts(r.GetValue(seeds)!, "--seeds");
            var probe = new ProbeOptions { Window = r.GetValue(m.Window), BurnIn = r.GetValue(m.BurnIn), Samples = r.GetValue(m.Samples) };
            c.EnsureSteps("train", r.GetValue(m.Batch), probe.Window + probe.EffectiveBurnIn);
            bool sgd = r.GetValue(m.Optimizer) == "sgd";
            var baseOptions = new CharLmOptions { Corpus = "", OutputDirectory = "", Cell = r.GetValue(m.Cell)!, Layers = r.GetValue(m.Layers), Hidden = r.GetValue(m.Hidden),
                Embed = r.GetValue(m.Embed), Dropout = r.GetValue(m.Dropout), Tied = r.GetValue(m.Tied) };
            double? mins = r.GetValue(minutes);
            var options = new ComparisonOptions
            {
                Model = baseOptions.ModelConfig(c.Vocabulary.Count),
                Trainer = new TrainerOptions
                {
                    Optimizer = r.GetValue(m.Optimizer)!, LearningRate = m.LearningRate(r), Clip = r.GetValue(m.Clip), WeightDecay = r.GetValue(m.WeightDecay),
                    Epochs = 1_000_000, EvaluationsPerEpoch = r.GetValue(m.Evals), MaxProbeShare = 0.1,
                    ComputeBudget = mins is null ? (long)(r.GetValue(compute) * 1e6) : null,
                    TimeLimit = mins is { } t ? TimeSpan.FromMinutes(t) : null,
                },
                Adaptive = new AdaptiveOptions { K0 = r.GetValue(k0), KMin = r.GetValue(m.KMin), KMax = r.GetValue(m.KMax), Probes = r.GetValue(m.Probes), ScaleBySqrtK = sgd },
                Probe = probe,
                Runs = Opt.ParseInts(r.GetValue(fixedK)!, "--fixed").Select(RunSpec.Fixed).Concat(Opt.ParseDoubles(r.GetValue(adaptive)!, "--adaptive").Select(RunSpec.Adaptive)).ToList(),
                Seeds = seedList,
                OutputDirectory = r.GetValue(output)!,
                Metric = "bits",
                Description = string.Create(CultureInfo.InvariantCulture,
                    $"Character LM on {Path.GetFileName(r.GetValue(corpus))}: {r.GetValue(m.Cell)} {r.GetValue(m.Layers)}×{r.GetValue(m.Hidden)}, embed {r.GetValue(m.Embed)}, batch {r.GetValue(m.Batch)}, {r.GetValue(m.Optimizer)} lr {m.LearningRate(r)}, budget {(mins is null ? $"{r.GetValue(compute)} M tokens of compute" : $"{mins} min")} per run."),
            };
            var train = TokenStream.NextToken(Batchify.Columns(c.Train, r.GetValue(m.Batch), out _), r.GetValue(m.Batch));
            var valid = TokenStream.NextToken(Batchify.Columns(c.Valid, 10, out _), 10);
            var test = TokenStream.NextToken(Batchify.Columns(c.Test, 10, out _), 10);
            using var cancel = Interrupt.OnCtrlC();
            var results = Comparison.Run(options, _ => (train, valid, test), Console.Out, cancel.Token);
            Console.WriteLine();
            Console.Write(ComparisonReport.Table(options, results));
            Console.WriteLine($"wrote {options.OutputDirectory}: table.md, summary.json, runs/*.csv|json, *.svg");
            return cancel.IsCancellationRequested ? CliErrors.Interrupted : 0;
        }));
        return cmd;
    }
}
