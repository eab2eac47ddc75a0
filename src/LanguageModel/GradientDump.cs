using Tbptt.Checkpoints;
using Tbptt.Training;
using Tbptt.Truncation;
using Tbptt.Models;
using Tbptt.LanguageModel.Text;

namespace Tbptt.LanguageModel;

/// <summary>
/// The per-update gradients of TBPTT(k1, k2) on a text with the parameters held fixed — what
/// <c>tbptt grad</c> writes and what the PyTorch reference fixtures hold: tensors <c>update{i}.{name}</c> and
/// <c>update{i}.loss</c>.
/// </summary>
internal static class GradientDump
{
    public sealed record Update(int Index, double Loss, IReadOnlyList<SafetensorsTensor> Tensors);

    /// <summary>
    /// Runs N updates from the zero state over the batchified <paramref name="tokens"/> through the trainer's own
    /// gradient step (<see cref="Trainer.GradientStep"/>: what <c>charlm train</c> computes before it clips and
    /// steps), the parameters held fixed. Errors (too few steps, k1 or k2 &lt; 1) are <see cref="ArgumentException"/>s
    /// whose message is fit for a user.
    /// </summary>
    public static IEnumerable<Update> Run(SequenceModel<float> model, int[] tokens, int batch, int k1, int k2, int updates)
    {
        if (k1 < 1) throw new ArgumentOutOfRangeException(nameof(k1), k1, "k1 must be at least 1.");
        if (k2 < 1) throw new ArgumentOutOfRangeException(nameof(k2), k2, "k2 must be at least 1.");
        if (updates < 1) throw new ArgumentOutOfRangeException(nameof(updates), updates, "updates must be at least 1.");
        var data = Batchify.Columns(tokens, batch, out int rows);
        int steps = rows - 1;
        if (steps < updates * k1)
            throw new ArgumentException(
                $"the text gives {Math.Max(steps, 0)} steps per column at batch {batch} ({tokens.Length} characters), but {updates} updates of k1 = {k1} need {updates * k1}.");
        var stream = TokenStream.NextToken(data, batch);
        // The validation stream is never read: the trainer only computes gradients here.
        var trainer = new Trainer(model, new TrainerOptions { Clip = 0 }, stream, stream) { Policy = new FixedTruncation(k1, k2) };
        var p = model.Parameters;
        return Iterate();

        IEnumerable<Update> Iterate()
        {
            for (int i = 0; i < updates; i++)
            {
                double loss = trainer.GradientStep();
                var tensors = p.Slices.Select(s => SafetensorsTensor.FromFloat32($"update{i + 1}.{s.Name}", s.Shape, p.Gradient(s))).ToList();
                tensors.Add(SafetensorsTensor.FromFloat32($"update{i + 1}.loss", [1], [(float)loss]));
                yield return new Update(i + 1, loss, tensors);
            }
        }
    }
}
