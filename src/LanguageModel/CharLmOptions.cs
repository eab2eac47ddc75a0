using System.Text.Json;
using Tbptt.Models;

namespace Tbptt.LanguageModel;

/// <summary>
/// Every setting of a character-model training run (nanoGPT style: one record, every field with its default).
/// Stored as JSON in the checkpoint, so <c>--resume</c> continues with exactly the settings it started with.
/// </summary>
internal sealed record CharLmOptions
{
    public required string Corpus { get; init; }
    public required string OutputDirectory { get; init; }
    public string Cell { get; init; } = "lstm";
    public int Layers { get; init; } = 2;
    public int Hidden { get; init; } = 512;
    public int Embed { get; init; } = 64;
    public double Dropout { get; init; } = 0.2;
    public bool Tied { get; init; }
    /// <summary>Fixed truncation k1 (ignored when <see cref="Adaptive"/>).</summary>
    public int K { get; init; } = 50;
    /// <summary>Fixed k2; null means k2 = k1 (chunked, as char-rnn and PyTorch's word_language_model do).</summary>
    public int? K2 { get; init; }
    public bool Adaptive { get; init; }
    public double Delta { get; init; } = 0.1;
    public int K0 { get; init; } = 50;
    public int KMin { get; init; } = 10;
    public int KMax { get; init; } = 300;
    public int Window { get; init; } = 400;
    public int? BurnIn { get; init; }
    public int Samples { get; init; } = 64;
    public int Probes { get; init; } = 5;
    /// <summary>Scale the step size by √K (the paper's SGD runs); off by default for Adam.</summary>
    public bool ScaleBySqrtK { get; init; }
    public string Optimizer { get; init; } = "adam";
    public double LearningRate { get; init; } = 2e-3;
    public double Clip { get; init; } = 5.0;
    public double WeightDecay { get; init; }
    public int Batch { get; init; } = 32;
    public int EvalBatch { get; init; } = 10;
    public int Epochs { get; init; } = 1;
    public double? Minutes { get; init; }
    public int EvaluationsPerEpoch { get; init; } = 4;
    public long Seed { get; init; } = 1;
    /// <summary>Largest share of compute the adaptive probes may take (re-estimates beyond it are skipped).</summary>
    public double? MaxProbeShare { get; init; } = 0.1;

    public ModelConfig ModelConfig(int vocabulary) => new()
    {
        Cell = Cell.ToLowerInvariant() switch
        {
            "lstm" => CellKind.Lstm, "gru" => CellKind.Gru, "elman" or "rnn" => CellKind.Elman,
            _ => throw new ArgumentException($"--cell: '{Cell}' is not lstm, gru or elman."),
        },
        Layers = Layers, Input = InputKind.Tokens, InputSize = vocabulary, EmbedSize = Embed, HiddenSize = Hidden,
        OutputSize = vocabulary, Dropout = Dropout, TieWeights = Tied,
    };

    public string ToJson() => JsonSerializer.Serialize(this);
    public static CharLmOptions FromJson(string json) => JsonSerializer.Deserialize<CharLmOptions>(json)
        ?? throw new InvalidDataException("the checkpoint's run options are empty.");
}
