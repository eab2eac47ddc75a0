using System.CommandLine;
using Tbptt.Checkpoints;
using Tbptt.LanguageModel.Text;
using Tbptt.Models;

namespace Tbptt.Cli.Commands;

/// <summary><c>tbptt init</c>: a character model with PyTorch's default initialisation, saved as safetensors.</summary>
public static class InitCommand
{
    public static Command Create()
    {
        var cell = Opt.WithDefault("--cell", "Recurrent cell: lstm, gru or elman.", "lstm");
        var nonlinearity = Opt.WithDefault("--nonlinearity", "Elman non-linearity: tanh, relu or identity.", "tanh");
        var vocabFrom = Opt.Required<string>("--vocab-from", "Text file whose sorted distinct characters form the vocabulary.");
        var embed = Opt.WithDefault("--embed", "Embedding width E.", 64);
        var hidden = Opt.WithDefault("--hidden", "Hidden units per layer H.", 128);
        var layers = Opt.WithDefault("--layers", "Stacked recurrent layers L.", 1);
        var seed = Opt.WithDefault("--seed", "Seed of the initialisation.", 1);
        var tied = Opt.WithDefault("--tied", "Tie decoder.weight to embedding.weight (needs E = H).", false);
        var output = Opt.Required<string>("--out", "Model file to write (.safetensors).");
        var cmd = new Command("init", "Create a character model (embedding → RNN → linear decoder) and save it as safetensors.")
            { cell, nonlinearity, vocabFrom, embed, hidden, layers, seed, tied, output };
        cmd.SetAction(r => CliErrors.Run(() =>
        {
            var vocab = Vocabulary.FromText(TextFiles.ReadUtf8(r.GetValue(vocabFrom)!));
            if (vocab.Count < 2) throw new UserInputException($"{r.GetValue(vocabFrom)}: a vocabulary needs at least 2 distinct characters, the file has {vocab.Count}.");
            var config = new ModelConfig
            {
                Cell = ParseCell(r.GetValue(cell)!), Nonlinearity = ParseNonlinearity(r.GetValue(nonlinearity)!),
                Layers = r.GetValue(layers), Input = InputKind.Tokens, InputSize = vocab.Count,
                EmbedSize = r.GetValue(embed), HiddenSize = r.GetValue(hidden), OutputSize = vocab.Count,
                TieWeights = r.GetValue(tied),
            };
            var model = SequenceModel<float>.Create(config, r.GetValue(seed));
            string path = r.GetValue(output)!;
            ModelCheckpoint.Save(path, model, CharModelMetadata(vocab));
            Console.WriteLine($"wrote {path}: {config.Cell.ToString().ToLowerInvariant()} {config.Layers}×{config.HiddenSize}, embed {config.EmbedSize}, vocabulary {vocab.Count}, {model.Parameters.Length:N0} parameters");
            return 0;
        }));
        return cmd;
    }

    public static Dictionary<string, string> CharModelMetadata(Vocabulary vocab) =>
        new() { ["vocab"] = vocab.Symbols, ["dropout"] = "0" };

    public static CellKind ParseCell(string text) => text.ToLowerInvariant() switch
    {
        "lstm" => CellKind.Lstm, "gru" => CellKind.Gru, "elman" or "rnn" => CellKind.Elman,
        _ => throw new UserInputException($"--cell: '{text}' is not a cell (lstm, gru, elman)."),
    };

    public static Nonlinearity ParseNonlinearity(string text) => text.ToLowerInvariant() switch
    {
        "tanh" => Nonlinearity.Tanh, "relu" => Nonlinearity.Relu, "identity" => Nonlinearity.Identity,
        _ => throw new UserInputException($"--nonlinearity: '{text}' is not one of tanh, relu, identity."),
    };
}
