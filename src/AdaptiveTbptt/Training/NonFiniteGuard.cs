using System.Globalization;

namespace Tbptt.Training;

/// <summary>What a trainer does when an update's loss or gradient norm is NaN or infinite.</summary>
public enum NonFinitePolicy
{
    /// <summary>Stop at that update, parameters untouched (the default).</summary>
    Stop,
    /// <summary>Skip that update, as mixed-precision trainers skip overflowing steps; stop after
    /// <see cref="NonFiniteGuard.DefaultMaxConsecutiveSkips"/> skips in a row.</summary>
    Skip,
}

/// <summary>The guard's answer for one update.</summary>
public enum UpdateVerdict
{
    /// <summary>Loss and gradient are finite: take the optimizer step.</summary>
    Step,
    /// <summary>Non-finite, and the policy skips: do not step; the carried state should restart.</summary>
    Skip,
    /// <summary>Diverged: do not step, do not write a checkpoint; <see cref="NonFiniteGuard.Divergence"/> says why.</summary>
    Stop,
}

/// <summary>Where and why a run diverged.</summary>
/// <param name="Update">The update that was not taken (1-based: the one after the last good update).</param>
/// <param name="Epoch">The epoch position (fractional) at which it happened.</param>
/// <param name="What">What was non-finite, in words ("the loss is NaN").</param>
public sealed record Divergence(long Update, double Epoch, string What)
{
    /// <summary>One line for a log or an error message.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"training diverged at update {Update} (epoch {Epoch:0.###}): {What}");
}

/// <summary>
/// The divergence check of one training run, for <see cref="Trainer"/> and for anyone who builds a trainer on
/// <see cref="Engine.TbpttEngine{T}"/> directly. Call <see cref="Check"/> after computing the loss and the
/// gradient norm of an update (the norm costs nothing extra when clipping computes it anyway) and before
/// clipping and the optimizer step; step only on <see cref="UpdateVerdict.Step"/>. Call
/// <see cref="CheckParameters"/> after the step: a finite gradient times a huge step size can still overflow the
/// parameters, and a step cannot be skipped once taken.
/// </summary>
/// <example><code>
/// var guard = new NonFiniteGuard(NonFinitePolicy.Skip);
/// double loss = engine.Update(k1, k2, inputs, targets);
/// double norm = GradientClipping.Norm&lt;float&gt;(grad);
/// switch (guard.Check(loss, norm, update, epoch))
/// {
///     case UpdateVerdict.Step: clip; optimizer.Step(parameters, grad); guard.CheckParameters(parameters, update, epoch); break;
///     case UpdateVerdict.Skip: engine.ResetState(); break;
///     case UpdateVerdict.Stop: return guard.Divergence;   // keep the last good checkpoint
/// }
/// </code></example>
public sealed class NonFiniteGuard
{
    /// <summary>Skips in a row after which the skip policy stops too.</summary>
    public const int DefaultMaxConsecutiveSkips = 10;

    /// <summary>A guard with the given policy; <paramref name="maxConsecutiveSkips"/> skips in a row end a skipping run.</summary>
    public NonFiniteGuard(NonFinitePolicy policy = NonFinitePolicy.Stop, int maxConsecutiveSkips = DefaultMaxConsecutiveSkips)
    {
        if (!Enum.IsDefined(policy)) throw new ArgumentOutOfRangeException(nameof(policy), policy, "unknown non-finite policy.");
        if (maxConsecutiveSkips < 1) throw new ArgumentOutOfRangeException(nameof(maxConsecutiveSkips), maxConsecutiveSkips, "at least 1.");
        Policy = policy;
        MaxConsecutiveSkips = maxConsecutiveSkips;
    }

    /// <summary>Stop at the first non-finite update, or skip such updates.</summary>
    public NonFinitePolicy Policy { get; }
    /// <summary>Skips in a row after which a skipping run stops as well.</summary>
    public int MaxConsecutiveSkips { get; }
    /// <summary>Updates skipped so far (restored on resume through <see cref="Restore"/>).</summary>
    public long Skipped { get; private set; }
    /// <summary>Skips since the last update that was taken.</summary>
    public int ConsecutiveSkips { get; private set; }
    /// <summary>Set once the run diverged; every later <see cref="Check"/> answers Stop.</summary>
    public Divergence? Divergence { get; private set; }

    /// <summary>The verdict for an update whose loss and (unclipped) global gradient norm are given.</summary>
    public UpdateVerdict Check(double loss, double gradientNorm, long update, double epoch)
    {
        if (Divergence is not null) return UpdateVerdict.Stop;
        string? what = Describe(loss, gradientNorm);
        if (what is null)
        {
            ConsecutiveSkips = 0;
            return UpdateVerdict.Step;
        }
        if (Policy == NonFinitePolicy.Skip && ConsecutiveSkips + 1 < MaxConsecutiveSkips)
        {
            Skipped++;
            ConsecutiveSkips++;
            return UpdateVerdict.Skip;
        }
        if (Policy == NonFinitePolicy.Skip) what += $" ({MaxConsecutiveSkips} updates in a row; {Skipped + 1} skipped in all)";
        Divergence = new Divergence(update, epoch, what);
        return UpdateVerdict.Stop;
    }

    /// <summary>After a step: false (and diverged) when any parameter is NaN or infinite.</summary>
    public bool CheckParameters(ReadOnlySpan<float> parameters, long update, double epoch)
    {
        // MaxMagnitude propagates NaN and returns ∞ for an infinite entry: one vectorised pass.
        if (parameters.IsEmpty || float.IsFinite(System.Numerics.Tensors.TensorPrimitives.MaxMagnitude(parameters))) return true;
        Divergence ??= new Divergence(update, epoch, "a parameter became NaN or infinite after the optimizer step (lower the learning rate or clip)");
        return false;
    }

    /// <summary>Marks the run diverged for a reason found elsewhere (a non-finite evaluation loss).</summary>
    public void Diverge(long update, double epoch, string what) => Divergence ??= new Divergence(update, epoch, what);

    /// <summary>Continues the count of a resumed run.</summary>
    public void Restore(long skipped, int consecutive)
    {
        Skipped = Math.Max(0, skipped);
        ConsecutiveSkips = Math.Clamp(consecutive, 0, MaxConsecutiveSkips - 1);
    }

    /// <summary>"the loss is NaN", "the gradient norm is +∞", or null when both are finite.</summary>
    public static string? Describe(double loss, double gradientNorm)
    {
        if (double.IsFinite(loss) && double.IsFinite(gradientNorm)) return null;
        var parts = new List<string>(2);
        if (!double.IsFinite(loss)) parts.Add($"the loss is {Show(loss)}");
        if (!double.IsFinite(gradientNorm)) parts.Add($"the gradient norm is {Show(gradientNorm)}");
        return string.Join(" and ", parts);
    }

    private static string Show(double v) => double.IsNaN(v) ? "NaN" : v > 0 ? "+∞" : "−∞";
}
