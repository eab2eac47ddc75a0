using Tbptt.Truncation;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Tbptt.BiasEstimation;
using Tbptt.Models;
using Tbptt.Probes;
using Tbptt.Training;

namespace Tbptt.LanguageModel.Runs;

/// <summary>
/// Everything one training run needs, one record per concern: what it learns from (<see cref="Copy"/> or
/// <see cref="Corpus"/>), the model, the training, the truncation, the adaptive controller with its estimator,
/// and the probe. Serialised as <c>run.json</c> in the run's folder; <c>tbptt run --config run.json</c> trains from
/// that file alone and gets the same numbers, bit for bit, as the command line that wrote it. A sweep entry holds
/// one of these.
/// </summary>
public sealed record RunOptions
{
    /// <summary>Version of the file format; a reader refuses other versions rather than guess.</summary>
    public const int FormatVersion = 1;

    /// <summary>The format version this record was written with.</summary>
    public int Version { get; init; } = FormatVersion;
    /// <summary>The copy task (Table C.1); null for a corpus run.</summary>
    public CopyDataOptions? Copy { get; init; }
    /// <summary>A text corpus (the character model); null for a copy run.</summary>
    public CorpusOptions? Corpus { get; init; }
    /// <summary>The model's shape and initialisation.</summary>
    public ModelOptions Model { get; init; } = new();
    /// <summary>Optimizer, clipping, budget and evaluation; <see cref="TrainerOptions.Seed"/> is the run's one seed
    /// (initial weights, generated data, dropout, probe positions).</summary>
    public TrainerOptions Training { get; init; } = new();
    /// <summary>Fixed TBPTT(K, K2) or adaptive.</summary>
    public TruncationOptions Truncation { get; init; } = new();
    /// <summary>Algorithm 1's settings (δ, K0, Kmin, Kmax, P, the estimator); read only by adaptive runs, except
    /// <see cref="AdaptiveOptions.ScaleBySqrtK"/>, which fixed runs follow too.</summary>
    public AdaptiveOptions Adaptive { get; init; } = new();
    /// <summary>The probe of adaptive re-estimates and of the end-of-run profile.</summary>
    public ProbeOptions Probe { get; init; } = new();
    /// <summary>δ values whose κ̂ every estimate records in the metrics (besides the run's own δ).</summary>
    public IReadOnlyList<double> TrackedDeltas { get; init; } = [0.9, 0.5, 0.1];
    /// <summary>Models kept during training for later study (<see cref="RunSnapshots"/>): 0 keeps none; n &gt; 0 keeps the
    /// initial model and the model at the first evaluation round past each n-th of the run's budget, as
    /// <c>snapshots/model-u&lt;update&gt;.safetensors</c> (the current parameters, not the best). Left out of run.json when 0,
    /// so records without snapshots read as before.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public int Snapshots { get; init; }

    /// <summary>"copy" or "charlm".</summary>
    [JsonIgnore] public string Task => Copy is not null ? "copy" : "charlm";

    /// <summary>How losses are reported: perplexity for the copy task, bits per character for a corpus.</summary>
    [JsonIgnore] public string Metric => Copy is not null ? "ppl" : "bits";

    /// <summary>The policy's name as tables show it: "K=15" or "δ=0.1".</summary>
    [JsonIgnore] public string PolicyName => Truncation.Adaptive
        ? $"δ={Adaptive.Delta.ToString(CultureInfo.InvariantCulture)}" : $"K={Truncation.K}";

    /// <summary>
    /// These options with each data path — the copy data folder, the corpus — passed through <paramref name="map"/>
    /// (absent paths stay absent). A relative path means nothing on its own: whoever runs the record says against
    /// which folder it resolves (<see cref="RunExecutor.Execute"/>'s data root; a sweep's own folder).
    /// </summary>
    public RunOptions WithDataPaths(Func<string, string> map) => this with
    {
        Copy = Copy is { Data: { Length: > 0 } data } copy ? copy with { Data = map(data) } : Copy,
        Corpus = Corpus is { Path: { Length: > 0 } path } corpus ? corpus with { Path = map(path) } : Corpus,
    };

    /// <summary>Rejects options no run could train with, naming the setting; runs nothing.</summary>
    public void Validate()
    {
        if (Version != FormatVersion)
            throw new InvalidDataException($"run options of format version {Version}; this build reads version {FormatVersion}.");
        if ((Copy is null) == (Corpus is null))
            throw new ArgumentException("a run needs exactly one data source: the copy task or a corpus.");
        Copy?.Validate();
        Corpus?.Validate();
        Model.Validate();
        Training.Validate();
        Truncation.Validate();
        Adaptive.Validate();
        // Every run measures the φ profile and δ̂(K) at its end, so the probe and estimator settings must hold
        // for fixed runs too; and a bad τ must not cost a run.
        Probe.Validate();
        Adaptive.Estimator.Validate(Probe.Window);
        foreach (double d in TrackedDeltas)
            if (!(d > 0 && double.IsFinite(d))) throw new ArgumentOutOfRangeException(nameof(TrackedDeltas), d, "tracked δ values must be finite and > 0.");
        if (Snapshots is < 0 or > RunSnapshots.MaxCount)
            throw new ArgumentOutOfRangeException(nameof(Snapshots), Snapshots, $"snapshots must be in [0, {RunSnapshots.MaxCount}] (0: none).");
    }

    /// <summary>Serialisation of run options: camelCase, enums as names, NaN and ∞ kept, doubles round-trip.</summary>
    public static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        // A null where the record has no null (a deleted "model", "trackedDeltas": null) is malformed input, not a
        // NullReferenceException later.
        RespectNullableAnnotations = true,
    };

    /// <summary>The record as run.json text.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>Parses run options; malformed JSON, unknown fields or a wrong version give <see cref="InvalidDataException"/>.</summary>
    /// <param name="source">Where the text came from, for the message.</param>
    public static RunOptions FromJson(string json, string source)
    {
        RunOptions? o;
        try { o = JsonSerializer.Deserialize<RunOptions>(json, Json); }
        catch (JsonException e) { throw new InvalidDataException($"{source}: not valid run options: {e.Message}"); }
        return o ?? throw new InvalidDataException($"{source}: empty run options.");
    }

    /// <summary>Reads a run.json file (<see cref="FromJson"/>).</summary>
    public static RunOptions Load(string path) => FromJson(File.ReadAllText(path), path);
}

/// <summary>The model's shape and initialisation (its vocabulary comes from the data).</summary>
public sealed record ModelOptions
{
    /// <summary>lstm, gru or elman.</summary>
    public string Cell { get; init; } = "lstm";
    /// <summary>Stacked recurrent layers.</summary>
    public int Layers { get; init; } = 2;
    /// <summary>Units per layer.</summary>
    public int Hidden { get; init; } = 512;
    /// <summary>Embedding width; null means the hidden width.</summary>
    public int? Embed { get; init; } = 64;
    /// <summary>Dropout on embeddings, between layers and before the decoder.</summary>
    public double Dropout { get; init; } = 0.2;
    /// <summary>Tie decoder.weight to embedding.weight (needs embed = hidden).</summary>
    public bool Tied { get; init; }
    /// <summary>pytorch (PyTorch's defaults) or scaled-uniform (the paper's code).</summary>
    public string Init { get; init; } = "pytorch";
    /// <summary>The Elman cell's non-linearity: tanh, relu or identity (gated cells have fixed ones).</summary>
    public string Nonlinearity { get; init; } = "tanh";

    /// <summary><see cref="Cell"/> as the engine's enum (an unknown name is an <see cref="ArgumentException"/>).</summary>
    [JsonIgnore] public CellKind CellKind => Cell.ToLowerInvariant() switch
    {
        "lstm" => CellKind.Lstm, "gru" => CellKind.Gru, "elman" or "rnn" => CellKind.Elman,
        _ => throw new ArgumentException($"--cell: '{Cell}' is not one of lstm, gru, elman."),
    };

    /// <summary><see cref="Init"/> as the engine's enum (an unknown name is an <see cref="ArgumentException"/>).</summary>
    [JsonIgnore] public InitScheme InitScheme => Init.ToLowerInvariant() switch
    {
        "pytorch" => InitScheme.PyTorch, "scaled-uniform" => InitScheme.ScaledUniform,
        _ => throw new ArgumentException($"--init: '{Init}' is not one of scaled-uniform, pytorch."),
    };

    /// <summary><see cref="Nonlinearity"/> as the engine's enum (an unknown name is an <see cref="ArgumentException"/>).</summary>
    [JsonIgnore] public Nonlinearity NonlinearityKind => Nonlinearity.ToLowerInvariant() switch
    {
        "tanh" => Models.Nonlinearity.Tanh, "relu" => Models.Nonlinearity.Relu, "identity" => Models.Nonlinearity.Identity,
        _ => throw new ArgumentException($"--nonlinearity: '{Nonlinearity}' is not one of tanh, relu, identity."),
    };

    /// <summary>The engine's configuration for a vocabulary of <paramref name="vocabulary"/> tokens.</summary>
    public ModelConfig ToConfig(int vocabulary) => new()
    {
        Cell = CellKind, Nonlinearity = NonlinearityKind, Layers = Layers, Input = InputKind.Tokens, InputSize = vocabulary, EmbedSize = Embed ?? Hidden,
        HiddenSize = Hidden, OutputSize = vocabulary, Dropout = Dropout, TieWeights = Tied,
    };

    /// <summary>Rejects a cell, initialisation or shape the engine cannot build, naming it.</summary>
    public void Validate()
    {
        _ = CellKind;
        _ = InitScheme;
        _ = NonlinearityKind;
        ToConfig(2).Validate();
    }
}

/// <summary>The truncation of a run: fixed TBPTT(K, K2) or adaptive (δ and the rest in <see cref="AdaptiveOptions"/>).</summary>
public sealed record TruncationOptions
{
    /// <summary>Choose K by the estimator (Algorithm 1) instead of fixing it.</summary>
    public bool Adaptive { get; init; }
    /// <summary>Fixed k1.</summary>
    public int K { get; init; } = 50;
    /// <summary>Fixed k2; null means k2 = k1 (the chunked form).</summary>
    public int? K2 { get; init; }

    /// <summary>Rejects a K or k2 below 1.</summary>
    public void Validate()
    {
        if (K < 1) throw new ArgumentOutOfRangeException(nameof(K), K, "K must be at least 1.");
        if (K2 is < 1) throw new ArgumentOutOfRangeException(nameof(K2), K2, "k2 must be at least 1.");
    }
}

/// <summary>The copy task's data: generated from the run's seed, or read from a folder (the paper's own files).</summary>
public sealed record CopyDataOptions
{
    /// <summary>A folder of copy data files (<see cref="Synthetic.CopyDataFiles"/>); null generates the data from the
    /// seed. With files, the seed varies only the initial weights, and m, mmin describe the files.</summary>
    public string? Data { get; init; }
    /// <summary>Segment length m (marker + m−1 payload symbols), the largest when lengths vary.</summary>
    public int M { get; init; } = 10;
    /// <summary>Smallest segment length; null means fixed m.</summary>
    public int? MMin { get; init; }
    /// <summary>Batch columns B.</summary>
    public int Batch { get; init; } = 64;
    /// <summary>Training steps per column.</summary>
    public int TrainSteps { get; init; } = 4000;
    /// <summary>Validation and test steps per column.</summary>
    public int EvalSteps { get; init; } = 1000;

    /// <summary>Rejects segment lengths, sizes or a data folder no run could use.</summary>
    public void Validate()
    {
        _ = new Synthetic.CopyTask(M, MMin);
        if (Data is not null && !Directory.Exists(Data)) throw new DirectoryNotFoundException($"--data: {Data}: no such folder.");
        if (Batch < 1) throw new ArgumentOutOfRangeException(nameof(Batch), Batch, "batch must be at least 1.");
        if (TrainSteps < 2) throw new ArgumentOutOfRangeException(nameof(TrainSteps), TrainSteps, "train steps must be at least 2.");
        if (EvalSteps < 1) throw new ArgumentOutOfRangeException(nameof(EvalSteps), EvalSteps, "eval steps must be at least 1.");
        if ((long)Batch * Math.Max(TrainSteps, EvalSteps) > Array.MaxLength)
            throw new ArgumentOutOfRangeException(nameof(TrainSteps), TrainSteps, "steps × batch is more than an array holds.");
    }
}

/// <summary>A text corpus: one file split 90/5/5, or a folder with train.txt, valid.txt and test.txt.</summary>
public sealed record CorpusOptions
{
    /// <summary>The corpus file or folder (made absolute when a run starts).</summary>
    public string Path { get; init; } = "";
    /// <summary>Batch columns B of the training stream.</summary>
    public int Batch { get; init; } = 32;
    /// <summary>Columns of the validation and test streams (the state is carried within each).</summary>
    public int EvalBatch { get; init; } = 10;
    /// <summary>Warm-up steps of each evaluation column after the first: it starts this many characters early, on the
    /// text before it, unscored (<see cref="Text.Batchify.EvaluationStream"/>); 0 (the default of a run.json without
    /// it) starts every column from a zero state.</summary>
    public int EvalContext { get; init; }

    /// <summary>Rejects an empty path, batch sizes below 1 or a negative evaluation context.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Path)) throw new ArgumentException("--corpus: give a corpus file or folder.");
        if (Batch < 1) throw new ArgumentOutOfRangeException(nameof(Batch), Batch, "batch must be at least 1.");
        if (EvalBatch < 1) throw new ArgumentOutOfRangeException(nameof(EvalBatch), EvalBatch, "the evaluation batch must be at least 1.");
        if (EvalContext < 0) throw new ArgumentOutOfRangeException(nameof(EvalContext), EvalContext, "the evaluation context must be at least 0.");
    }
}
