using Tbptt.Engine;
using Tbptt.Models;
using Tbptt.Probes;
using static Tbptt.Tests.TestModels;

namespace Tbptt.Tests;

/// <summary>
/// The measured parameter-gradient bias against an independent computation: ĝ_K of each sample by central finite
/// differences of L_W in every parameter, with the state K steps before the end held at its value (docs §5).
/// </summary>
public class TruncationBiasTests
{
    private const int W = 6, BurnIn = 3;

    /// <summary>L_W of one sample started from <paramref name="state"/> and run over its last <paramref name="k"/> steps at the model's current parameters.</summary>
    private static double LossOfLastSteps(SequenceModel<double> model, double[] state, int[] inputs, int[] targets, int from, int k)
    {
        var tape = new StackTape<double>(model, 1, k) { Training = false };
        tape.SetState(state);
        tape.Append(k, inputs.AsSpan(from, k), default);
        return tape.Loss(1, k, targets.AsSpan(from + k - 1, 1), default, 1.0);
    }

    /// <summary>ĝ_K of the sample at <paramref name="offset"/> by fourth-order central differences in every parameter.</summary>
    private static double[] FiniteDifferenceGradient(SequenceModel<double> model, int[] inputs, int[] targets, int offset, int k)
    {
        // The state entering the last k steps, at the unperturbed parameters: truncation holds it constant.
        var tape = new StackTape<double>(model, 1, BurnIn + W) { Training = false };
        tape.Append(BurnIn + W - k, inputs.AsSpan(offset, BurnIn + W - k), default);
        var state = new double[tape.StateLength];
        tape.GetState(state);
        var theta = model.Parameters.Data;
        var g = new double[theta.Length];
        const double h = 1e-4;
        int from = offset + BurnIn + W - k;
        for (int j = 0; j < theta.Length; j++)
        {
            double keep = theta[j];
            double At(double v) { theta[j] = v; double l = LossOfLastSteps(model, state, inputs, targets, from, k); theta[j] = keep; return l; }
            g[j] = (8 * (At(keep + h) - At(keep - h)) - (At(keep + 2 * h) - At(keep - 2 * h))) / (12 * h);
        }
        return g;
    }

    private static double Norm(IEnumerable<double> v) => Math.Sqrt(v.Sum(x => x * x));

    [Theory]
    [InlineData(CellKind.Lstm)]
    [InlineData(CellKind.Gru)]
    [InlineData(CellKind.Elman)]
    public void PerSampleAndMeanGradientBiasMatchFiniteDifferences(CellKind cell)
    {
        var config = Tokens(cell, 2);
        var model = SequenceModel<double>.Create(config, 21);
        var inputs = RandomTokens(50, config.InputSize, 3);
        var targets = RandomTokens(50, config.OutputSize, 4);
        int[] offsets = [7, 30, 2], grid = [1, 2, 4];
        var points = new TruncationBias<double>(model, new ProbeOptions { Window = W, BurnIn = BurnIn, BiasGrid = grid }).Measure(inputs, targets, 1, offsets);
        Assert.Equal([1, 2, 4, W], points.Select(p => p.K));

        var full = offsets.Select(o => FiniteDifferenceGradient(model, inputs, targets, o, W)).ToArray();
        var fullSum = Enumerable.Range(0, full[0].Length).Select(j => full.Sum(g => g[j])).ToArray();
        foreach (var point in points)
        {
            var truncated = offsets.Select(o => FiniteDifferenceGradient(model, inputs, targets, o, point.K)).ToArray();
            for (int s = 0; s < offsets.Length; s++)
            {
                double expected = Norm(truncated[s].Zip(full[s], (a, b) => a - b)) / Norm(full[s]);
                Assert.True(Math.Abs(expected - point.PerSample[s]) <= 1e-7 + 1e-6 * expected,
                    $"{cell} K = {point.K}, sample {s}: finite differences {expected:G10}, measured {point.PerSample[s]:G10}");
            }
            var diffSum = Enumerable.Range(0, fullSum.Length).Select(j => truncated.Sum(g => g[j]) - fullSum[j]);
            double mean = Norm(diffSum) / Norm(fullSum);
            Assert.True(Math.Abs(mean - point.MeanGradientBias) <= 1e-7 + 1e-6 * mean, $"{cell} K = {point.K}: mean gradient {mean:G10} against {point.MeanGradientBias:G10}");
        }
        Assert.All(points[^1].PerSample, b => Assert.Equal(0.0, b));
        Assert.Equal(0.0, points[^1].MeanGradientBias);
        Assert.Contains(points[0].PerSample, b => b > 0.01); // a model with memory: one lag leaves a real bias
    }

    /// <summary>The samples' mean gradient is what a batched probe backpropagates: the two measurements agree.</summary>
    [Fact]
    public void MeanGradientBiasEqualsTheBatchedProbesMeasuredBias()
    {
        var config = Tokens(CellKind.Lstm, 2);
        var model = SequenceModel<double>.Create(config, 5);
        const int columns = 3, steps = 40;
        var inputs = RandomTokens(columns * steps, config.InputSize, 8);
        var targets = RandomTokens(columns * steps, config.OutputSize, 9);
        int[] offsets = [0 * steps + 4, 2 * steps + 20, 1 * steps + 11, 2 * steps + 3], grid = [1, 3, 5];
        var options = new ProbeOptions { Window = W, BurnIn = BurnIn, Samples = offsets.Length, BiasGrid = grid };
        var batched = new GradientProbe<double>(model, options with { BiasGrid = [.. grid, W] }).Run(inputs, targets, columns, offsets);
        model.Parameters.Grad.AsSpan().Fill(-0.5); // a training gradient in progress survives the measurement
        var points = new TruncationBias<double>(model, options).Measure(inputs, targets, columns, offsets);
        Assert.All(model.Parameters.Grad, g => Assert.Equal(-0.5, g));
        Assert.Equal(batched.MeasuredBias.Select(b => b.K), points.Select(p => p.K));
        for (int i = 0; i < points.Count; i++) Assert.Equal(batched.MeasuredBias[i].Bias, points[i].MeanGradientBias, 1e-10);
        Assert.All(points, p => Assert.Equal(offsets.Length, p.PerSample.Count));
    }

    [Fact]
    public void SummaryStatisticsOfTheSamples()
    {
        var p = new TruncationBiasPoint(3, 0.2, [0.4, 0.1, 0.3, 0.2]);
        Assert.Equal(0.25, p.Mean, 1e-15);
        Assert.Equal(Math.Sqrt(0.0125), p.Std, 1e-15);
        Assert.Equal(0.1, p.Quantile(0), 1e-15);
        Assert.Equal(0.25, p.Quantile(0.5), 1e-15);
        Assert.Equal(0.4, p.Quantile(1), 1e-15);
        Assert.Equal(0.13, p.Quantile(0.1), 1e-12); // 0.1 + 0.3·(0.2 − 0.1)
        Assert.Throws<ArgumentOutOfRangeException>(() => p.Quantile(1.5));
    }

    [Fact]
    public void BadInputNamesTheProblem()
    {
        var model = SequenceModel<double>.Create(Tokens(CellKind.Gru, 1), 1);
        Assert.Throws<ArgumentException>(() => new TruncationBias<double>(model, new ProbeOptions { Window = 5 }));
        var m = new TruncationBias<double>(model, new ProbeOptions { Window = 5, BurnIn = 2, BiasGrid = [2] });
        Assert.Equal([2, 5], m.Grid);
        Assert.Throws<ArgumentOutOfRangeException>(() => m.Measure(new int[10], new int[10], 1, [4]));
        Assert.Throws<ArgumentException>(() => m.Measure(new int[10], new int[10], 1, []));
        Assert.Throws<ArgumentException>(() => m.Measure(new int[10], new int[10], 3, [0]));
    }
}
