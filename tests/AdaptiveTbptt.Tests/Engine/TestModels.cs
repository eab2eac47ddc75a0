using Tbptt.Engine;
using Tbptt.Models;

namespace Tbptt.Tests;

/// <summary>Small models and streams for gradient tests, all seeded.</summary>
internal static class TestModels
{
    public static ModelConfig Tokens(CellKind cell, int layers, Nonlinearity f = Nonlinearity.Tanh) => new()
    {
        Cell = cell, Nonlinearity = f, Layers = layers, Input = InputKind.Tokens,
        InputSize = 5, EmbedSize = 3, HiddenSize = 4, OutputSize = 5, Loss = LossKind.CrossEntropy,
    };

    public static ModelConfig Vectors(CellKind cell, int layers, LossKind loss, Nonlinearity f = Nonlinearity.Tanh) => new()
    {
        Cell = cell, Nonlinearity = f, Layers = layers, Input = InputKind.Vectors,
        InputSize = 3, HiddenSize = 4, OutputSize = 2, Loss = loss,
    };

    public static int[] RandomTokens(int count, int vocab, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => rng.Next(vocab)).ToArray();
    }

    public static T[] RandomVector<T>(int count, int seed, double scale = 1.0) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => T.CreateTruncating((rng.NextDouble() * 2 - 1) * scale)).ToArray();
    }

    /// <summary>Inputs and targets of a stream, step-major ([steps, B, …]).</summary>
    public sealed record StepData(int[] InTok, double[] InVec, int[] TgtTok, double[] TgtVec)
    {
        public StepData Slice(ModelConfig c, int batch, int from, int steps)
        {
            int inW = c.Input == InputKind.Tokens ? 0 : c.InputSize;
            int outW = c.Loss == LossKind.CrossEntropy ? 0 : c.OutputSize;
            return new StepData(
                InTok.Length == 0 ? [] : InTok[(from * batch)..((from + steps) * batch)],
                InVec.Length == 0 ? [] : InVec[(from * batch * inW)..((from + steps) * batch * inW)],
                TgtTok.Length == 0 ? [] : TgtTok[(from * batch)..((from + steps) * batch)],
                TgtVec.Length == 0 ? [] : TgtVec[(from * batch * outW)..((from + steps) * batch * outW)]);
        }
    }

    public static StepData MakeStream(ModelConfig c, int steps, int batch, int seed)
    {
        int n = steps * batch;
        bool tok = c.Input == InputKind.Tokens, ce = c.Loss == LossKind.CrossEntropy;
        double[] tgtVec = ce ? [] : RandomVector<double>(n * c.OutputSize, seed + 3);
        if (c.Loss == LossKind.SigmoidSquaredError) tgtVec = tgtVec.Select(v => 0.5 + 0.45 * v).ToArray();
        return new StepData(
            tok ? RandomTokens(n, c.InputSize, seed + 1) : [],
            tok ? [] : RandomVector<double>(n * c.InputSize, seed + 2),
            ce ? RandomTokens(n, c.OutputSize, seed + 4) : [],
            tgtVec);
    }

    public static double Update(TbpttEngine<double> e, int k1, int k2, StepData s) =>
        e.Update(k1, k2, s.InTok, s.InVec, s.TgtTok, s.TgtVec);

    /// <summary>Mixed absolute/relative comparison that names the worst element on failure.</summary>
    public static void AssertClose(ReadOnlySpan<double> expected, ReadOnlySpan<double> actual, double rel, double abs, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        double worst = 0; int at = -1;
        for (int i = 0; i < expected.Length; i++)
        {
            double err = Math.Abs(expected[i] - actual[i]) / (abs + rel * Math.Max(Math.Abs(expected[i]), Math.Abs(actual[i])));
            if (err > worst) { worst = err; at = i; }
        }
        Assert.True(worst <= 1.0,
            $"{what}: element {at} expected {(at >= 0 ? expected[at] : 0):R} got {(at >= 0 ? actual[at] : 0):R} (error {worst:F2}× the tolerance)");
    }
}
