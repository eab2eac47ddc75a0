using System.Numerics;

namespace Tbptt.Models;

/// <summary>How a new model's weights are drawn.</summary>
public enum InitScheme
{
    /// <summary>PyTorch's defaults (see <see cref="Initialization.PyTorchDefault{T}"/>).</summary>
    PyTorch,
    /// <summary>
    /// The adaptive-TBPTT paper's reference code: every matrix U(−a, a) with a = √(3 / max(rows, cols)), every
    /// bias zero (see <see cref="Initialization.ScaledUniform{T}"/>).
    /// </summary>
    ScaledUniform,
}

/// <summary>
/// PyTorch's default initialisation, driven by one seeded generator so a seed fixes every weight:
/// recurrent weights and biases U(−1/√H, 1/√H); embedding N(0, 1); Linear weight and bias U(−1/√in, 1/√in)
/// (kaiming_uniform with a = √5 reduces to that bound).
/// </summary>
public static class Initialization
{
    /// <summary>PyTorch's defaults, as above, drawn from <paramref name="seed"/>.</summary>
    public static void PyTorchDefault<T>(SequenceModel<T> model, int seed) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Random(seed);
        var p = model.Parameters;
        var c = model.Config;
        foreach (var s in p.Owned)
        {
            var v = p.Values(s);
            if (s.Name is "embedding.weight")
                Normal(v, rng, 1.0);
            else if (s.Name.StartsWith("rnn.", StringComparison.Ordinal))
                Uniform(v, rng, 1.0 / Math.Sqrt(c.HiddenSize));
            else if (s.Name.StartsWith("decoder.", StringComparison.Ordinal))
                Uniform(v, rng, 1.0 / Math.Sqrt(c.HiddenSize));
            else
                throw new InvalidOperationException($"no initialisation rule for '{s.Name}'.");
        }
    }

    /// <summary>
    /// The initialisation of the adaptive-TBPTT paper's reference code (its <c>init_weights</c>): every matrix
    /// U(−a, a) with a = √(3 / max(rows, cols)), every vector (bias) zero. Its copy-task model feeds a one-hot
    /// input through Linear(6, H); our embedding [6, H] is that Linear's weight transposed, so it gets the
    /// same bound. Zero biases start the LSTM forget gates at σ(0) = ½, and the small input scale keeps the
    /// gates away from saturation: the starting point the paper's copy results were produced from.
    /// </summary>
    public static void ScaledUniform<T>(SequenceModel<T> model, int seed) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Random(seed);
        var p = model.Parameters;
        foreach (var s in p.Owned)
        {
            var v = p.Values(s);
            if (s.Shape.Length == 2) Uniform(v, rng, Math.Sqrt(3.0 / Math.Max(s.Shape[0], s.Shape[1])));
            else v.Clear();
        }
    }

    /// <summary>Initialises <paramref name="model"/> by <paramref name="scheme"/> from <paramref name="seed"/>.</summary>
    public static void Apply<T>(SequenceModel<T> model, InitScheme scheme, int seed) where T : unmanaged, IFloatingPointIeee754<T>
    {
        switch (scheme)
        {
            case InitScheme.PyTorch: PyTorchDefault(model, seed); break;
            case InitScheme.ScaledUniform: ScaledUniform(model, seed); break;
            default: throw new ArgumentOutOfRangeException(nameof(scheme), scheme, "unknown initialisation scheme.");
        }
    }

    /// <summary>Fills <paramref name="v"/> from U(−<paramref name="bound"/>, <paramref name="bound"/>).</summary>
    public static void Uniform<T>(Span<T> v, Random rng, double bound) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < v.Length; i++) v[i] = T.CreateTruncating((rng.NextDouble() * 2 - 1) * bound);
    }

    /// <summary>Box–Muller; both variates used so the stream of draws is fixed by the seed alone.</summary>
    public static void Normal<T>(Span<T> v, Random rng, double std) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < v.Length; i += 2)
        {
            double u1 = 1.0 - rng.NextDouble(), u2 = rng.NextDouble();
            double r = Math.Sqrt(-2 * Math.Log(u1)) * std;
            v[i] = T.CreateTruncating(r * Math.Cos(2 * Math.PI * u2));
            if (i + 1 < v.Length) v[i + 1] = T.CreateTruncating(r * Math.Sin(2 * Math.PI * u2));
        }
    }
}
