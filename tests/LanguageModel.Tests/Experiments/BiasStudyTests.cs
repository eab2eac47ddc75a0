using System.Xml.Linq;
using Tbptt.BiasEstimation;
using Tbptt.Checkpoints;
using Tbptt.LanguageModel.Experiments;
using Tbptt.LanguageModel.Runs;
using Tbptt.Probes;

namespace Tbptt.Tests;

/// <summary>δ̂(K) against the measured bias over a run's snapshots (issue 14 §3), on a small copy run.</summary>
public class BiasStudyTests
{
    [Fact]
    public void StateBiasIsTheTailOfTheSummedMeanGradients()
    {
        var rng = new Random(3);
        var g = Enumerable.Range(0, 7).Select(_ => Enumerable.Range(0, 4).Select(_ => rng.NextDouble() - 0.5).ToArray()).ToArray();
        var bias = BiasStudy.StateBias(g);
        double Norm(IEnumerable<double[]> rows) => Math.Sqrt(Enumerable.Range(0, 4).Sum(j => Math.Pow(rows.Sum(r => r[j]), 2)));
        Assert.Equal(8, bias.Length);
        for (int k = 0; k <= 7; k++) Assert.Equal(Norm(g.Skip(k)) / Norm(g), bias[k], 1e-12);
        Assert.Equal(1.0, bias[0]);
        Assert.Equal(0.0, bias[7]);
    }

    [Fact]
    public void AStudyOfEverySnapshotAgreesWithTheProbeAndWritesItsFiles()
    {
        var o = CopyExperimentTests.Template() with
        {
            Training = CopyExperimentTests.Template().Training with { Epochs = 3, EvaluationsPerEpoch = 1 },
            Truncation = new TruncationOptions { K = 3, K2 = 5 },
            Snapshots = 3,
        };
        string root = Directory.CreateTempSubdirectory("tbptt-bias-study-").FullName, run = Path.Combine(root, "run"), output = Path.Combine(root, "study");
        RunExecutor.Execute(o, run, false, TextWriter.Null, CancellationToken.None);
        var log = new StringWriter();
        int[] grid = [1, 2, 5, 40];
        var points = BiasStudy.Study(run, grid, null, seed: 7, log, deltas: [0.5, 0.1]);
        Assert.Equal(RunSnapshots.List(run).Select(s => s.Updates), points.Select(p => p.Updates));
        Assert.Equal(4, points.Count);
        Assert.Contains("update 0 (epoch 0.00)", log.ToString());

        var data = RunData.Build(o);
        var offsets = BiasStudy.Offsets(o.Probe, data.Train.Batch, data.Train.Steps, new Random(7));
        foreach (var m in points)
        {
            Assert.Equal(o.Probe.Window, m.Window);
            Assert.Equal(o.Probe.Samples, m.Samples);
            // Every grid K within W, every κ̂ and W itself; K = W is the reference.
            var ks = m.Rows.Select(r => r.K).ToArray();
            Assert.Equal(ks.Order().Distinct(), ks);
            Assert.Contains(1, ks); Assert.Contains(5, ks); Assert.DoesNotContain(40, ks);
            Assert.All(m.KByDelta, x => Assert.Contains(x.K, ks));
            Assert.Equal(o.Probe.Window, ks[^1]);
            Assert.Equal(0.0, m.Rows[^1].MeanGradientBias);
            Assert.All(m.Rows, r => Assert.True(r.SampleMean >= 0 && r.Q10 <= r.Median && r.Median <= r.Q90, $"K = {r.K}"));
            if (m.Updates > 0) Assert.Equal(RunSummary.Load(Path.Combine(run, "summary.json")).Evaluations.Single(e => e.Updates == m.Updates).ValidLoss, m.ValidLoss);

            // The same positions through the probe alone: the same φ, so the same δ̂, and its batched measured bias.
            var model = ModelCheckpoint.Load(Safetensors.Read(RunSnapshots.PathOf(run, m.Updates)));
            var probe = new GradientProbe<float>(model, o.Probe with { BiasGrid = ks }).Run(data.Train.Inputs, data.Train.Targets, data.Train.Batch, offsets);
            var e = BiasEstimator.Estimate(new GradientNormProfile(probe.Phi, probe.MeanGradient), o.Adaptive.Estimator with { KMin = 1, KMax = o.Probe.Window }, [0.5, 0.1]);
            Assert.Equal(e.KByDelta, m.KByDelta);
            foreach (var r in m.Rows)
            {
                Assert.Equal(e.RelativeBias[r.K - 1], r.DeltaHat);
                Assert.Equal(o.Adaptive.Estimator.Cumulative == CumulativeNorm.Exact ? r.DeltaHatExact : r.DeltaHatApprox, r.DeltaHat);
                double batched = probe.MeasuredBias.Single(b => b.K == r.K).Bias;
                Assert.True(Math.Abs(batched - r.MeanGradientBias) <= 1e-4 * Math.Max(batched, 1e-2), $"K = {r.K}: batched {batched} against {r.MeanGradientBias}");
            }
        }

        BiasStudy.Write(output, "small copy study", o.Metric, points);
        var csv = File.ReadAllLines(Path.Combine(output, "bias.csv"));
        Assert.Equal(string.Join(',', BiasStudy.Columns), csv[0]);
        Assert.Equal(1 + points.Sum(p => p.Rows.Count), csv.Length);
        var table = File.ReadAllText(Path.Combine(output, "table.md"));
        Assert.StartsWith("small copy study", table);
        Assert.Contains("δ = 0.1: K", table);
        XNamespace svg = "http://www.w3.org/2000/svg";
        var grid4 = XDocument.Load(Path.Combine(output, "bias.svg"));
        Assert.Equal(4, grid4.Root!.Elements(svg + "svg").Count());
        Assert.Contains(grid4.Descendants(svg + "path"), p => (string?)p.Attribute("class") == "band");
        foreach (var f in new[] { "bias.json", "at-kappa.svg", "phi.svg" }) Assert.True(File.Exists(Path.Combine(output, f)), f);

        Assert.Throws<FileNotFoundException>(() => BiasStudy.Study(run, grid, null, 7, TextWriter.Null, only: [123456]));
    }
}
