using Tbptt.Checkpoints;
using static Tbptt.Tests.CliRunner;

namespace Tbptt.Tests;

/// <summary>The command-line contract of issue 2: info, init, grad, and one clear error line for bad input.</summary>
public class EngineCommandTests
{
    private static string Model => Path.Combine(Fixtures, "lstm_l2.model.safetensors");
    private static string Text => Path.Combine(Fixtures, "text.txt");

    [Fact]
    public void InfoNamesTheBlasBackend()
    {
        var r = Run("info");
        Assert.Equal(0, r.ExitCode);
        Assert.Matches(@"blas:\s+(managed|openblas|mkl|reference)", r.Out);
    }

    [Fact]
    public void GradWritesWhatPyTorchComputes()
    {
        string dir = TempDir(), output = Path.Combine(dir, "g.safetensors");
        var r = Run("grad", "--model", Model, "--text", Text, "--batch", "3", "--k1", "3", "--k2", "5", "--updates", "3", "--out", output);
        Assert.True(r.ExitCode == 0, r.Err);
        Assert.Equal(3, r.Out.Split('\n').Count(l => l.StartsWith("update ")));
        var ours = Safetensors.Read(output);
        var torch = Safetensors.Read(Path.Combine(Fixtures, "lstm_l2.k3_5.grads.safetensors"));
        Assert.Equal(torch.Tensors.Select(t => t.Name).Order(), ours.Tensors.Select(t => t.Name).Order());
        foreach (var t in torch.Tensors)
        {
            double[] a = t.ToFloat64(), b = ours.Get(t.Name).ToFloat64();
            double diff = Math.Sqrt(a.Zip(b, (x, y) => (x - y) * (x - y)).Sum()), norm = Math.Sqrt(a.Sum(x => x * x));
            Assert.True(diff <= 1e-4 * norm, $"{t.Name}: {diff / norm:E2}");
        }
    }

    [Fact]
    public void InitWritesALoadableModelWithItsVocabulary()
    {
        string dir = TempDir(), output = Path.Combine(dir, "m.safetensors");
        var r = Run("init", "--cell", "gru", "--vocab-from", Text, "--embed", "4", "--hidden", "6", "--layers", "2", "--seed", "3", "--out", output);
        Assert.True(r.ExitCode == 0, r.Err);
        var file = Safetensors.Read(output);
        Assert.Equal("gru", file.GetMetadata("cell"));
        Assert.Equal(new string(File.ReadAllText(Text).Distinct().Order().ToArray()), file.GetMetadata("vocab"));
        Assert.Equal([18, 4], file.Get("embedding.weight").Shape);
        Assert.Equal([18, 6], file.Get("rnn.weight_ih_l1").Shape);
        var again = Path.Combine(dir, "m2.safetensors");
        Run("init", "--cell", "gru", "--vocab-from", Text, "--embed", "4", "--hidden", "6", "--layers", "2", "--seed", "3", "--out", again);
        Assert.Equal(File.ReadAllBytes(output), File.ReadAllBytes(again)); // the seed fixes every weight
    }

    [Fact]
    public void BadInputGetsOneClearLine()
    {
        string dir = TempDir();
        string Write(string name, string text) { var p = Path.Combine(dir, name); File.WriteAllText(p, text); return p; }
        string output = Path.Combine(dir, "g.safetensors");
        string[] Grad(string model, string text, string k1 = "2", string k2 = "2") =>
            ["grad", "--model", model, "--text", text, "--k1", k1, "--k2", k2, "--out", output];

        AssertOneLineError(Run(Grad(Model, Write("unknown.txt", "zzz"))), "'z' (U+007A) at position 0 is not in the model's vocabulary");
        AssertOneLineError(Run(Grad(Model, Write("empty.txt", ""))), "empty");
        AssertOneLineError(Run(Grad(Model, Write("short.txt", "a"))), "at least 2");
        AssertOneLineError(Run(Grad(Model, Write("two.txt", "ace"), "5", "5")), "need 5");
        AssertOneLineError(Run(Grad(Model, Text, "0")), "k1 must be at least 1");
        AssertOneLineError(Run(Grad(Model, Text, "2", "-1")), "k2 must be at least 1");
        AssertOneLineError(Run(Grad(Write("junk.safetensors", "not a model at all"), Text)), "not a valid safetensors file");
        AssertOneLineError(Run(Grad(Path.Combine(dir, "missing.safetensors"), Text)), "missing.safetensors");
        AssertOneLineError(Run(Grad(Model, Path.Combine(dir, "missing.txt"))), "missing.txt");

        // A model lacking a tensor, and one whose tensor has the wrong shape.
        var source = Safetensors.Read(Model);
        string lacking = Path.Combine(dir, "lacking.safetensors"), misshapen = Path.Combine(dir, "misshapen.safetensors");
        Safetensors.Write(lacking, source.Tensors.Where(t => t.Name != "rnn.bias_hh_l1"), source.Metadata);
        AssertOneLineError(Run(Grad(lacking, Text)), "rnn.bias_hh_l1");
        Safetensors.Write(misshapen, source.Tensors.Select(t => t.Name == "rnn.weight_hh_l0"
            ? SafetensorsTensor.FromFloat32(t.Name, [28, 6], t.ToFloat32().AsSpan(0, 168)) : t), source.Metadata);
        AssertOneLineError(Run(Grad(misshapen, Text)), "rnn.weight_hh_l0");
        Assert.False(File.Exists(output)); // nothing half-written
    }

    [Fact]
    public void EveryCommandHasHelpWithDefaults()
    {
        foreach (var command in new[] { "info", "init", "grad", "probe", "estimate-k", "demo" })
        {
            var r = Run(command, "--help");
            Assert.True(r.ExitCode == 0, $"{command}: {r.Err}");
            Assert.Contains("Usage:", r.Out);
            if (command is "init" or "grad" or "probe" or "estimate-k") Assert.Contains("[default:", r.Out);
        }
    }
}
