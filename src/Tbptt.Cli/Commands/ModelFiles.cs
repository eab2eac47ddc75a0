using Tbptt.Checkpoints;
using Tbptt.LanguageModel.Text;
using Tbptt.Models;

namespace Tbptt.Cli.Commands;

/// <summary>Loading a character model and its text with the checks every command needs.</summary>
public static class ModelFiles
{
    public static (SequenceModel<float> Model, Vocabulary Vocab, SafetensorsFile File) LoadCharModel(string path)
    {
        var file = Safetensors.Read(path);
        var model = ModelCheckpoint.Load(file);
        var vocab = Vocabulary.FromSymbols(file.GetMetadata("vocab"));
        if (model.Config.Input != InputKind.Tokens || vocab.Count != model.Config.InputSize)
            throw new InvalidDataException($"{path}: the vocabulary holds {vocab.Count} symbols but the embedding has {model.Config.InputSize} rows.");
        return (model, vocab, file);
    }

    /// <summary>The text's token ids; every character must be in the model's vocabulary.</summary>
    public static int[] EncodeText(string path, Vocabulary vocab, int minimumLength)
    {
        string text = TextFiles.ReadUtf8(path);
        if (text.Length == 0) throw new UserInputException($"{path}: the text is empty.");
        int[] tokens;
        try { tokens = vocab.Encode(text); }
        catch (FormatException e) { throw new UserInputException($"{path}: {e.Message}"); }
        if (tokens.Length < minimumLength)
            throw new UserInputException($"{path}: the text has {tokens.Length} characters; at least {minimumLength} are needed.");
        return tokens;
    }
}
