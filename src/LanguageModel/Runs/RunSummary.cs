using Tbptt.Truncation;
using System.Text.Json;
using Tbptt.BiasEstimation;
using Tbptt.Training;

namespace Tbptt.LanguageModel.Runs;

/// <summary>One evaluation round as a run's <c>summary.json</c> keeps it (the metrics CSV has the same numbers).</summary>
public sealed record EvaluationPoint(long Updates, double Epoch, long Tokens, long ComputeTokens, long ProbeComputeTokens,
    double WallSeconds, double TrainLoss, double ValidLoss, int K, double LogBeta, double RelativeBiasAtK, double GradNorm,
    long SkippedUpdates, double LearningRate = double.NaN, double EvalSeconds = 0, double ProbeSeconds = 0)
{
    /// <summary>The point of a trainer's evaluation record.</summary>
    public static EvaluationPoint From(EvaluationRecord r) => new(r.Updates, r.Epoch, r.TokensSeen, r.ComputeTokens,
        r.ProbeComputeTokens, r.WallSeconds, r.TrainLoss, r.ValidLoss, r.K, r.LogBeta, r.RelativeBiasAtK, r.GradientNorm,
        r.SkippedUpdates, r.LearningRate, r.EvalSeconds, r.ProbeSeconds);
}

/// <summary>One re-estimate of an adaptive run: the K chosen and what each probe found.</summary>
public sealed record KPoint(long Update, int K, double LogBeta, double RelativeBiasAtK, IReadOnlyList<int> ProbeKs);

/// <summary>The φ profile and δ̂(K) measured once at the end of training.</summary>
public sealed record FinalProfile(double LogBeta, int Tau, IReadOnlyList<double> LogPhiBar, IReadOnlyList<double> RelativeBias)
{
    /// <summary>The parts of an estimate that the plots and tables use.</summary>
    public static FinalProfile From(BiasEstimate e) => new(e.LogBeta, e.Tau, e.LogPhiBar.ToArray(), e.RelativeBias.ToArray());
}

/// <summary>
/// The outcome of one run, written as <c>summary.json</c> in its folder and read back by <c>sweep aggregate</c>:
/// every number of the comparison table and plots comes from here, so a table aggregated from runs on a cluster
/// equals one aggregated from the same runs done locally, number for number (doubles round-trip; NaN and ∞ kept).
/// </summary>
public sealed record RunSummary
{
    /// <summary>"copy" or "charlm".</summary>
    public required string Task { get; init; }
    /// <summary>"K=15" or "δ=0.1".</summary>
    public required string Policy { get; init; }
    /// <summary>The run's seed.</summary>
    public required long Seed { get; init; }
    /// <summary>Updates made.</summary>
    public required long Updates { get; init; }
    /// <summary>Passes over the training data (fractional).</summary>
    public required double Epochs { get; init; }
    /// <summary>Tokens of compute: (forward + backward steps) × batch, probes included.</summary>
    public required long ComputeTokens { get; init; }
    /// <summary>The part of <see cref="ComputeTokens"/> the probes took.</summary>
    public required long ProbeComputeTokens { get; init; }
    /// <summary>Wall time of training, time before a resume included.</summary>
    public required double WallSeconds { get; init; }
    /// <summary>The part of <see cref="WallSeconds"/> spent evaluating (validation rounds and the test at the end).</summary>
    public double EvalSeconds { get; init; }
    /// <summary><see cref="EvalSeconds"/> / <see cref="WallSeconds"/>.</summary>
    public double EvalShare => WallSeconds > 0 ? EvalSeconds / WallSeconds : 0;
    /// <summary>The part of <see cref="WallSeconds"/> spent in probes (re-estimates; not the final profile).</summary>
    public double ProbeSeconds { get; init; }
    /// <summary><see cref="ProbeSeconds"/> / (<see cref="WallSeconds"/> − <see cref="EvalSeconds"/>): the probes' share of
    /// the time spent computing (training and probes), the wall-time counterpart of the token share
    /// <see cref="ProbeComputeTokens"/> / <see cref="ComputeTokens"/>.</summary>
    public double ProbeTimeShare => WallSeconds - EvalSeconds > 0 ? ProbeSeconds / (WallSeconds - EvalSeconds) : 0;
    /// <summary>The best validation cross-entropy (nats per token).</summary>
    public required double BestValidLoss { get; init; }
    /// <summary>The test cross-entropy at the best validation point.</summary>
    public required double TestLossAtBest { get; init; }
    /// <summary>Updates at the best validation point.</summary>
    public required long UpdatesAtBest { get; init; }
    /// <summary>The truncation K at the end.</summary>
    public required int FinalK { get; init; }
    /// <summary>Stopped before its budget ran out (Ctrl-C, SIGTERM); resumable.</summary>
    public required bool Interrupted { get; init; }
    /// <summary>Where training hit a non-finite loss, gradient or parameter; null when it did not.</summary>
    public Divergence? Divergence { get; init; }
    /// <summary>Whether training stopped on a non-finite value.</summary>
    public bool Diverged => Divergence is not null;
    /// <summary>Updates skipped for a non-finite value (with <see cref="NonFinitePolicy.Skip"/>).</summary>
    public long SkippedUpdates { get; init; }
    /// <summary>exp(<see cref="BestValidLoss"/>).</summary>
    public double BestValidPerplexity => Math.Exp(BestValidLoss);
    /// <summary>exp(<see cref="TestLossAtBest"/>).</summary>
    public double TestPerplexityAtBest => Math.Exp(TestLossAtBest);
    /// <summary><see cref="BestValidLoss"/> in bits.</summary>
    public double BestValidBits => BestValidLoss / Math.Log(2);
    /// <summary><see cref="TestLossAtBest"/> in bits.</summary>
    public double TestBitsAtBest => TestLossAtBest / Math.Log(2);
    /// <summary>Every evaluation round.</summary>
    public required IReadOnlyList<EvaluationPoint> Evaluations { get; init; }
    /// <summary>Every re-estimate of an adaptive run (empty for a fixed one).</summary>
    public required IReadOnlyList<KPoint> KHistory { get; init; }
    /// <summary>The φ profile and δ̂(K) at the end (null when stopped, diverged or the stream is too short).</summary>
    public FinalProfile? FinalProfile { get; init; }

    /// <summary>The summary of a finished trainer run.</summary>
    public static RunSummary From(RunOptions o, TrainingSummary s, IReadOnlyList<KEstimate> history, BiasEstimate? final) => new()
    {
        Task = o.Task, Policy = o.PolicyName, Seed = o.Training.Seed, Updates = s.Updates, Epochs = s.Epochs,
        ComputeTokens = s.ComputeTokens, ProbeComputeTokens = s.ProbeComputeTokens, WallSeconds = s.WallSeconds, EvalSeconds = s.EvalSeconds, ProbeSeconds = s.ProbeSeconds,
        BestValidLoss = s.BestValidLoss, TestLossAtBest = s.TestLossAtBest, UpdatesAtBest = s.UpdatesAtBest,
        FinalK = s.FinalK, Interrupted = s.Interrupted, Divergence = s.Divergence, SkippedUpdates = s.SkippedUpdates,
        Evaluations = s.Evaluations.Select(EvaluationPoint.From).ToArray(),
        KHistory = history.Select(h => new KPoint(h.Update, h.K, h.LogBeta, h.RelativeBiasAtK, h.ProbeKs.ToArray())).ToArray(),
        FinalProfile = final is null ? null : FinalProfile.From(final),
    };

    /// <summary>The summary as summary.json text.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, RunOptions.Json);

    /// <summary>Reads a summary.json; a damaged one is an <see cref="InvalidDataException"/>.</summary>
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
