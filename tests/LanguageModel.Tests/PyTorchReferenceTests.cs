using Tbptt.Checkpoints;
using Tbptt.LanguageModel;
using Tbptt.LanguageModel.Text;

namespace Tbptt.Tests;

/// <summary>
/// In the style of llm.c's test against its PyTorch reference: tests/reference/make_fixtures.py wrote models,
/// a text and the per-update TBPTT(k1, k2) gradients PyTorch computes (in float64); our float32 engine must
/// match every tensor of every update to a relative error ‖ours − torch‖₂ / ‖torch‖₂ below 1e-4.
/// </summary>
public class PyTorchReferenceTests
{
    public static TheoryData<string> Cases()
    {
        var data = new TheoryData<string>();
        foreach (var f in Directory.GetFiles(RepoPaths.Fixtures, "*.grads.safetensors").Order(StringComparer.Ordinal))
            data.Add(Path.GetFileName(f));
        return data;
    }

    [Theory, MemberData(nameof(Cases))]
    public void GradientsMatchPyTorch(string gradsFile)
    {
        var expected = Safetensors.Read(Path.Combine(RepoPaths.Fixtures, gradsFile));
        var modelFile = Safetensors.Read(Path.Combine(RepoPaths.Fixtures, expected.GetMetadata("model")));
        var model = ModelCheckpoint.Load(modelFile);
        var vocab = Vocabulary.FromSymbols(modelFile.GetMetadata("vocab"));
        var tokens = vocab.Encode(File.ReadAllText(Path.Combine(RepoPaths.Fixtures, "text.txt")));
        int k1 = int.Parse(expected.GetMetadata("k1")), k2 = int.Parse(expected.GetMetadata("k2"));
        int batch = int.Parse(expected.GetMetadata("batch")), updates = int.Parse(expected.GetMetadata("updates"));

        int compared = 0;
        foreach (var update in GradientDump.Run(model, tokens, batch, k1, k2, updates))
            foreach (var ours in update.Tensors)
            {
                var torch = expected.Get(ours.Name).ToFloat64();
                var mine = ours.ToFloat64();
                double diff = 0, norm = 0;
                for (int i = 0; i < torch.Length; i++) { diff += (mine[i] - torch[i]) * (mine[i] - torch[i]); norm += torch[i] * torch[i]; }
                double rel = Math.Sqrt(diff) / Math.Max(Math.Sqrt(norm), 1e-30);
                Assert.True(rel < 1e-4, $"{gradsFile} {ours.Name}: relative error {rel:E2} (‖torch‖ = {Math.Sqrt(norm):E2})");
                compared++;
            }
        Assert.Equal(expected.Tensors.Count, compared); // every reference tensor was checked
    }
}
