using System.Text.Json;
using Tbptt.BiasEstimation;
using static Tbptt.Tests.BiasEstimation.Profiles;

namespace Tbptt.Tests.BiasEstimation;

/// <summary>The JSON of <c>estimate-k --json</c>: valid JSON, δ labels as written, null for non-finite numbers.</summary>
public class BiasEstimateJsonTests
{
    [Fact]
    public void Writes_the_documented_fields_with_the_user_s_delta_labels()
    {
        var e = Estimate(Single(8, 4, 0, 1), new(), 0.4, 0.1, 0.4);
        string json = BiasEstimateJson.Serialize(e, [".4", "1e-1", ".4"]);
        using var doc = JsonDocument.Parse(json);
        var r = doc.RootElement;
        Assert.Equal(Math.Log(0.5), r.GetProperty("logBeta").GetDouble(), 12);
        Assert.Equal(0.5, r.GetProperty("beta").GetDouble(), 12);
        Assert.Equal(3, r.GetProperty("tau").GetInt32());
        Assert.Equal(4, r.GetProperty("window").GetInt32());
        Assert.Equal("ols", r.GetProperty("method").GetString());
        var k = r.GetProperty("kByDelta");
        Assert.Equal(2, k.EnumerateObject().Count()); // the repeated ".4" is written once
        Assert.Equal(2, k.GetProperty(".4").GetInt32());
        Assert.Equal(4, k.GetProperty("1e-1").GetInt32());
        double[] expected = [0.5, 2 / 12.0, 2 / 12.0, 1 / 12.0];
        var written = r.GetProperty("relativeBias").EnumerateArray().Select(x => x.GetDouble()).ToArray();
        Assert.Equal(expected.Length, written.Length);
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], written[i], 1e-12);
        Assert.Equal(JsonValueKind.Null, r.GetProperty("logPhiBar")[2].ValueKind);
        Assert.Equal(4, r.GetProperty("logErrorBound").GetArrayLength());
        Assert.Contains("k = 2", r.GetProperty("diagnostics")[0].GetString());
        Assert.Equal("ZeroGradients", r.GetProperty("diagnosticFlags")[0].GetString());
    }

    [Fact]
    public void Infinite_values_become_null_never_a_bare_Infinity()
    {
        var e = Estimate(Single(1, 2, 4), new(), 0.5);
        string json = BiasEstimateJson.Serialize(e, ["0.5"], indented: true);
        Assert.DoesNotContain("Infinity", json);
        Assert.DoesNotContain("NaN", json);
        using var doc = JsonDocument.Parse(json);
        var r = doc.RootElement;
        Assert.All(r.GetProperty("relativeBias").EnumerateArray(), x => Assert.Equal(JsonValueKind.Null, x.ValueKind));
        Assert.All(r.GetProperty("logErrorBound").EnumerateArray(), x => Assert.Equal(JsonValueKind.Null, x.ValueKind));
        Assert.Equal(JsonValueKind.Null, r.GetProperty("logGradientLowerBound").ValueKind);
        Assert.Equal(3, r.GetProperty("kByDelta").GetProperty("0.5").GetInt32());
        Assert.Contains("no geometric decay", r.GetProperty("diagnostics")[0].GetString());
    }

    [Fact]
    public void The_number_of_labels_must_match_the_deltas()
    {
        var e = Estimate(Single(8, 4, 2, 1), new(), 0.5);
        Assert.Equal("deltaLabels",
            Assert.Throws<ArgumentException>(() => BiasEstimateJson.Serialize(e, ["0.5", "0.1"])).ParamName);
    }
}
