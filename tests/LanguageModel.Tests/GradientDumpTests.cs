using Tbptt.LanguageModel;
using Tbptt.LanguageModel.Text;
using Tbptt.Models;
using Tbptt.Training;
using Tbptt.Truncation;

namespace Tbptt.Tests;

/// <summary><c>tbptt grad</c> writes the gradient the trainer steps with: it goes through the trainer's own update.</summary>
public class GradientDumpTests
{
    [Fact]
    public void GradWritesTheGradientTheTrainerStepsWith()
    {
        var config = new ModelConfig
        {
            Cell = CellKind.Lstm, Layers = 2, Input = InputKind.Tokens, InputSize = 7, EmbedSize = 4, HiddenSize = 9,
            OutputSize = 7, Loss = LossKind.CrossEntropy, Dropout = 0.2, // the masks must be the trainer's too
        };
        var rng = new Random(3);
        var tokens = Enumerable.Range(0, 3 * 40).Select(_ => rng.Next(7)).ToArray();
        var dumped = GradientDump.Run(SequenceModel<float>.Create(config, 5), tokens, 3, 4, 6, 1).Single();

        var model = SequenceModel<float>.Create(config, 5);
        var stream = TokenStream.NextToken(Batchify.Columns(tokens, 3, out _), 3);
        var trainer = new Trainer(model, new TrainerOptions { Clip = 0, WeightDecay = 0, LearningRate = 0.1 }, stream, stream)
            { Policy = new FixedTruncation(4, 6) };
        Assert.True(trainer.TrainStep());
        var p = model.Parameters;
        foreach (var s in p.Slices)
            Assert.True(p.Gradient(s).SequenceEqual(dumped.Tensors.Single(t => t.Name == $"update1.{s.Name}").ToFloat32()), s.Name);
        Assert.Equal(trainer.LastLoss, dumped.Loss);
    }
}
