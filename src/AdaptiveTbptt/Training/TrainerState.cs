using System.Text.Json;
using System.Text.Json.Serialization;
using Tbptt.Truncation;

namespace Tbptt.Training;

/// <summary>
/// Everything a <see cref="Trainer"/> needs to continue a stopped run exactly as if it had not stopped: counters,
/// running sums, both generators, optimizer moments, the parameters and the best ones, the policy's K and
/// history, the evaluations so far, and the engine's tape (steps a TBPTT(k1, k2 &gt; k1) window will reuse).
/// </summary>
public sealed class TrainerState
{
    /// <summary>Counters, running sums, the policy's K and history, the evaluations.</summary>
    public required TrainerCounters Counters { get; init; }
    /// <summary>The current parameters.</summary>
    public required float[] Parameters { get; init; }
    /// <summary>The parameters of the best validation point.</summary>
    public required float[] BestParameters { get; init; }
    /// <summary>The optimizer's named moment buffers.</summary>
    public required IReadOnlyDictionary<string, float[]> OptimizerState { get; init; }
    /// <summary>The run generator's state (<see cref="Numerics.SeededRandom.State"/>).</summary>
    public required ulong[] Rng { get; init; }
    /// <summary>The dropout generator's state.</summary>
    public required ulong[] DropoutRng { get; init; }
    /// <summary>Steps held on the engine's tape.</summary>
    public required int TapeStored { get; init; }
    /// <summary>The tape's <see cref="Engine.StackTape{T}.Snapshot"/>.</summary>
    public required IReadOnlyDictionary<string, float[]> Tape { get; init; }
    /// <summary>Where the state was read from, for error messages (null when built in memory).</summary>
    public string? Source { get; init; }
}

/// <summary>The scalar part of <see cref="TrainerState"/>; serialised as JSON into a checkpoint's metadata.</summary>
public sealed record TrainerCounters(
    long Updates, int Epoch, int Position, long TokensSeen, long ComputeTokens, long ProbeComputeTokens,
    double BestValidLoss, double TestLossAtBest, long UpdatesAtBest, double TrainLossSum, int TrainLossCount,
    double LastGradNorm, double WallSeconds, long OptimizerSteps, int PolicyK,
    IReadOnlyList<EvaluationRecord> Evaluations, IReadOnlyList<KEstimate> KHistory, long ProbeCostPerEstimate,
    long SkippedUpdates = 0, int ConsecutiveSkips = 0, ScheduleState? Schedule = null, double EvalSeconds = 0, double ProbeSeconds = 0)
{
    /// <summary>JSON that keeps NaN/∞ and tuples: a resumed run must see exactly the numbers it saved.</summary>
    public static readonly JsonSerializerOptions Json = new()
    {
        IncludeFields = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new JsonIgnoreLastConverter() },
    };

    /// <summary>These counters as JSON (NaN and ∞ kept).</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <exception cref="InvalidDataException">The text is not the JSON of a <see cref="TrainerCounters"/>.</exception>
    public static TrainerCounters FromJson(string json)
    {
        try
        {
            return JsonSerializer.Deserialize<TrainerCounters>(json, Json) ?? throw new InvalidDataException("trainer.counters is empty.");
        }
        catch (Exception e) when (e is JsonException or NotSupportedException or InvalidOperationException or ArgumentException)
        {
            throw new InvalidDataException($"trainer.counters is not valid ({e.Message.Split('\n')[0]})");
        }
    }

    /// <summary>A <see cref="KEstimate"/> is stored without its full last estimate (a diagnostic, not state).</summary>
    private sealed class JsonIgnoreLastConverter : JsonConverter<KEstimate>
    {
        private sealed record Stored(long Update, int K, double LogBeta, double RelativeBiasAtK, int[] ProbeKs, (double, int)[] KByTrackedDelta);

        public override KEstimate Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            var s = JsonSerializer.Deserialize<Stored>(ref reader, Json)!;
            return new KEstimate(s.Update, s.K, s.LogBeta, s.RelativeBiasAtK, s.ProbeKs, s.KByTrackedDelta, null);
        }

        public override void Write(Utf8JsonWriter writer, KEstimate v, JsonSerializerOptions options) =>
            JsonSerializer.Serialize(writer, new Stored(v.Update, v.K, v.LogBeta, v.RelativeBiasAtK, v.ProbeKs.ToArray(), v.KByTrackedDelta.ToArray()), Json);
    }
}
