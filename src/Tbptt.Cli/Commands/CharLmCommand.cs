using System.CommandLine;
using System.Globalization;
using Tbptt.LanguageModel;
using Tbptt.Cli.Binders;
using Tbptt.LanguageModel.Runs;
using Tbptt.LanguageModel.Text;
using Tbptt.Numerics;
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

    private static Command Train()
    {
        var run = RunBinder.CharLmTrain();
        var output = Opt.Required<string>("--out", "Output folder (run.json, model, checkpoint, metrics, plots).");
        var resume = Opt.WithDefault("--resume", "Continue the run in --out from its checkpoint (only --epochs, --minutes and --compute can extend it).", false);
        var cmd = new Command("train", "Train a character model with fixed TBPTT(k1, k2) or adaptive TBPTT; Ctrl-C stops and keeps a resumable checkpoint.")
            { output, resume };
        run.AddTo(cmd);
        cmd.SetAction(r => CliErrors.Run(() => RunCommand.Train(run.Read(r), r.GetValue(output)!, r.GetValue(resume))));
        return cmd;
    }

    private static Command Eval()
    {
        var model = Opt.Required<string>("--model", "Model file (.safetensors).");
        var corpus = Opt.Required<string>("--corpus", "Corpus file or folder.");
        var split = Opt.WithDefault("--split", "train, valid or test.", "test");
        var d = RunDefaults.CharLm.Corpus!;
        var batch = Opt.Optional<int?>("--batch", $"Columns evaluated in parallel, the state carried within each (default: the run.json beside the model, as its run evaluated; else {d.EvalBatch}).");
        var context = Opt.Optional<int?>("--context", $"Unscored characters before each column after the first, to warm its state (default: the run.json beside the model; else {d.EvalContext}).");
        var precision = Opt.Optional<string>("--matmul-precision", Opt.MatmulPrecisionHelp + " Default: the run.json beside the model, its run's precision; else highest.");
        var cmd = new Command("eval", "Loss, bits per character and perplexity of a model on a corpus split.") { model, corpus, split, batch, context, precision };
        cmd.SetAction(r => CliErrors.Run(() =>
        {
            string modelPath = r.GetValue(model)!;
            var (m, vocab, _) = ModelFiles.LoadCharModel(modelPath);
            var c = Corpus.Load(r.GetValue(corpus)!, vocabulary: vocab);
            string s = r.GetValue(split)!;
            if (!Corpus.SplitNames.Contains(s)) throw new UserInputException($"--split: '{s}' is not train, valid or test.");
            // A model inside a run folder is evaluated as that run evaluated it, so the numbers match its summary.
            string runJson = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(modelPath))!, RunExecutor.OptionsFile);
            var run = (r.GetValue(batch) is null || r.GetValue(context) is null || r.GetValue(precision) is null) && File.Exists(runJson)
                ? RunOptions.Load(runJson) : null;
            int columns = r.GetValue(batch) ?? run?.Corpus?.EvalBatch ?? d.EvalBatch, warm = r.GetValue(context) ?? run?.Corpus?.EvalContext ?? d.EvalContext;
            string products = r.GetValue(precision) is { } given ? Opt.ParseMatmulPrecision(given) : run?.Training.MatmulPrecision ?? MatmulPrecision.Highest;
            if (columns < 1) throw new UserInputException($"--batch: {columns} must be at least 1.");
            if (warm < 0) throw new UserInputException($"--context: {warm} must be at least 0.");
            using var scope = Blas.UsePrecision(products);
            var (loss, chars, unknown) = CharLmRun.Evaluate(m, c, s, columns, warm);
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

    private static Command Compare() => SweepCommand.Comparison("compare",
        "The paper's Table C.2 experiment on characters: fixed K against adaptive δ at equal compute (a sweep run locally).",
        SweepBinder.CharLm());
}
