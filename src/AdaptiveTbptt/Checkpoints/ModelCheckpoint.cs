using System.Globalization;
using Tbptt.Models;

namespace Tbptt.Checkpoints;

/// <summary>
/// Models as safetensors files in PyTorch's state_dict names and layouts (<c>embedding.weight</c>,
/// <c>rnn.weight_ih_l0</c>, …, <c>decoder.weight</c>, <c>decoder.bias</c>), with the configuration in
/// <c>__metadata__</c>, so <c>load_state_dict</c> on <c>nn.Embedding</c>/<c>nn.LSTM</c>/<c>nn.Linear</c> takes it as is.
/// Sizes are read from the tensor shapes; metadata supplies what shapes cannot (cell, layers, non-linearity).
/// </summary>
public static class ModelCheckpoint
{
    /// <summary>Metadata key naming this file family.</summary>
    public const string FormatValue = "tbptt";

    /// <summary>The <c>__metadata__</c> entries that describe <paramref name="c"/> in a model file (format, cell, sizes, loss, …).</summary>
    public static Dictionary<string, string> Describe(ModelConfig c) => new(StringComparer.Ordinal)
    {
        ["format"] = FormatValue,
        ["cell"] = c.Cell.ToString().ToLowerInvariant(),
        ["nonlinearity"] = c.Nonlinearity.ToString().ToLowerInvariant(),
        ["layers"] = Invariant(c.Layers),
        ["input"] = c.Input == InputKind.Tokens ? "tokens" : "vectors",
        ["input_size"] = Invariant(c.InputSize),
        ["embed"] = Invariant(c.EmbedSize),
        ["hidden"] = Invariant(c.HiddenSize),
        ["output_size"] = Invariant(c.OutputSize),
        ["loss"] = c.Loss switch { LossKind.CrossEntropy => "cross_entropy", LossKind.SquaredError => "squared_error", _ => "sigmoid_squared_error" },
        ["tied"] = c.TieWeights ? "true" : "false",
        ["dropout"] = c.Dropout.ToString("R", CultureInfo.InvariantCulture),
    };

    private static string Invariant(int v) => v.ToString(CultureInfo.InvariantCulture);

    /// <summary>The model's tensors in float32, each parameter once under every name (tied weights twice, as PyTorch saves them).</summary>
    public static IEnumerable<SafetensorsTensor> Tensors(SequenceModel<float> model, string prefix = "") =>
        model.Parameters.Slices.Select(s => SafetensorsTensor.FromFloat32(prefix + s.Name, s.Shape, model.Parameters.Values(s)));

    /// <summary>Writes the model (atomically) with its configuration and <paramref name="extraMetadata"/>.</summary>
    public static void Save(string path, SequenceModel<float> model, IReadOnlyDictionary<string, string>? extraMetadata = null,
        IEnumerable<SafetensorsTensor>? extraTensors = null)
    {
        var meta = Describe(model.Config);
        if (extraMetadata is not null)
            foreach (var (k, v) in extraMetadata) meta[k] = v;
        Safetensors.Write(path, Tensors(model).Concat(extraTensors ?? []), meta);
    }

    /// <summary>Reads the configuration a file describes (sizes from tensor shapes). Errors name the file and the problem.</summary>
    public static ModelConfig ReadConfig(SafetensorsFile file)
    {
        var m = file.Metadata;
        string cellText = file.GetMetadata("cell");
        var cell = cellText switch
        {
            "lstm" => CellKind.Lstm, "gru" => CellKind.Gru, "elman" or "rnn" or "rnn_tanh" or "rnn_relu" => CellKind.Elman,
            _ => throw new InvalidDataException($"{file.Path}: unknown cell '{cellText}' (expected lstm, gru or elman)"),
        };
        string nl = m.TryGetValue("nonlinearity", out var n) ? n : cellText == "rnn_relu" ? "relu" : "tanh";
        var f = nl switch
        {
            "tanh" => Nonlinearity.Tanh, "relu" => Nonlinearity.Relu, "identity" => Nonlinearity.Identity,
            _ => throw new InvalidDataException($"{file.Path}: unknown nonlinearity '{nl}'"),
        };
        int layers = ParseInt(file, "layers");
        bool tokens = file.Contains("embedding.weight") || file.Contains("encoder.weight");
        // A token model whose embedding was deleted must say so, not pass for a vector model of odd sizes.
        if (!tokens && m.TryGetValue("input", out var input) && input == "tokens") file.Get("embedding.weight");
        var dec = file.Get("decoder.weight");
        if (dec.Shape.Count != 2) throw new InvalidDataException($"{file.Path}: decoder.weight must be 2-dimensional, is {dec.ShapeText}");
        int output = dec.Shape[0], hidden = dec.Shape[1];
        var wih0 = file.Get("rnn.weight_ih_l0");
        if (wih0.Shape.Count != 2) throw new InvalidDataException($"{file.Path}: rnn.weight_ih_l0 must be 2-dimensional, is {wih0.ShapeText}");
        int inputSize, embed = 0;
        if (tokens)
        {
            var emb = file.Contains("embedding.weight") ? file.Get("embedding.weight") : file.Get("encoder.weight");
            if (emb.Shape.Count != 2) throw new InvalidDataException($"{file.Path}: {emb.Name} must be 2-dimensional, is {emb.ShapeText}");
            inputSize = emb.Shape[0];
            embed = emb.Shape[1];
        }
        else inputSize = wih0.Shape[1];
        string loss = m.TryGetValue("loss", out var l) ? l : "cross_entropy";
        var config = new ModelConfig
        {
            Cell = cell, Nonlinearity = f, Layers = layers,
            Input = tokens ? InputKind.Tokens : InputKind.Vectors, InputSize = inputSize, EmbedSize = embed,
            HiddenSize = hidden, OutputSize = output,
            Loss = loss switch
            {
                "cross_entropy" => LossKind.CrossEntropy, "squared_error" => LossKind.SquaredError,
                "sigmoid_squared_error" => LossKind.SigmoidSquaredError,
                _ => throw new InvalidDataException($"{file.Path}: unknown loss '{loss}'"),
            },
            TieWeights = m.TryGetValue("tied", out var t) && t == "true",
            Dropout = m.TryGetValue("dropout", out var d) && double.TryParse(d, NumberStyles.Float, CultureInfo.InvariantCulture, out double p) ? p : 0,
        };
        try { config.Validate(); }
        catch (ArgumentException e) { throw new InvalidDataException($"{file.Path}: inconsistent model: {OneLine(e)}"); }
        return config;
    }

    /// <summary>Loads a model in float32; every tensor must be present with the shape the configuration implies.</summary>
    public static SequenceModel<float> Load(SafetensorsFile file) => Load<float>(file);

    /// <summary>Loads a model in any float type (float64 for gradient checks).</summary>
    /// <exception cref="InvalidDataException">The metadata or a tensor does not describe a valid model; the message
    /// names the file and the tensor or key. Every tensor is checked before the model is allocated, so the
    /// memory used is bounded by the tensors actually present, whatever the metadata claims.</exception>
    public static SequenceModel<T> Load<T>(SafetensorsFile file) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        var config = ReadConfig(file);
        CheckTensors(file, config);
        var model = new SequenceModel<T>(config);
        var p = model.Parameters;
        foreach (var s in p.Owned)
        {
            string name = s.Name == "embedding.weight" && !file.Contains(s.Name) ? "encoder.weight" : s.Name;
            var values = file.GetFloat32(name, s.Shape);
            var dst = p.Values(s);
            for (int i = 0; i < values.Length; i++) dst[i] = T.CreateTruncating(values[i]);
        }
        return model;
    }

    /// <summary>Every tensor the configuration implies is present, floating-point and of its shape; no layer beyond
    /// the metadata's count is.</summary>
    private static void CheckTensors(SafetensorsFile file, ModelConfig config)
    {
        foreach (var (expected, shape) in config.ParameterShapes())
        {
            string name = expected == "embedding.weight" && !file.Contains(expected) ? "encoder.weight" : expected;
            var t = file.Get(name);
            if (t.Shape.Count != shape.Length || !t.Shape.Select(d => (long)d).SequenceEqual(shape))
                throw new InvalidDataException($"{file.Path}: tensor {Safetensors.Quote(name)} has shape {t.ShapeText}, expected [{string.Join(", ", shape)}]");
            if (t.DType is not (SafetensorsDType.F32 or SafetensorsDType.F64 or SafetensorsDType.F16 or SafetensorsDType.BF16))
                throw new InvalidDataException($"{file.Path}: tensor {Safetensors.Quote(name)} has dtype {t.DType}, expected a floating-point one");
        }
        string beyond = $"rnn.weight_ih_l{config.Layers}";
        if (file.Contains(beyond))
            throw new InvalidDataException($"{file.Path}: metadata 'layers' = {config.Layers}, but the file has {Safetensors.Quote(beyond)}");
    }

    /// <summary>An argument error as one line: .NET appends "(Parameter 'x')" and, on a new line, the value.</summary>
    private static string OneLine(ArgumentException e)
    {
        string m = e.Message;
        int cut = m.IndexOf(" (Parameter '", StringComparison.Ordinal);
        if (cut >= 0) m = m[..cut];
        if (e is ArgumentOutOfRangeException { ActualValue: { } v })
            m += $" (got {Convert.ToString(v, CultureInfo.InvariantCulture)})";
        return m.ReplaceLineEndings(" ");
    }

    private static int ParseInt(SafetensorsFile file, string key)
    {
        string text = file.GetMetadata(key);
        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int v) && v > 0
            ? v
            : throw new InvalidDataException($"{file.Path}: metadata '{key}' must be a positive integer, is '{text}'");
    }
}
