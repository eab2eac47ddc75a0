using Tbptt.Models;
using Tbptt.Numerics;
using Tbptt.Training;
using Tbptt.Truncation;
using static Tbptt.Tests.TestModels;

namespace Tbptt.Tests;

/// <summary>
/// Training at matmul precision medium: on a machine with AMX it follows the float32 run to bfloat16's precision
/// (and is not the float32 run: the products really were rounded), a repeat gives the same bits, and without AMX it
/// is the float32 run exactly. Covers every product the engine makes — packed recurrent weights re-packed per
/// window, projections, weight gradients, the decoder, evaluation — through one training run.
/// </summary>
public class MatmulPrecisionTests
{
    private static readonly ModelConfig Config = Tokens(CellKind.Lstm, 2) with
    {
        InputSize = 20, OutputSize = 20, EmbedSize = 16, HiddenSize = 48,
    };

    private static (float[] Parameters, TrainingSummary Summary) Train(string precision)
    {
        using var scope = Blas.UsePrecision(precision);
        var model = SequenceModel<float>.Create(Config, 3);
        var train = TokenStream.NextToken(RandomTokens(8 * 120, Config.InputSize, 1), 8);
        var valid = TokenStream.NextToken(RandomTokens(8 * 40, Config.InputSize, 2), 8);
        var options = new TrainerOptions { Optimizer = "adam", LearningRate = 3e-3, Epochs = 3, EvaluationsPerEpoch = 1, Clip = 1 };
        var trainer = new Trainer(model, options, train, valid) { Policy = new FixedTruncation(10, 10) };
        var summary = trainer.Run();
        return (model.Parameters.Data.ToArray(), summary);
    }

    [Fact]
    public void Medium_follows_float32_to_bfloat16_s_precision_and_repeats_exactly()
    {
        var (exact, exactSummary) = Train(MatmulPrecision.Highest);
        var (medium, mediumSummary) = Train(MatmulPrecision.Medium);
        if (AmxBlas.Instance is null)
        {
            Assert.Equal(exact, medium); // medium is a permission: without AMX it is float32
            return;
        }
        double diff = 0, norm = 0;
        for (int i = 0; i < exact.Length; i++)
        {
            diff += Math.Pow(medium[i] - exact[i], 2);
            norm += Math.Pow(exact[i], 2);
        }
        double relative = Math.Sqrt(diff / norm);
        // 36 Adam updates from the same start: the rounding (2^-9 per operand) moves the weights, but by far less
        // than the updates did.
        Assert.InRange(relative, 1e-6, 1e-2);
        for (int r = 0; r < exactSummary.Evaluations.Count; r++)
            Assert.InRange(mediumSummary.Evaluations[r].ValidLoss - exactSummary.Evaluations[r].ValidLoss, -0.01, 0.01);
        var (again, _) = Train(MatmulPrecision.Medium);
        Assert.Equal(medium, again);
    }
}
