namespace Tbptt.Training;

/// <summary>How the step size moves over a run (<see cref="ScheduleOptions.Kind"/>).</summary>
public enum ScheduleKind
{
    /// <summary>The peak rate throughout.</summary>
    Constant,
    /// <summary>Multiplied by the factor when validation has not improved for more than patience evaluations.</summary>
    Plateau,
    /// <summary>Multiplied by the factor every step-size updates.</summary>
    Step,
    /// <summary>Half a cosine from the peak down to the floor over the run's budget.</summary>
    Cosine,
}

/// <summary>
/// A learning-rate schedule. <see cref="TrainerOptions.LearningRate"/> is the peak; the schedule gives a rate
/// r(t) ≤ peak per update, and the optimizer steps with r(t) · (the truncation policy's step scale, e.g. √K), so a
/// schedule and the adaptive √K scaling compose by multiplication.
/// </summary>
public sealed record ScheduleOptions
{
    /// <summary>constant, plateau, step or cosine.</summary>
    public ScheduleKind Kind { get; init; } = ScheduleKind.Constant;
    /// <summary>Updates of linear warm-up: update u (from 0) is scaled by min(1, (u + 1)/Warmup). 0: none.</summary>
    public long Warmup { get; init; }
    /// <summary>The multiplier of one decay (plateau and step).</summary>
    public double Factor { get; init; } = 0.5;
    /// <summary>Plateau: evaluations without a new best validation loss tolerated before a decay (0: decay at the
    /// first one that does not improve, as the paper's language-model script).</summary>
    public int Patience { get; init; }
    /// <summary>Step: updates between decays.</summary>
    public long StepSize { get; init; } = 1000;
    /// <summary>The floor: decays stop here (warm-up may start below it). A floor above the peak rate is the peak.</summary>
    public double MinLearningRate { get; init; }

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first setting out of range.</summary>
    public void Validate()
    {
        if (!Enum.IsDefined(Kind)) throw new ArgumentOutOfRangeException(nameof(Kind), Kind, "unknown schedule: expected constant, plateau, step or cosine.");
        if (Warmup < 0) throw new ArgumentOutOfRangeException(nameof(Warmup), Warmup, "the warm-up must be ≥ 0 updates.");
        if (!(Factor > 0 && Factor < 1)) throw new ArgumentOutOfRangeException(nameof(Factor), Factor, "the decay factor must be in (0, 1).");
        if (Patience < 0) throw new ArgumentOutOfRangeException(nameof(Patience), Patience, "the patience must be ≥ 0 evaluations.");
        if (StepSize < 1) throw new ArgumentOutOfRangeException(nameof(StepSize), StepSize, "the step size must be at least 1 update.");
        if (!(MinLearningRate >= 0 && double.IsFinite(MinLearningRate)))
            throw new ArgumentOutOfRangeException(nameof(MinLearningRate), MinLearningRate, "the floor must be finite and ≥ 0.");
    }
}

/// <summary>What a plateau schedule has seen: its multiplier, the best validation loss and the evaluations since.
/// Part of a checkpoint, so a resumed run decays exactly where the uninterrupted one would.</summary>
public sealed record ScheduleState(double Scale = 1, double Best = double.PositiveInfinity, int SinceBest = 0);

/// <summary>A schedule's rate per update, and the plateau decisions taken at evaluations.</summary>
internal sealed class LearningRateSchedule(ScheduleOptions options, double peak)
{
    public ScheduleState State { get; set; } = new();

    /// <summary>The rate of update <paramref name="updates"/> (0-based), <paramref name="progress"/> ∈ [0, 1]
    /// through the run's budget (epochs, compute or time, whichever is furthest).</summary>
    public double Rate(long updates, double progress)
    {
        double floor = Math.Min(options.MinLearningRate, peak);
        double decayed = options.Kind switch
        {
            ScheduleKind.Plateau => peak * State.Scale,
            ScheduleKind.Step => peak * Math.Pow(options.Factor, updates / options.StepSize),
            ScheduleKind.Cosine => floor + (peak - floor) * 0.5 * (1 + Math.Cos(Math.PI * Math.Clamp(progress, 0, 1))),
            _ => peak,
        };
        double warm = options.Warmup > 0 ? Math.Min(1.0, (updates + 1.0) / options.Warmup) : 1.0;
        return warm * Math.Max(floor, decayed);
    }

    /// <summary>Plateau: records a validation loss and decays when it is the (patience+1)-th without a new best.</summary>
    public void Observe(double validLoss)
    {
        if (options.Kind != ScheduleKind.Plateau) return;
        var s = State;
        State = validLoss < s.Best ? s with { Best = validLoss, SinceBest = 0 }
            : s.SinceBest + 1 > options.Patience ? s with { Scale = s.Scale * options.Factor, SinceBest = 0 }
            : s with { SinceBest = s.SinceBest + 1 };
    }
}
