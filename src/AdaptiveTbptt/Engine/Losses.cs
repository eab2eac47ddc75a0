using System.Numerics;
using System.Numerics.Tensors;

namespace Tbptt.Engine;

/// <summary>
/// Per-step losses on decoder outputs, each computing the loss and, in place, its gradient times a scale
/// (1/(k1·B) for the averaged TBPTT loss). Losses are summed in double: a window holds thousands of terms.
/// </summary>
internal static class Losses
{
    /// <summary>
    /// Softmax cross-entropy, stable: log Σ exp(z − max) + max − z_y. <paramref name="logits"/> (rows × classes)
    /// is replaced by scale·(softmax(z) − onehot(y)). <c>TensorPrimitives.SoftMax</c> does not subtract the
    /// maximum, hence our own.
    /// </summary>
    public static double SoftmaxCrossEntropy<T>(Span<T> logits, int classes, ReadOnlySpan<int> targets, T scale)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        double total = 0;
        for (int r = 0; r < targets.Length; r++)
        {
            var z = logits.Slice(r * classes, classes);
            int y = targets[r];
            if ((uint)y >= (uint)classes)
                throw new ArgumentOutOfRangeException(nameof(targets), y, $"target class must be in [0, {classes}).");
            T max = TensorPrimitives.Max<T>(z);
            T zy = z[y];
            TensorPrimitives.Subtract(z, max, z);
            TensorPrimitives.Exp(z, z);
            T sum = TensorPrimitives.Sum<T>(z);
            total += double.CreateTruncating(T.Log(sum) + max - zy);
            TensorPrimitives.Multiply(z, scale / sum, z);
            z[y] -= scale;
        }
        return total;
    }

    /// <summary>
    /// The cross-entropy of one row, as <see cref="SoftmaxCrossEntropy"/> computes it (same operations, so the same
    /// value) but without its gradient: <paramref name="z"/> is left holding exp(z − max).
    /// </summary>
    public static double CrossEntropy<T>(Span<T> z, int target) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if ((uint)target >= (uint)z.Length)
            throw new ArgumentOutOfRangeException(nameof(target), target, $"target class must be in [0, {z.Length}).");
        T max = TensorPrimitives.Max<T>(z);
        T zy = z[target];
        TensorPrimitives.Subtract(z, max, z);
        TensorPrimitives.Exp(z, z);
        return double.CreateTruncating(T.Log(TensorPrimitives.Sum<T>(z)) + max - zy);
    }

    /// <summary>
    /// ½‖g(z) − y‖² with g = identity or sigmoid; <paramref name="z"/> is replaced by scale·(g(z) − y)⊙g'(z).
    /// </summary>
    public static double SquaredError<T>(Span<T> z, ReadOnlySpan<T> targets, bool sigmoid, T scale)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (targets.Length != z.Length)
            throw new ArgumentException($"targets hold {targets.Length} values but the outputs need {z.Length}.", nameof(targets));
        if (sigmoid) TensorPrimitives.Sigmoid(z, z);
        double total = 0;
        T half = T.CreateTruncating(0.5);
        for (int i = 0; i < z.Length; i++)
        {
            T y = z[i], e = y - targets[i];
            total += double.CreateTruncating(half * e * e);
            z[i] = sigmoid ? scale * e * y * (T.One - y) : scale * e;
        }
        return total;
    }
}
