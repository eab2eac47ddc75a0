using System.Numerics;

namespace Tbptt.Optimizers;

/// <summary>
/// PyTorch's SGD: g ← g + λθ; with momentum μ: b ← μ·b + g (b = g on the first step), g ← b (Nesterov: g + μ·b);
/// θ ← θ − lr·g.
/// </summary>
public sealed class Sgd<T> : IOptimizer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly T[] _momentum;
    private readonly Dictionary<string, T[]> _state = new();

    /// <summary>SGD (PyTorch's <c>torch.optim.SGD</c>) over <paramref name="length"/> parameters.</summary>
    public Sgd(int length, double learningRate, double momentum = 0, double weightDecay = 0, bool nesterov = false)
    {
        if (!(learningRate >= 0)) throw new ArgumentOutOfRangeException(nameof(learningRate), learningRate, "learning rate must be ≥ 0.");
        if (!(momentum >= 0 && momentum < 1)) throw new ArgumentOutOfRangeException(nameof(momentum), momentum, "momentum must be in [0, 1).");
        if (!(weightDecay >= 0)) throw new ArgumentOutOfRangeException(nameof(weightDecay), weightDecay, "weight decay must be ≥ 0.");
        if (nesterov && momentum == 0) throw new ArgumentException("Nesterov momentum needs momentum > 0.", nameof(nesterov));
        LearningRate = learningRate;
        Momentum = momentum;
        WeightDecay = weightDecay;
        Nesterov = nesterov;
        _momentum = momentum > 0 ? new T[length] : [];
        if (momentum > 0) _state["momentum_buffer"] = _momentum;
    }

    /// <inheritdoc/>
    public double LearningRate { get; set; }
    /// <summary>Momentum coefficient; 0 is plain SGD.</summary>
    public double Momentum { get; }
    /// <summary>L2 penalty coefficient, added to the gradient.</summary>
    public double WeightDecay { get; }
    /// <summary>Nesterov momentum.</summary>
    public bool Nesterov { get; }
    /// <inheritdoc/>
    public long Steps { get; private set; }
    /// <inheritdoc/>
    public IReadOnlyDictionary<string, T[]> State => _state;
    /// <inheritdoc/>
    public void RestoreSteps(long steps) => Steps = steps;

    /// <inheritdoc/>
    public void Step(Span<T> parameters, ReadOnlySpan<T> grad)
    {
        if (grad.Length != parameters.Length) throw new ArgumentException($"gradient has {grad.Length} values, parameters {parameters.Length}.");
        T lr = T.CreateTruncating(LearningRate), wd = T.CreateTruncating(WeightDecay), mu = T.CreateTruncating(Momentum);
        bool first = Steps == 0;
        for (int i = 0; i < parameters.Length; i++)
        {
            T g = grad[i] + wd * parameters[i];
            if (_momentum.Length > 0)
            {
                T b = first ? g : mu * _momentum[i] + g;
                _momentum[i] = b;
                g = Nesterov ? g + mu * b : b;
            }
            parameters[i] -= lr * g;
        }
        Steps++;
    }
}
