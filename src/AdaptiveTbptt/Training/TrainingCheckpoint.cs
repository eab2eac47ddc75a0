using System.Globalization;
using Tbptt.Checkpoints;
using Tbptt.Models;

namespace Tbptt.Training;

/// <summary>
/// A resumable checkpoint as one safetensors file: the model under PyTorch's names (so the file still loads
/// into PyTorch with <c>strict=False</c>), and under <c>trainer.*</c> the best parameters, optimizer moments,
/// generator states and the engine's tape; counters, evaluations and the caller's run options in metadata.
/// Written atomically, so a crash mid-write leaves the previous checkpoint intact.
/// </summary>
public static class TrainingCheckpoint
{
    private const string Prefix = "trainer.";

    /// <summary>Writes <paramref name="model"/>'s weights and <paramref name="state"/> to one safetensors file at <paramref name="path"/>, atomically, with <paramref name="metadata"/> (the caller's run options) alongside.</summary>
    public static void Save(string path, SequenceModel<float> model, TrainerState state, IReadOnlyDictionary<string, string> metadata)
    {
        var config = model.Config;
        var tensors = new List<SafetensorsTensor>();
        var values = model.Parameters;
        foreach (var s in values.Slices)
            tensors.Add(SafetensorsTensor.FromFloat32(s.Name, s.Shape, state.Parameters.AsSpan(s.Offset, s.Length)));
        tensors.Add(SafetensorsTensor.FromFloat32(Prefix + "best_parameters", [state.BestParameters.Length], state.BestParameters));
        foreach (var (name, v) in state.OptimizerState)
            tensors.Add(SafetensorsTensor.FromFloat32(Prefix + "optimizer." + name, [v.Length], v));
        foreach (var (name, v) in state.Tape)
            tensors.Add(SafetensorsTensor.FromFloat32(Prefix + "tape." + name, [v.Length], v));
        tensors.Add(SafetensorsTensor.FromInt64(Prefix + "rng", [4], state.Rng.Select(u => unchecked((long)u)).ToArray()));
        tensors.Add(SafetensorsTensor.FromInt64(Prefix + "dropout_rng", [4], state.DropoutRng.Select(u => unchecked((long)u)).ToArray()));
        var meta = ModelCheckpoint.Describe(config);
        meta["dropout"] = config.Dropout.ToString("R", CultureInfo.InvariantCulture);
        foreach (var (k, v) in metadata) meta[k] = v;
        meta[Prefix + "counters"] = state.Counters.ToJson();
        meta[Prefix + "tape_stored"] = state.TapeStored.ToString(CultureInfo.InvariantCulture);
        Safetensors.Write(path, tensors, meta);
    }

    /// <summary>Reads the trainer state of a checkpoint written by <see cref="Save"/>.</summary>
    /// <exception cref="InvalidDataException">A field is missing, has the wrong dtype or cannot be parsed; the
    /// message names the file and the field. (Ranges are checked by <see cref="Trainer.ImportState"/>.)</exception>
    public static TrainerState Load(SafetensorsFile file)
    {
        var model = ModelCheckpoint.Load(file);
        InvalidDataException Bad(string field, string why) => new($"{file.Path}: damaged checkpoint: {field} {why}");
        TrainerCounters counters;
        try { counters = TrainerCounters.FromJson(file.GetMetadata(Prefix + "counters")); }
        catch (InvalidDataException e) when (!e.Message.StartsWith(file.Path, StringComparison.Ordinal)) { throw new InvalidDataException($"{file.Path}: damaged checkpoint: {e.Message}"); }
        string storedText = file.GetMetadata(Prefix + "tape_stored");
        if (!int.TryParse(storedText, NumberStyles.None, CultureInfo.InvariantCulture, out int stored))
            throw Bad(Prefix + "tape_stored", $"= {Safetensors.Quote(storedText)} is not a step count.");
        float[] Floats(SafetensorsTensor t) => t.DType == SafetensorsDType.F32 && t.Shape.Count == 1
            ? t.ToFloat32()
            : throw Bad(Safetensors.Quote(t.Name), $"is {t.DType} {t.ShapeText}, expected a one-dimensional F32 tensor.");
        Dictionary<string, float[]> Group(string group) => file.Tensors
            .Where(t => t.Name.StartsWith(Prefix + group, StringComparison.Ordinal))
            .ToDictionary(t => t.Name[(Prefix.Length + group.Length)..], Floats);
        ulong[] Words(string name)
        {
            var t = file.Get(Prefix + name);
            if (t.DType != SafetensorsDType.I64 || !t.HasShape([4]))
                throw Bad(Safetensors.Quote(t.Name), $"is {t.DType} {t.ShapeText}, expected I64 [4].");
            return t.ToInt64().Select(l => unchecked((ulong)l)).ToArray();
        }
        return new TrainerState
        {
            Counters = counters,
            Parameters = model.Parameters.Data,
            BestParameters = Floats(file.Get(Prefix + "best_parameters")),
            OptimizerState = Group("optimizer."),
            Rng = Words("rng"),
            DropoutRng = Words("dropout_rng"),
            TapeStored = stored,
            Tape = Group("tape."),
            Source = file.Path,
        };
    }
}
