using System.Numerics;

namespace Tbptt.Models;

/// <summary>
/// PyTorch's default initialisation, driven by one seeded generator so a seed fixes every weight:
/// recurrent weights and biases U(−1/√H, 1/√H); embedding N(0, 1); Linear weight and bias U(−1/√in, 1/√in)
/// (kaiming_uniform with a = √5 reduces to that bound).
/// </summary>
public static class Initialization
{
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
