using System.Numerics;

namespace Tbptt.Optimizers;

/// <summary>
/// An optimizer over a flat parameter buffer. Moments share the parameters' layout, so a step is one loop and
/// the optimizer's state is saved as a few named flat buffers.
/// </summary>
public interface IOptimizer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Step size; the adaptive trainer rescales it by √K between updates.</summary>
    double LearningRate { get; set; }
    /// <summary>Updates taken so far.</summary>
    long Steps { get; }
    /// <summary>θ ← θ − step(∇θ) using <paramref name="grad"/> as filled by backward.</summary>
    void Step(Span<T> parameters, ReadOnlySpan<T> grad);
    /// <summary>Named state buffers (moments, step count) for checkpoints; same layout as the parameters.</summary>
    IReadOnlyDictionary<string, T[]> State { get; }
    /// <summary>Restores the step count after loading <see cref="State"/>.</summary>
    void RestoreSteps(long steps);
}

/// <summary>Global-norm clipping as PyTorch's clip_grad_norm_: g ← g · max/(‖g‖ + 1e−6) when ‖g‖ &gt; max.</summary>
public static class GradientClipping
{
    /// <summary>
    /// Clips in place and returns the norm before clipping (what a trainer logs). A NaN or infinite norm leaves
    /// g untouched and is returned as is: scaling by max/∞ would zero the gradient and by max/NaN poison it, and
    /// either would hide the divergence — check the result (<see cref="Training.NonFiniteGuard"/>) before stepping.
    /// </summary>
    public static double ClipGlobalNorm<T>(Span<T> grad, double maxNorm) where T : unmanaged, IFloatingPointIeee754<T>
    {
        double norm = Norm<T>(grad);
        if (maxNorm > 0 && double.IsFinite(norm) && norm > maxNorm)
            System.Numerics.Tensors.TensorPrimitives.Multiply(grad, T.CreateTruncating(maxNorm / (norm + 1e-6)), grad);
        return norm;
    }

    /// <summary>‖g‖₂ accumulated in double.</summary>
    public static double Norm<T>(ReadOnlySpan<T> g) where T : unmanaged, IFloatingPointIeee754<T>
    {
        double s = 0;
        foreach (var v in g) { double d = double.CreateTruncating(v); s += d * d; }
        return Math.Sqrt(s);
    }
}
