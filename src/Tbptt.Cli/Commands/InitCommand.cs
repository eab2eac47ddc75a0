using System.CommandLine;
using Tbptt.Checkpoints;
using Tbptt.LanguageModel.Text;
using Tbptt.Cli.Binders;
using Tbptt.LanguageModel.Runs;
using Tbptt.Models;

namespace Tbptt.Cli.Commands;

/// <summary><c>tbptt init</c>: a character model with PyTorch's default initialisation, saved as safetensors.</summary>
public static class InitCommand
{
    public static Command Create()
    {
        // The model's flags are the model concern's (as in charlm train), with smaller defaults for a file to inspect.
        var binder = new ModelBinder(new ModelOptions { Layers = 1, Hidden = 128, Embed = 64, Dropout = 0 });
        var vocabFrom = Opt.Required<string>("--vocab-from", "Text file whose sorted distinct characters form the vocabulary.");
        var seed = Opt.WithDefault("--seed", "Seed of the initialisation.", 1);
        var output = Opt.Required<string>("--out", "Model file to write (.safetensors).");
        var cmd = new Command("init", "Create a character model (embedding → RNN → linear decoder) and save it as safetensors.")
            { vocabFrom, seed, output };
        binder.AddTo(cmd);
        cmd.SetAction(r => CliErrors.Run(() =>
        {
            var options = binder.Read(r);
            options.Validate();
            var vocab = Vocabulary.FromText(TextFiles.ReadUtf8(r.GetValue(vocabFrom)!));
            if (vocab.Count < 2) throw new UserInputException($"{r.GetValue(vocabFrom)}: a vocabulary needs at least 2 distinct characters, the file has {vocab.Count}.");
            var config = options.ToConfig(vocab.Count);
            config.Validate();
            var model = SequenceModel<float>.Create(config, r.GetValue(seed), options.InitScheme);
            string path = r.GetValue(output)!;
            var meta = CharModelMetadata(vocab);
            meta["dropout"] = config.Dropout.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
            ModelCheckpoint.Save(path, model, meta);
            Console.WriteLine($"wrote {path}: {config.Cell.ToString().ToLowerInvariant()} {config.Layers}×{config.HiddenSize}, embed {config.EmbedSize}, vocabulary {vocab.Count}, {model.Parameters.Length:N0} parameters");
            return 0;
        }));
        return cmd;
    }

    public static Dictionary<string, string> CharModelMetadata(Vocabulary vocab) =>
        new() { ["vocab"] = vocab.Symbols, ["dropout"] = "0" };
}
