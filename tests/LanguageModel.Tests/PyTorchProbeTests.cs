using Tbptt.Checkpoints;
using Tbptt.LanguageModel.Text;
using Tbptt.Probes;

namespace Tbptt.Tests;

/// <summary>
/// The PyTorch bridge (bridges/pytorch/tbptt_probe.py) and our probe measure the same thing: on every reference
/// model, tests/reference/make_fixtures.py stored the bridge's φ table and mean gradients (float64), and our
/// float32 probe — what <c>tbptt probe</c> runs — must give each lag's row to a relative error below 1e-4. So the
/// bridge uses our state view and lag numbering, and a PyTorch user's CSV means what ours means.
/// </summary>
public class PyTorchProbeTests
{
    public static TheoryData<string> Cases()
    {
        var data = new TheoryData<string>();
        foreach (var f in Directory.GetFiles(RepoPaths.Fixtures, "*.phi.safetensors").Order(StringComparer.Ordinal))
            data.Add(Path.GetFileName(f));
        return data;
    }

    [Fact]
    public void EveryReferenceModelHasABridgeTable() =>
        Assert.Equal(Directory.GetFiles(RepoPaths.Fixtures, "*.model.safetensors").Length, ((IEnumerable<object[]>)Cases()).Count());

    [Theory, MemberData(nameof(Cases))]
    public void OurProbeGivesTheBridgesTable(string phiFile)
    {
        var expected = Safetensors.Read(Path.Combine(RepoPaths.Fixtures, phiFile));
        var modelFile = Safetensors.Read(Path.Combine(RepoPaths.Fixtures, expected.GetMetadata("model")));
        var model = ModelCheckpoint.Load(modelFile);
        var vocab = Vocabulary.FromSymbols(modelFile.GetMetadata("vocab"));
        var tokens = vocab.Encode(File.ReadAllText(Path.Combine(RepoPaths.Fixtures, "text.txt")));
        int window = int.Parse(expected.GetMetadata("window")), burnIn = int.Parse(expected.GetMetadata("burn_in"));
        int[] offsets = expected.GetMetadata("offsets").Split(',').Select(int.Parse).ToArray();

        var probe = new GradientProbe<float>(model, new ProbeOptions { Window = window, BurnIn = burnIn, Samples = offsets.Length });
        var ours = probe.Run(tokens.AsSpan(0, tokens.Length - 1), tokens.AsSpan(1), offsets);

        var phi = expected.Get("phi").ToFloat64();
        var mean = expected.Get("mean").ToFloat64();
        int s = offsets.Length, state = model.Config.StateSize;
        Assert.Equal([window, s], expected.Get("phi").Shape);
        Assert.Equal([window, state], expected.Get("mean").Shape);
        for (int k = 0; k < window; k++)
        {
            Check($"φ at lag {k}", Enumerable.Range(0, s).Select(i => ours.Phi[k, i]).ToArray(), phi.AsSpan(k * s, s));
            Check($"mean gradient at lag {k}", ours.MeanGradient[k], mean.AsSpan(k * state, state));
        }

        void Check(string what, double[] mine, ReadOnlySpan<double> torch)
        {
            double diff = 0, norm = 0;
            for (int i = 0; i < torch.Length; i++) { diff += (mine[i] - torch[i]) * (mine[i] - torch[i]); norm += torch[i] * torch[i]; }
            Assert.True(norm > 0, $"{phiFile}: the bridge's {what} is zero: nothing compared");
            double rel = Math.Sqrt(diff / norm);
            Assert.True(rel < 1e-4, $"{phiFile}: {what}: relative error {rel:E2} (‖torch‖ = {Math.Sqrt(norm):E2})");
        }
    }
}
