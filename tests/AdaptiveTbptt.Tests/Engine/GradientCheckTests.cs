using Tbptt.Engine;
using Tbptt.Models;
using static Tbptt.Tests.TestModels;

namespace Tbptt.Tests;

/// <summary>
/// Full-BPTT gradients (TBPTT(T, T) on a T-step stream) against central finite differences of the mean loss,
/// in float64, for every parameter of every cell, one and two layers, every loss.
/// </summary>
public class GradientCheckTests
{
    public static TheoryData<CellKind, int, Nonlinearity> Cells() => new()
    {
        { CellKind.Lstm, 1, Nonlinearity.Tanh }, { CellKind.Lstm, 2, Nonlinearity.Tanh },
        { CellKind.Gru, 1, Nonlinearity.Tanh }, { CellKind.Gru, 2, Nonlinearity.Tanh },
        { CellKind.Elman, 1, Nonlinearity.Tanh }, { CellKind.Elman, 2, Nonlinearity.Tanh },
        { CellKind.Elman, 2, Nonlinearity.Relu }, { CellKind.Elman, 2, Nonlinearity.Identity },
    };

    [Theory, MemberData(nameof(Cells))]
    public void TokenModelMatchesFiniteDifferences(CellKind cell, int layers, Nonlinearity f) =>
        Check(Tokens(cell, layers, f), seed: 11 + layers);

    [Theory]
    [InlineData(CellKind.Lstm, LossKind.SquaredError)]
    [InlineData(CellKind.Gru, LossKind.SigmoidSquaredError)]
    [InlineData(CellKind.Elman, LossKind.SigmoidSquaredError)]
    [InlineData(CellKind.Elman, LossKind.SquaredError)]
    public void VectorModelMatchesFiniteDifferences(CellKind cell, LossKind loss) =>
        Check(Vectors(cell, 2, loss), seed: 5);

    [Theory]
    [InlineData(CellKind.Lstm, 6)]   // SIMD over units (4 doubles per vector) plus a scalar tail of 2
    [InlineData(CellKind.Lstm, 11)]
    [InlineData(CellKind.Gru, 9)]
    public void WidthsThatMixVectorAndTailMatchFiniteDifferences(CellKind cell, int hidden) =>
        Check(Tokens(cell, 2) with { HiddenSize = hidden }, seed: 12);

    [Fact]
    public void TokenInputWithSquaredErrorAndVectorInputWithCrossEntropy()
    {
        Check(Tokens(CellKind.Lstm, 1) with { Loss = LossKind.SquaredError, OutputSize = 3 }, seed: 3);
        Check(Vectors(CellKind.Gru, 1, LossKind.CrossEntropy) with { OutputSize = 4 }, seed: 4);
    }

    [Theory]
    [InlineData(CellKind.Lstm, 2)]
    [InlineData(CellKind.Gru, 3)]
    [InlineData(CellKind.Elman, 2)]
    public void DropoutWithFixedMasksMatchesFiniteDifferences(CellKind cell, int layers)
    {
        var config = Tokens(cell, layers) with { Dropout = 0.3 };
        Check(config, seed: 6);
        // The masks are really applied: training-mode loss differs from the evaluation-mode loss.
        var model = SequenceModel<double>.Create(config, 6);
        var stream = MakeStream(config, 7, 2, 6);
        double train = Update(Engine(model, 2), 7, 7, stream);
        var eval = Engine(model, 2);
        eval.Tape.Training = false;
        Assert.NotEqual(train, Update(eval, 7, 7, stream));
    }

    /// <summary>A fresh engine whose dropout masks replay from the same generator state on every call.</summary>
    private static TbpttEngine<double> Engine(SequenceModel<double> model, int batch)
    {
        var e = new TbpttEngine<double>(model, batch);
        e.Tape.DropoutRandom = new Tbptt.Numerics.SeededRandom(7);
        return e;
    }

    private static void Check(ModelConfig config, int seed)
    {
        const int steps = 7, batch = 2;
        var model = SequenceModel<double>.Create(config, seed);
        var stream = MakeStream(config, steps, batch, seed);
        var p = model.Parameters;
        p.ZeroGrad();
        Update(Engine(model, batch), steps, steps, stream);
        var analytic = (double[])p.Grad.Clone();

        const double eps = 1e-6;
        var numeric = new double[p.Length];
        for (int i = 0; i < p.Length; i++)
        {
            double keep = p.Data[i];
            p.Data[i] = keep + eps;
            double up = Update(Engine(model, batch), steps, steps, stream);
            p.Data[i] = keep - eps;
            double down = Update(Engine(model, batch), steps, steps, stream);
            p.Data[i] = keep;
            numeric[i] = (up - down) / (2 * eps);
        }
        foreach (var s in p.Slices)
            AssertClose(numeric.AsSpan(s.Offset, s.Length), analytic.AsSpan(s.Offset, s.Length), 1e-6, 1e-9,
                $"{config.Cell}/{config.Layers} layers/{config.Loss}: {s.Name}");
        Assert.Contains(analytic, g => Math.Abs(g) > 1e-4); // the check saw real gradients
    }
}
