using Tbptt.Truncation;
using System.Text;
using Tbptt.Checkpoints;
using Tbptt.Models;
using Tbptt.Tests.Fuzz;
using Tbptt.Training;
using static Tbptt.Tests.TestModels;

namespace Tbptt.Tests;

/// <summary>
/// Issue 11 §3: the safetensors reader with the model loader, and the training-checkpoint importer, over seeded
/// mutations of real files. Each input ends in <see cref="InvalidDataException"/> with a one-line message or in a
/// valid result, never another exception, and allocates a bounded multiple of its own size.
/// </summary>
public class CheckpointFuzzTests
{
    // Loading copies the data section about three times (bytes, float32 values, the model), plus a JSON DOM of the
    // header; 64 bytes per input byte and 4 MiB is far above that and far below a trusted-metadata blow-up.
    private const long PerByte = 64, Fixed = 4 << 20;

    private static readonly ModelConfig CheckpointConfig = Tokens(CellKind.Lstm, 2);

    private static byte[] Bytes(IEnumerable<SafetensorsTensor> tensors, IReadOnlyDictionary<string, string> meta)
    {
        using var stream = new MemoryStream();
        Safetensors.Write(stream, tensors, meta);
        return stream.ToArray();
    }

    /// <summary>Seed files: token LSTM and GRU models (one tied), an Elman vector model.</summary>
    private static readonly byte[][] Models =
    [
        Model(Tokens(CellKind.Lstm, 2)),
        Model(Tokens(CellKind.Gru, 1) with { EmbedSize = 5, HiddenSize = 5, TieWeights = true }),
        Model(new ModelConfig { Cell = CellKind.Elman, Nonlinearity = Nonlinearity.Relu, Layers = 2, Input = InputKind.Vectors, InputSize = 3, HiddenSize = 4, OutputSize = 2, Loss = LossKind.SquaredError }),
    ];

    private static byte[] Model(ModelConfig c)
    {
        var model = SequenceModel<float>.Create(c, 7);
        var meta = ModelCheckpoint.Describe(c);
        meta["vocab"] = "abcdefgh";
        return Bytes(ModelCheckpoint.Tensors(model), meta);
    }

    private static Trainer Trainer(SequenceModel<float> model)
    {
        var train = TokenStream.NextToken(RandomTokens(4 * 60, CheckpointConfig.InputSize, 1), 4);
        var valid = TokenStream.NextToken(RandomTokens(4 * 20, CheckpointConfig.InputSize, 2), 4);
        return new Trainer(model, new TrainerOptions { Epochs = 1, Optimizer = "adam" }, train, valid) { Policy = new FixedTruncation(3, 5) };
    }

    /// <summary>A real checkpoint: a few updates of TBPTT(3, 5) so that the tape holds steps.</summary>
    private static readonly Lazy<byte[]> CheckpointBytes = new(() =>
    {
        var model = SequenceModel<float>.Create(CheckpointConfig, 3);
        var trainer = Trainer(model);
        using var cancel = new CancellationTokenSource();
        trainer.Progress += (_, _) => { if (trainer.Updates == 4) cancel.Cancel(); };
        trainer.Run(cancel.Token);
        string path = Path.Combine(Directory.CreateTempSubdirectory("tbptt-fuzz-ckpt-").FullName, "checkpoint.safetensors");
        TrainingCheckpoint.Save(path, model, trainer.ExportState(), new Dictionary<string, string> { ["run.options"] = "{}" });
        return File.ReadAllBytes(path);
    });

    private static void LoadModel(byte[] bytes) => ModelCheckpoint.Load(Safetensors.Read(bytes, "fuzz.safetensors"));

    [Fact]
    public void Safetensors_reader_and_model_loader_survive_4000_mutated_files()
    {
        var (valid, rejected) = FuzzRunner.Run("model", 4000, 1_000_000, m => m.MutateSafetensors(m.Pick(Models)), LoadModel,
            e => e is InvalidDataException, PerByte, Fixed);
        // The suite has teeth only if it reaches both outcomes in numbers.
        Assert.True(rejected > 2000 && valid > 100, $"valid {valid}, rejected {rejected}");
    }

    [Fact]
    public void Training_checkpoint_importer_survives_2500_mutated_checkpoints()
    {
        var trainer = Trainer(SequenceModel<float>.Create(CheckpointConfig, 3));
        var (valid, rejected) = FuzzRunner.Run("checkpoint", 2500, 2_000_000, m => m.MutateSafetensors(CheckpointBytes.Value), bytes =>
        {
            var file = Safetensors.Read(bytes, "fuzz.safetensors");
            trainer.ImportState(TrainingCheckpoint.Load(file));
        }, e => e is InvalidDataException, PerByte, Fixed);
        Assert.True(rejected > 1000 && valid > 100, $"valid {valid}, rejected {rejected}");
    }

    /// <summary>The seed files themselves load, so the mutations start from valid inputs.</summary>
    [Fact]
    public void The_seed_files_are_valid()
    {
        foreach (var model in Models) LoadModel(model);
        var trainer = Trainer(SequenceModel<float>.Create(CheckpointConfig, 3));
        trainer.ImportState(TrainingCheckpoint.Load(Safetensors.Read(CheckpointBytes.Value, "seed")));
        Assert.Equal(4, trainer.Updates);
    }

    /// <summary>A header edited by hand: the text replaced, the length prefix fixed.</summary>
    private static byte[] WithHeader(byte[] file, Func<string, string> edit)
    {
        long n = BitConverter.ToInt64(file, 0);
        var header = Encoding.UTF8.GetBytes(edit(Encoding.UTF8.GetString(file, 8, (int)n)));
        var result = new byte[8 + header.Length + file.Length - 8 - n];
        BitConverter.TryWriteBytes(result.AsSpan(0, 8), (ulong)header.Length);
        header.CopyTo(result, 8);
        file.AsSpan(8 + (int)n).CopyTo(result.AsSpan(8 + header.Length));
        return result;
    }

    private static string SetMeta(string header, string key, string value) =>
        System.Text.RegularExpressions.Regex.Replace(header, $"\"{key}\":\"(?:[^\"\\\\]|\\\\.)*\"", $"\"{key}\":\"{value}\"");

    /// <summary>The inputs that failed before issue 11's fixes, kept by name.</summary>
    public static TheoryData<string> Regressions() => new(RegressionCases.Keys);

    private static readonly Dictionary<string, (Func<byte[]> Input, bool Checkpoint, string Message)> RegressionCases = new()
    {
        ["layers 1e8 in a small model (6 GB before)"] = (() => WithHeader(Models[0], h => SetMeta(h, "layers", "100000000")), false, "layers"),
        ["layers 1e6 (OverflowException before)"] = (() => WithHeader(Models[0], h => SetMeta(h, "layers", "1000000")), false, "layers"),
        ["layers 3 with tensors for 2"] = (() => WithHeader(Models[0], h => SetMeta(h, "layers", "3")), false, "rnn.weight_ih_l2"),
        ["lone surrogate in metadata (InvalidOperationException before)"] = (() => WithHeader(Models[0], h => SetMeta(h, "vocab", "ab\\ud800")), false, "surrogate"),
        ["lone surrogate in a tensor name"] = (() => WithHeader(Models[0], h => h.Replace("\"decoder.bias\"", "\"decoder.\\udfffbias\"")), false, "surrogate"),
        ["embedding deleted from a token model"] = (() => WithHeader(Models[0], h => h.Replace("\"embedding.weight\"", "\"embedding.weigh\"")), false, "'embedding.weight'"),
        ["dropout NaN"] = (() => WithHeader(Models[0], h => SetMeta(h, "dropout", "NaN")), false, "inconsistent model"),
        ["counters not JSON"] = (() => WithHeader(CheckpointBytes.Value, h => SetMeta(h, "trainer.counters", "{")), true, "trainer.counters"),
        ["tape_stored 2^31 (OverflowException before)"] = (() => WithHeader(CheckpointBytes.Value, h => SetMeta(h, "trainer.tape_stored", "2147483648")), true, "trainer.tape_stored"),
        ["tape_stored beyond the stream"] = (() => WithHeader(CheckpointBytes.Value, h => SetMeta(h, "trainer.tape_stored", "100000")), true, "trainer.tape_stored"),
        ["rng stored as F64"] = (() => WithHeader(CheckpointBytes.Value, h => h.Replace("\"trainer.rng\":{\"dtype\":\"I64\"", "\"trainer.rng\":{\"dtype\":\"F64\"")), true, "trainer.rng"),
    };

    [Theory]
    [MemberData(nameof(Regressions))]
    public void Fixed_failures_stay_fixed(string name)
    {
        var (input, checkpoint, message) = RegressionCases[name];
        byte[] bytes = input();
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<InvalidDataException>(() =>
        {
            var file = Safetensors.Read(bytes, "regression.safetensors");
            if (checkpoint) Trainer(SequenceModel<float>.Create(CheckpointConfig, 3)).ImportState(TrainingCheckpoint.Load(file));
            else ModelCheckpoint.Load(file);
        });
        Assert.Contains(message, e.Message);
        Assert.StartsWith("regression.safetensors", e.Message);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < PerByte * bytes.Length + Fixed);
    }
}
