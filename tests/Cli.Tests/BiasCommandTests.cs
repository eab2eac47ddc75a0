using System.Globalization;
using System.Text.Json;
using static Tbptt.Tests.CliRunner;

namespace Tbptt.Tests;

/// <summary>The command-line contract of issue 3: probe writes φ, estimate-k reads it (text and JSON).</summary>
public class BiasCommandTests
{
    [Fact]
    public void ProbeWritesTheTableEstimateKReads()
    {
        string dir = TempDir(), norms = Path.Combine(dir, "norms.csv");
        var probe = Run("probe", "--model", Path.Combine(Fixtures, "gru_l2.model.safetensors"), "--text", Path.Combine(Fixtures, "text.txt"),
            "--window", "20", "--burnin", "5", "--samples", "6", "--seed", "3", "--out", norms, "--exact-bias", "1,2,5,10");
        Assert.True(probe.ExitCode == 0, probe.Err);
        var lines = File.ReadAllLines(norms);
        Assert.Equal(21, lines.Length); // header + W rows
        Assert.Equal(6, lines[1].Split(',').Length);
        Assert.Contains("measured", probe.Out);
        foreach (var k in new[] { "1", "2", "5", "10", "20" })
            Assert.Matches($@"(?m)^\s+{k}\s+[0-9.eE+-]+\s+", probe.Out); // one row per K of the grid (W appended)

        var json = Run("estimate-k", "--norms", norms, "--delta", "0.9,0.5,0.10", "--json");
        Assert.True(json.ExitCode == 0, json.Err);
        using var doc = JsonDocument.Parse(json.Out);
        var root = doc.RootElement;
        foreach (var key in new[] { "logBeta", "beta", "tau", "kByDelta", "relativeBias", "diagnostics" })
            Assert.True(root.TryGetProperty(key, out _), $"missing {key}");
        Assert.Equal(18, root.GetProperty("tau").GetInt32()); // W − W/10
        var kByDelta = root.GetProperty("kByDelta");
        Assert.True(kByDelta.TryGetProperty("0.10", out _), "δ keys are written as the user typed them");
        int k09 = kByDelta.GetProperty("0.9").GetInt32(), k01 = kByDelta.GetProperty("0.10").GetInt32();
        Assert.True(k09 <= k01, "κ̂ is non-increasing in δ");
        Assert.Equal(20, root.GetProperty("relativeBias").GetArrayLength());

        var text = Run("estimate-k", "--norms", norms, "--delta", "0.5", "--method", "quantile", "--quantile", "0.9");
        Assert.True(text.ExitCode == 0, text.Err);
        Assert.Contains("β̂", text.Out);
        Assert.Contains("δ = 0.5", text.Out);
    }

    [Fact]
    public void ExactCumulativeNormFromTheProbesMeanGradients()
    {
        string dir = TempDir(), norms = Path.Combine(dir, "norms.csv"), mean = Path.Combine(dir, "mean.csv");
        var probe = Run("probe", "--model", Path.Combine(Fixtures, "lstm_l2.model.safetensors"), "--text", Path.Combine(Fixtures, "text.txt"),
            "--window", "16", "--samples", "5", "--out", norms, "--mean-out", mean);
        Assert.True(probe.ExitCode == 0, probe.Err);
        Assert.Equal(16, File.ReadAllLines(mean).Length);
        Assert.Equal(2 * 2 * 7, File.ReadAllLines(mean)[0].Split(',').Length); // 2 layers × (h, c) × 7 units
        var exact = Run("estimate-k", "--norms", norms, "--mean-gradients", mean, "--cumulative", "exact", "--json");
        Assert.True(exact.ExitCode == 0, exact.Err);
        var approx = Run("estimate-k", "--norms", norms, "--json");
        using var e = JsonDocument.Parse(exact.Out);
        using var a = JsonDocument.Parse(approx.Out);
        Assert.Equal("exact", e.RootElement.GetProperty("cumulative").GetString());
        Assert.NotEqual(e.RootElement.GetProperty("logCumulativeNorm").ToString(), a.RootElement.GetProperty("logCumulativeNorm").ToString());
        AssertOneLineError(Run("estimate-k", "--norms", norms, "--cumulative", "exact"), "mean gradient");
    }

    [Fact]
    public void GeometricNormsGiveTheirRate()
    {
        string dir = TempDir(), norms = Path.Combine(dir, "geo.csv");
        var rows = Enumerable.Range(0, 50).Select(k => string.Join(',', new[] { 1.0, 3.0 }.Select(c => (c * Math.Pow(0.8, k)).ToString("R", CultureInfo.InvariantCulture))));
        File.WriteAllLines(norms, ["a,b", .. rows]);
        var r = Run("estimate-k", "--norms", norms, "--delta", "0.1", "--json");
        Assert.True(r.ExitCode == 0, r.Err);
        using var doc = JsonDocument.Parse(r.Out);
        Assert.Equal(0.8, doc.RootElement.GetProperty("beta").GetDouble(), 1e-9);
        // δ̂(K) = ρ^K/(1 − 2ρ^W) for exact geometric decay: κ̂(0.1) = 11 for ρ = 0.8, W = 50.
        Assert.Equal(11, doc.RootElement.GetProperty("kByDelta").GetProperty("0.1").GetInt32());
    }

    [Fact]
    public void BadInputGetsOneClearLine()
    {
        string dir = TempDir();
        string Write(string name, string text) { var p = Path.Combine(dir, name); File.WriteAllText(p, text); return p; }
        var good = Write("ok.csv", "1\n0.5\n0.25\n");
        AssertOneLineError(Run("estimate-k", "--norms", Write("nan.csv", "1\nNaN\n0.3\n")), "NaN");
        AssertOneLineError(Run("estimate-k", "--norms", Write("neg.csv", "1,2\n-0.5,1\n")), "-0.5");
        AssertOneLineError(Run("estimate-k", "--norms", Write("one.csv", "1\n")), "2");
        AssertOneLineError(Run("estimate-k", "--norms", Write("ragged.csv", "1,2\n3\n")), "line 2");
        AssertOneLineError(Run("estimate-k", "--norms", good, "--delta", "0"), "0");
        AssertOneLineError(Run("estimate-k", "--norms", good, "--delta", "abc"), "'abc' is not a number");
        AssertOneLineError(Run("estimate-k", "--norms", good, "--tau", "7"), "7");
        AssertOneLineError(Run("estimate-k", "--norms", good, "--kmin", "3", "--kmax", "2"), "3");
        AssertOneLineError(Run("estimate-k", "--norms", good, "--method", "median"), "median");
        AssertOneLineError(Run("estimate-k", "--norms", Path.Combine(dir, "missing.csv")), "missing.csv");
        AssertOneLineError(Run("probe", "--model", Path.Combine(Fixtures, "lstm_l1.model.safetensors"), "--text", Path.Combine(Fixtures, "text.txt"),
            "--window", "400", "--out", Path.Combine(dir, "n.csv")), "at least");
    }

    [Fact]
    public void NoDecayIsSaidPlainly()
    {
        string dir = TempDir(), norms = Path.Combine(dir, "flat.csv");
        File.WriteAllLines(norms, Enumerable.Range(0, 10).Select(k => (1.0 + 0.01 * k).ToString(CultureInfo.InvariantCulture)));
        var r = Run("estimate-k", "--norms", norms, "--delta", "0.5");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("no geometric decay", r.Out);
        var json = Run("estimate-k", "--norms", norms, "--delta", "0.5", "--json");
        using var doc = JsonDocument.Parse(json.Out);
        Assert.All(doc.RootElement.GetProperty("relativeBias").EnumerateArray(), v => Assert.Equal(JsonValueKind.Null, v.ValueKind));
    }
}
