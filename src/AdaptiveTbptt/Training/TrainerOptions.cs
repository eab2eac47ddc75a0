namespace Tbptt.Training;

/// <summary>Every hyper-parameter of a training run, with the defaults of the paper's copy task.</summary>
public sealed record TrainerOptions
{
    /// <summary>sgd, adam or adamw (Adam with decoupled weight decay, PyTorch's AdamW).</summary>
    public string Optimizer { get; init; } = "sgd";
    /// <summary>Peak step size: the schedule's rate is at most this, and a policy may scale it per update (√K, or length/K).</summary>
    public double LearningRate { get; init; } = 1.0;
    /// <summary>How the step size moves over the run (constant unless set).</summary>
    public ScheduleOptions Schedule { get; init; } = new();
    /// <summary>SGD momentum.</summary>
    public double Momentum { get; init; }
    /// <summary>Adam's decay of the running gradient mean (PyTorch's betas[0]).</summary>
    public double Beta1 { get; init; } = 0.9;
    /// <summary>Adam's decay of the running squared-gradient mean (PyTorch's betas[1]): the memory of its step normaliser, about 1/(1 − β2) updates.</summary>
    public double Beta2 { get; init; } = 0.999;
    /// <summary>Weight decay: an L2 penalty added to the gradient (sgd, adam), or decoupled (adamw: every weight × (1 − lr·λ) per update).</summary>
    public double WeightDecay { get; init; } = 1e-5;
    /// <summary>Global gradient-norm clip; 0 disables it.</summary>
    public double Clip { get; init; } = 1.0;
    /// <summary>
    /// Apply <see cref="Clip"/> to the gradient of the window's summed loss instead of its per-step mean: the
    /// mean's threshold becomes Clip / k1. The paper's reference code does this (it divides the threshold by the
    /// number of loss steps when the loss is averaged per step), so with the √K step scaling the largest step is
    /// lr·√K·Clip/K = lr·Clip/√K: long windows take smaller, not larger, clipped steps.
    /// </summary>
    public bool ClipSummedLoss { get; init; }
    /// <summary>Passes over the training stream (the state is reset at the start of each).</summary>
    public int Epochs { get; init; } = 1;
    /// <summary>Stop once this many tokens of compute (forward + backward steps × batch, probes included) are spent.</summary>
    public long? ComputeBudget { get; init; }
    /// <summary>Stop after this much wall time.</summary>
    public TimeSpan? TimeLimit { get; init; }
    /// <summary>Evaluation rounds per epoch (at evenly spaced points; the last at the epoch's end).</summary>
    public int EvaluationsPerEpoch { get; init; } = 1;
    /// <summary>Steps per forward chunk during evaluation (memory only; the state is carried across chunks).</summary>
    public int EvalChunk { get; init; } = 200;
    /// <summary>
    /// Most of the compute that probes may take: an adaptive re-estimate due at an evaluation round is skipped
    /// when running it would lift the probes' share of all compute spent above this. Null (the default): every
    /// re-estimate runs, as in Algorithm 1.
    /// </summary>
    public double? MaxProbeShare { get; init; }
    /// <summary>
    /// How the run's float32 matrix products are computed (<see cref="Numerics.MatmulPrecision"/>): <c>highest</c>
    /// (float32) or <c>medium</c> (bfloat16 operands, float32 sums, on AMX tiles where the CPU has them). Applied
    /// by whoever runs the trainer (<see cref="Numerics.Blas.UsePrecision"/>); a trainer built by hand computes on
    /// the active backend.
    /// </summary>
    public string MatmulPrecision { get; init; } = Numerics.MatmulPrecision.Highest;
    /// <summary>Seeds every random choice of the run (window lengths, probe positions).</summary>
    public long Seed { get; init; } = 1;
    /// <summary>
    /// What to do when an update's loss or gradient norm is NaN or infinite (see <see cref="NonFiniteGuard"/>).
    /// Either way a diverged run stops without writing a checkpoint, so the last good one stays.
    /// </summary>
    public NonFinitePolicy OnNonFinite { get; init; } = NonFinitePolicy.Stop;

    /// <summary>The longest <see cref="TimeLimit"/> accepted: about 19 years, far inside TimeSpan's range.</summary>
    public const double MaxMinutes = 1e7;

    /// <summary>A time limit in minutes as a TimeSpan, checked (finite, positive, at most <see cref="MaxMinutes"/>)
    /// before the conversion, which would overflow for a huge value.</summary>
    public static TimeSpan? TimeLimitFromMinutes(double? minutes)
    {
        if (minutes is not { } m) return null;
        if (!(m > 0 && m <= MaxMinutes))
            throw new ArgumentOutOfRangeException("minutes", m, $"the time limit must be more than 0 and at most {MaxMinutes:0e0} minutes.");
        return TimeSpan.FromMinutes(m);
    }

    /// <summary>Throws <see cref="ArgumentException"/> (or its out-of-range kind) naming the first setting out of range.</summary>
    public void Validate()
    {
        if (Optimizer is not ("sgd" or "adam" or "adamw")) throw new ArgumentException($"optimizer '{Optimizer}' is not sgd, adam or adamw.", nameof(Optimizer));
        if (!Numerics.MatmulPrecision.IsKnown(MatmulPrecision))
            throw new ArgumentException($"matmul precision '{MatmulPrecision}' is not {Numerics.MatmulPrecision.Names}.", nameof(MatmulPrecision));
        if (!(LearningRate > 0 && double.IsFinite(LearningRate))) throw new ArgumentOutOfRangeException(nameof(LearningRate), LearningRate, "the learning rate must be finite and > 0.");
        (Schedule ?? throw new ArgumentNullException(nameof(Schedule))).Validate();
        if (!(Momentum >= 0 && Momentum < 1)) throw new ArgumentOutOfRangeException(nameof(Momentum), Momentum, "momentum must be in [0, 1).");
        if (!(Beta1 >= 0 && Beta1 < 1)) throw new ArgumentOutOfRangeException(nameof(Beta1), Beta1, "Adam's beta1 must be in [0, 1).");
        if (!(Beta2 >= 0 && Beta2 < 1)) throw new ArgumentOutOfRangeException(nameof(Beta2), Beta2, "Adam's beta2 must be in [0, 1).");
        if (!(WeightDecay >= 0 && double.IsFinite(WeightDecay))) throw new ArgumentOutOfRangeException(nameof(WeightDecay), WeightDecay, "weight decay must be finite and ≥ 0.");
        if (!(Clip >= 0 && double.IsFinite(Clip))) throw new ArgumentOutOfRangeException(nameof(Clip), Clip, "clip must be finite and ≥ 0 (0 disables it).");
        if (Epochs < 1) throw new ArgumentOutOfRangeException(nameof(Epochs), Epochs, "epochs must be at least 1.");
        if (ComputeBudget is < 1) throw new ArgumentOutOfRangeException(nameof(ComputeBudget), ComputeBudget, "the compute budget must be at least 1 token.");
        if (TimeLimit is { } t && !(t > TimeSpan.Zero && t.TotalMinutes <= MaxMinutes))
            throw new ArgumentOutOfRangeException(nameof(TimeLimit), t, $"the time limit must be more than 0 and at most {MaxMinutes:0e0} minutes.");
        if (EvaluationsPerEpoch < 1) throw new ArgumentOutOfRangeException(nameof(EvaluationsPerEpoch), EvaluationsPerEpoch, "evaluations per epoch must be at least 1.");
        if (EvalChunk < 1) throw new ArgumentOutOfRangeException(nameof(EvalChunk), EvalChunk, "the evaluation chunk must be at least 1 step.");
        if (MaxProbeShare is { } share && !(share > 0 && share <= 1))
            throw new ArgumentOutOfRangeException(nameof(MaxProbeShare), share, "the probe share must be in (0, 1].");
        if (!Enum.IsDefined(OnNonFinite)) throw new ArgumentOutOfRangeException(nameof(OnNonFinite), OnNonFinite, "unknown non-finite policy.");
    }
}

/// <summary>
/// One evaluation round: where training stands and how the model does. <c>K</c> is the truncation the updates
/// since the previous round used; β̂, δ̂(K) and κ̂ are what the probes run at this round found (they set the next K).
/// <c>LearningRate</c> is the schedule's rate for the next update (after this round's plateau decision, before the
/// policy's √K scaling); <c>EvalSeconds</c> the wall time of all evaluation rounds so far, this one included, and
/// <c>ProbeSeconds</c> that of all probes so far (this round's re-estimate included).
/// </summary>
public sealed record EvaluationRecord(
    long Updates, double Epoch, long TokensSeen, long ComputeTokens, long ProbeComputeTokens, double WallSeconds,
    double TrainLoss, double ValidLoss, int K, double LogBeta, double RelativeBiasAtK,
    IReadOnlyList<(double Delta, int K)> KByDelta, double GradientNorm, long SkippedUpdates = 0,
    double LearningRate = double.NaN, double EvalSeconds = 0, double ProbeSeconds = 0)
{
    /// <summary>The share of the wall time so far spent evaluating.</summary>
    public double EvalShare => WallSeconds > 0 ? EvalSeconds / WallSeconds : 0;
    /// <summary>exp(valid loss).</summary>
    public double ValidPerplexity => Math.Exp(ValidLoss);
    /// <summary>Valid loss in bits per token.</summary>
    public double ValidBitsPerToken => ValidLoss / Math.Log(2);
}

/// <summary>The outcome of a run. <see cref="Divergence"/> is set when it stopped on a non-finite value.</summary>
public sealed record TrainingSummary(
    string Policy, long Updates, double Epochs, long ComputeTokens, long ProbeComputeTokens, double WallSeconds,
    double BestValidLoss, double TestLossAtBest, long UpdatesAtBest, int FinalK, bool Interrupted,
    IReadOnlyList<EvaluationRecord> Evaluations, Divergence? Divergence = null, long SkippedUpdates = 0, double EvalSeconds = 0,
    double ProbeSeconds = 0)
{
    /// <summary>The share of the wall time spent evaluating (validation rounds and the test at the end).</summary>
    public double EvalShare => WallSeconds > 0 ? EvalSeconds / WallSeconds : 0;
    /// <summary>The share of compute time (wall time less evaluation: training and probes) spent in probes — the
    /// wall-time counterpart of <see cref="ProbeComputeTokens"/> / <see cref="ComputeTokens"/>.</summary>
    public double ProbeTimeShare => WallSeconds - EvalSeconds > 0 ? ProbeSeconds / (WallSeconds - EvalSeconds) : 0;
    /// <summary>Whether the run stopped on a non-finite value (<see cref="Divergence"/> says where).</summary>
    public bool Diverged => Divergence is not null;
    /// <summary>exp(best valid loss).</summary>
    public double BestValidPerplexity => Math.Exp(BestValidLoss);
    /// <summary>exp(test loss at the best validation point).</summary>
    public double TestPerplexityAtBest => Math.Exp(TestLossAtBest);
    /// <summary>Best valid loss in bits per token.</summary>
    public double BestValidBitsPerToken => BestValidLoss / Math.Log(2);
    /// <summary>Test loss at the best validation point in bits per token.</summary>
    public double TestBitsPerTokenAtBest => TestLossAtBest / Math.Log(2);
}
