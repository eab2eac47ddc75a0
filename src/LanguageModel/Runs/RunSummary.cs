using System.Text.Json;
using Tbptt.BiasEstimation;
using Tbptt.Training;

namespace Tbptt.LanguageModel.Runs;

/// <summary>One evaluation round as a run's <c>summary.json</c> keeps it (the metrics CSV has the same numbers).</summary>
public sealed record EvaluationPoint(long Updates, double Epoch, long Tokens, long ComputeTokens, long ProbeComputeTokens,
    double WallSeconds, double TrainLoss, double ValidLoss, double TestLoss, int K, double LogBeta, double RelativeBiasAtK, double GradNorm,
    long SkippedUpdates)
{
    public static EvaluationPoint From(EvaluationRecord r) => new(r.Updates, r.Epoch, r.TokensSeen, r.ComputeTokens,
        r.ProbeComputeTokens, r.WallSeconds, r.TrainLoss, r.ValidLoss, r.TestLoss, r.K, r.LogBeta, r.RelativeBiasAtK, r.GradientNorm,
        r.SkippedUpdates);
}

/// <summary>One re-estimate of an adaptive run: the K chosen and what each probe found.</summary>
public sealed record KPoint(long Update, int K, double LogBeta, double RelativeBiasAtK, IReadOnlyList<int> ProbeKs);

/// <summary>The φ profile and δ̂(K) measured once at the end of training.</summary>
public sealed record FinalProfile(double LogBeta, int Tau, IReadOnlyList<double> LogPhiBar, IReadOnlyList<double> RelativeBias)
{
    public static FinalProfile From(BiasEstimate e) => new(e.LogBeta, e.Tau, e.LogPhiBar.ToArray(), e.RelativeBias.ToArray());
}

/// <summary>
/// The outcome of one run, written as <c>summary.json</c> in its folder and read back by <c>sweep aggregate</c>:
/// every number of the comparison table and plots comes from here, so a table aggregated from runs on a cluster
/// equals one aggregated from the same runs done locally, number for number (doubles round-trip; NaN and ∞ kept).
/// </summary>
public sealed record RunSummary
{
    public required string Task { get; init; }
    public required string Policy { get; init; }
    public required long Seed { get; init; }
    public required long Updates { get; init; }
    public required double Epochs { get; init; }
    public required long ComputeTokens { get; init; }
    public required long ProbeComputeTokens { get; init; }
    public required double WallSeconds { get; init; }
    public required double BestValidLoss { get; init; }
    public required double TestLossAtBest { get; init; }
    public required long UpdatesAtBest { get; init; }
    public required int FinalK { get; init; }
    /// <summary>Stopped before its budget ran out (Ctrl-C, SIGTERM); resumable.</summary>
    public required bool Interrupted { get; init; }
    /// <summary>Where training hit a non-finite loss, gradient or parameter; null when it did not.</summary>
    public Divergence? Divergence { get; init; }
    public bool Diverged => Divergence is not null;
    /// <summary>Updates skipped for a non-finite value (with <see cref="NonFinitePolicy.Skip"/>).</summary>
    public long SkippedUpdates { get; init; }
    public double BestValidPerplexity => Math.Exp(BestValidLoss);
    public double TestPerplexityAtBest => Math.Exp(TestLossAtBest);
    public double BestValidBits => BestValidLoss / Math.Log(2);
    public double TestBitsAtBest => TestLossAtBest / Math.Log(2);
    public required IReadOnlyList<EvaluationPoint> Evaluations { get; init; }
    public required IReadOnlyList<KPoint> KHistory { get; init; }
    public FinalProfile? FinalProfile { get; init; }

    public static RunSummary From(RunOptions o, TrainingSummary s, IReadOnlyList<KEstimate> history, BiasEstimate? final) => new()
    {
        Task = o.Task, Policy = o.PolicyName, Seed = o.Training.Seed, Updates = s.Updates, Epochs = s.Epochs,
        ComputeTokens = s.ComputeTokens, ProbeComputeTokens = s.ProbeComputeTokens, WallSeconds = s.WallSeconds,
        BestValidLoss = s.BestValidLoss, TestLossAtBest = s.TestLossAtBest, UpdatesAtBest = s.UpdatesAtBest,
        FinalK = s.FinalK, Interrupted = s.Interrupted, Divergence = s.Divergence, SkippedUpdates = s.SkippedUpdates,
        Evaluations = s.Evaluations.Select(EvaluationPoint.From).ToArray(),
        KHistory = history.Select(h => new KPoint(h.Update, h.K, h.LogBeta, h.RelativeBiasAtK, h.ProbeKs.ToArray())).ToArray(),
        FinalProfile = final is null ? null : FinalProfile.From(final),
    };

    public string ToJson() => JsonSerializer.Serialize(this, RunOptions.Json);

    public static RunSummary Load(string path)
    {
        try
        {
            return JsonSerializer.Deserialize<RunSummary>(File.ReadAllText(path), ReadOptions)
                ?? throw new InvalidDataException($"{path}: empty run summary.");
        }
        catch (JsonException e) { throw new InvalidDataException($"{path}: not a run summary: {e.Message}"); }
    }

    // The derived properties (perplexity, bits) are written for readers of the file and ignored when read back.
    private static readonly JsonSerializerOptions ReadOptions = new(RunOptions.Json)
        { UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Skip };
}
