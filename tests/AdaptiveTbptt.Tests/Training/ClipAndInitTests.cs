using Tbptt.Models;
using Tbptt.Training;
using Tbptt.Truncation;

namespace Tbptt.Tests;

/// <summary>The two settings taken from the paper's reference code: clipping the summed loss, and its initialisation.</summary>
public class ClipAndInitTests
{
    private static readonly ModelConfig Config = new()
    {
        Cell = CellKind.Lstm, Layers = 2, InputSize = 5, EmbedSize = 6, HiddenSize = 7, OutputSize = 5,
    };

    private static TokenStream Stream(int seed, int steps = 60, int batch = 3)
    {
        var rng = new Random(seed);
        var inputs = Enumerable.Range(0, steps * batch).Select(_ => rng.Next(5)).ToArray();
        var targets = Enumerable.Range(0, steps * batch).Select(_ => rng.Next(5)).ToArray();
        return new TokenStream(inputs, targets, batch);
    }

    private static float[] Train(TrainerOptions options, int k)
    {
        var model = SequenceModel<float>.Create(Config, 4);
        var trainer = new Trainer(model, options with { Epochs = 1, LearningRate = 2.0, WeightDecay = 0 }, Stream(1), Stream(2))
        {
            Policy = new FixedTruncation(k, 2 * k - 1, scaleBySqrtK: false),
        };
        trainer.Run();
        return model.Parameters.Data;
    }

    [Theory]
    [InlineData(3)]
    [InlineData(7)]
    public void ClippingTheSummedLossIsClippingTheMeanAtClipOverK(int k)
    {
        // A threshold small enough that every update is clipped, so the two settings would differ if either were ignored.
        var summed = Train(new TrainerOptions { Clip = 0.05, ClipSummedLoss = true }, k);
        var mean = Train(new TrainerOptions { Clip = 0.05 / k }, k);
        var unscaled = Train(new TrainerOptions { Clip = 0.05 }, k);
        Assert.Equal(mean, summed); // bit for bit: the same threshold reaches the same clipping code
        Assert.NotEqual(unscaled, summed);
    }

    [Fact]
    public void ScaledUniformBoundsEveryMatrixByItsLargerSideAndZeroesTheBiases()
    {
        var model = SequenceModel<double>.Create(Config, 9, InitScheme.ScaledUniform);
        var p = model.Parameters;
        foreach (var s in p.Owned)
        {
            var v = p.Values(s).ToArray();
            if (s.Shape.Length == 1)
            {
                Assert.All(v, x => Assert.Equal(0.0, x));
                continue;
            }
            double bound = Math.Sqrt(3.0 / Math.Max(s.Shape[0], s.Shape[1]));
            Assert.All(v, x => Assert.InRange(Math.Abs(x), 0, bound));
            // Uniform on (−a, a): the largest draw comes close to a, and the variance is a²/3.
            Assert.True(v.Max(Math.Abs) > 0.8 * bound, $"{s.Name}: max |w| {v.Max(Math.Abs):G3} against bound {bound:G3}");
            double variance = v.Select(x => x * x).Average();
            Assert.InRange(variance, 0.6 * bound * bound / 3, 1.4 * bound * bound / 3);
        }
        var again = SequenceModel<double>.Create(Config, 9, InitScheme.ScaledUniform);
        Assert.Equal(p.Data, again.Parameters.Data); // the seed fixes every weight
        Assert.NotEqual(p.Data, SequenceModel<double>.Create(Config, 9).Parameters.Data); // and differs from PyTorch's
    }
}
