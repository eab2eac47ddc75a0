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
        Vocabulary vocab;
        try { vocab = Vocabulary.FromSymbols(file.GetMetadata("vocab")); }
        catch (InvalidDataException e) when (!e.Message.StartsWith(path, StringComparison.Ordinal)) { throw new InvalidDataException($"{path}: {e.Message}"); }
        var c = model.Config;
        if (c.Input != InputKind.Tokens)
            throw new InvalidDataException($"{path}: not a character model: it has no embedding.weight (its input is {c.InputSize}-dimensional vectors).");
        if (c.Loss != LossKind.CrossEntropy)
            throw new InvalidDataException($"{path}: not a character model: its loss is {c.Loss}, not cross-entropy.");
        // Every id the model can read or emit must be a symbol: a decoder row beyond the vocabulary would be a
        // character sample could draw but not print.
        if (vocab.Count != c.InputSize || vocab.Count != c.OutputSize)
            throw new InvalidDataException($"{path}: the vocabulary holds {vocab.Count} symbols, but embedding.weight has {c.InputSize} rows and decoder.weight {c.OutputSize}; all three must agree.");
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
