using Tbptt.Engine;
using Tbptt.Models;
using Tbptt.Probes;
using static Tbptt.Tests.TestModels;

namespace Tbptt.Tests;

public class GradientProbeTests
{
    private const int W = 6, BurnIn = 3;

    /// <summary>L_W as a function of the whole state vector at lag k (every layer's h and c), one sample.</summary>
    private static double LossFromState(SequenceModel<double> model, double[] state, int[] inputs, int[] targets, int from, int k)
    {
        var tape = new StackTape<double>(model, 1, k);
        tape.SetState(state);
        tape.Append(k, inputs.AsSpan(from, k), default);
        return tape.Loss(1, k, targets.AsSpan(from + k - 1, 1), default, 1.0);
    }

    [Theory]
    [InlineData(CellKind.Lstm)]
    [InlineData(CellKind.Gru)]
    [InlineData(CellKind.Elman)]
    public void StateGradientsMatchFiniteDifferencesOfTheLastLoss(CellKind cell)
    {
        var config = Tokens(cell, 2);
        var model = SequenceModel<double>.Create(config, 17);
        var inputs = RandomTokens(40, config.InputSize, 1);
        var targets = RandomTokens(40, config.OutputSize, 2);
        // Three samples in one batch: each row's φ must be its own sample's, whatever the others do.
        int[] offsets = [5, 11, 2];
        var probe = new GradientProbe<double>(model, new ProbeOptions { Window = W, BurnIn = BurnIn, Samples = 3 });
        var batched = probe.Run(inputs, targets, offsets);
        for (int s = 0; s < offsets.Length; s++)
        {
            var single = new GradientProbe<double>(model, new ProbeOptions { Window = W, BurnIn = BurnIn, Samples = 1 }).Run(inputs, targets, [offsets[s]]);
            for (int k = 0; k < W; k++) Assert.Equal(single.Phi[k, 0], batched.Phi[k, s], 1e-12);
            CheckSample(model, inputs, targets, offsets[s], single);
        }
    }

    /// <summary>A φ table skips the parameter gradients; asking for a measured bias computes them. Either way the
    /// same positions give the same φ, bit for bit (so the same K), and the caller's gradient buffer is untouched.</summary>
    [Theory]
    [InlineData(CellKind.Lstm)]
    [InlineData(CellKind.Gru)]
    [InlineData(CellKind.Elman)]
    public void SkippingTheParameterGradientsLeavesPhiBitForBit(CellKind cell)
    {
        var config = Tokens(cell, 2);
        var model = SequenceModel<float>.Create(config, 17);
        var inputs = RandomTokens(60, config.InputSize, 1);
        var targets = RandomTokens(60, config.OutputSize, 2);
        int[] offsets = [5, 11, 2, 30];
        var grad = RandomVector<float>(model.Parameters.Length, 4);
        grad.CopyTo(model.Parameters.Grad);
        var phiOnly = new GradientProbe<float>(model, new ProbeOptions { Window = W, BurnIn = BurnIn, Samples = 4 }).Run(inputs, targets, offsets);
        Assert.Equal(grad, model.Parameters.Grad);
        var withBias = new GradientProbe<float>(model, new ProbeOptions { Window = W, BurnIn = BurnIn, Samples = 4, BiasGrid = [1, 3] }).Run(inputs, targets, offsets);
        Assert.Equal(grad, model.Parameters.Grad);
        Assert.Equal(withBias.Phi, phiOnly.Phi);
        Assert.Equal(withBias.MeanGradient, phiOnly.MeanGradient);
        Assert.Contains(phiOnly.Phi.Cast<double>(), x => x > 0);
        Assert.Equal(2, withBias.MeasuredBias.Count);
    }

    private static void CheckSample(SequenceModel<double> model, int[] inputs, int[] targets, int offset, ProbeResult result)
    {
        var cell = model.Config.Cell;
        int last = offset + BurnIn + W; // one past the last step of the window
        // Lag 0: ∂L_W/∂h_W reaches only the top layer's h (through the decoder); every other part is zero.
        {
            var tape = new StackTape<double>(model, 1, BurnIn + W);
            tape.Append(BurnIn + W, inputs.AsSpan(offset, BurnIn + W), default);
            var state = new double[tape.StateLength];
            tape.GetState(state);
            int hd = model.Config.HiddenSize, width = model.Config.Cell == CellKind.Lstm ? 2 * hd : hd;
            int top = (model.Config.Layers - 1) * width;
            var fd0 = new double[state.Length];
            const double h0 = 1e-4;
            for (int i = top; i < top + hd; i++)
            {
                double x = state[i];
                double Loss(double v) { state[i] = v; double l = DecoderLoss(model, state, targets[last - 1], top); state[i] = x; return l; }
                fd0[i] = (8 * (Loss(x + h0) - Loss(x - h0)) - (Loss(x + 2 * h0) - Loss(x - 2 * h0))) / (12 * h0);
            }
            AssertClose(fd0, result.MeanGradient[0], 1e-6, 1e-10, $"{cell} ∂L_W/∂h at lag 0");
        }
        for (int k = 1; k < W; k++)
        {
            // State h_{W−k}: after the burn-in and W−k window steps.
            var tape = new StackTape<double>(model, 1, BurnIn + W);
            tape.Append(BurnIn + W - k, inputs.AsSpan(offset, BurnIn + W - k), default);
            var state = new double[tape.StateLength];
            tape.GetState(state);
            var fd = new double[state.Length];
            // Fourth-order central differences: with h = 1e-4 both truncation (h⁴) and round-off (1e-16·L/h)
            // stay far below the 1e-6 relative tolerance, also for small entries.
            const double h = 1e-4;
            double At(int i, double x) { double keep = state[i]; state[i] = x; double l = LossFromState(model, state, inputs, targets, last - k, k); state[i] = keep; return l; }
            for (int i = 0; i < state.Length; i++)
            {
                double x = state[i];
                fd[i] = (8 * (At(i, x + h) - At(i, x - h)) - (At(i, x + 2 * h) - At(i, x - 2 * h))) / (12 * h);
            }
            AssertClose(fd, result.MeanGradient[k], 1e-6, 1e-10, $"{cell} ∂L_W/∂h at lag {k}");
            double norm = Math.Sqrt(fd.Sum(v => v * v));
            Assert.Equal(norm, result.Phi[k, 0], 1e-8);
        }
        Assert.True(result.Phi[0, 0] > 0);
    }

    /// <summary>The loss of the top layer's h (taken from a state vector) through the decoder alone.</summary>
    private static double DecoderLoss(SequenceModel<double> model, double[] state, int target, int topOffset)
    {
        var p = model.Parameters;
        int hd = model.Config.HiddenSize, o = model.Config.OutputSize;
        var w = p.Values(model.DecoderWeight); var b = p.Values(model.DecoderBias);
        var z = new double[o];
        for (int r = 0; r < o; r++) { z[r] = b[r]; for (int j = 0; j < hd; j++) z[r] += w[r * hd + j] * state[topOffset + j]; }
        double max = z.Max(), sum = z.Sum(v => Math.Exp(v - max));
        return Math.Log(sum) + max - z[target];
    }

    [Fact]
    public void ProbingAColumnOfABatchedStreamEqualsProbingThatColumnAlone()
    {
        var config = Tokens(CellKind.Lstm, 2);
        var model = SequenceModel<double>.Create(config, 4);
        const int columns = 3, steps = 30;
        var inputs = RandomTokens(columns * steps, config.InputSize, 5);   // step-major [steps, columns]
        var targets = RandomTokens(columns * steps, config.OutputSize, 6);
        var options = new ProbeOptions { Window = W, BurnIn = BurnIn, Samples = 2 };
        int[] starts = [2 * steps + 7, 1 * steps + 0];                      // column 2 step 7, column 1 step 0
        var batched = new GradientProbe<double>(model, options).Run(inputs, targets, columns, starts);
        for (int i = 0; i < starts.Length; i++)
        {
            int column = starts[i] / steps;
            var colIn = Enumerable.Range(0, steps).Select(t => inputs[t * columns + column]).ToArray();
            var colTgt = Enumerable.Range(0, steps).Select(t => targets[t * columns + column]).ToArray();
            var single = new GradientProbe<double>(model, options with { Samples = 1 }).Run(colIn, colTgt, [starts[i] % steps]);
            for (int k = 0; k < W; k++) Assert.Equal(single.Phi[k, 0], batched.Phi[k, i], 1e-12);
        }
        // A window may not run past its column's end.
        Assert.Throws<ArgumentOutOfRangeException>(() => new GradientProbe<double>(model, options).Run(inputs, targets, columns, [steps - 3, 0]));
    }

    /// <summary>
    /// P probes run as one batch of P·S rows give each probe's own φ and ḡ: equal to float rounding on any
    /// backend, bit for bit on the managed kernel (its products never split a row's sum), so every K is the same.
    /// </summary>
    [Theory]
    [InlineData(CellKind.Lstm, 2, 24)]
    [InlineData(CellKind.Gru, 2, 9)]
    [InlineData(CellKind.Elman, 1, 40)]
    public void ProbesBatchedInGroupsGiveEachProbesOwnTable(CellKind cell, int layers, int hidden)
    {
        var config = Tokens(cell, layers) with { HiddenSize = hidden, EmbedSize = 5, InputSize = 7, OutputSize = 7 };
        var model = SequenceModel<float>.Create(config, 9);
        const int columns = 4, steps = 50, groups = 3, samples = 5;
        var inputs = RandomTokens(columns * steps, config.InputSize, 3);
        var targets = RandomTokens(columns * steps, config.OutputSize, 4);
        var options = new ProbeOptions { Window = 12, BurnIn = 4, Samples = samples };
        var rng = new Random(8);
        var offsets = Enumerable.Range(0, groups * samples).Select(_ => rng.Next(columns) * steps + rng.Next(steps - 16 + 1)).ToArray();
        var grad = RandomVector<float>(model.Parameters.Length, 4);
        grad.CopyTo(model.Parameters.Grad);
        var batch = new GradientProbe<float>(model, options, groups);
        Assert.Equal(groups * new GradientProbe<float>(model, options).ComputeSteps, batch.ComputeSteps); // the same steps, counted alike
        var results = batch.RunGroups(inputs, targets, columns, offsets);
        Assert.Equal(grad, model.Parameters.Grad); // state gradients only: the caller's gradient buffer is untouched
        Assert.Equal(groups, results.Length);
        bool managed = Tbptt.Numerics.Blas.Active.Name == "managed";
        for (int g = 0; g < groups; g++)
        {
            var own = offsets[(g * samples)..((g + 1) * samples)];
            var single = new GradientProbe<float>(model, options).Run(inputs, targets, columns, own);
            Assert.Equal(own, results[g].Offsets);
            for (int k = 0; k < options.Window; k++)
            {
                for (int i = 0; i < samples; i++)
                {
                    Assert.Equal(single.Phi[k, i], results[g].Phi[k, i], Math.Abs(single.Phi[k, i]) * 1e-5);
                    if (managed) Assert.Equal(single.Phi[k, i], results[g].Phi[k, i]);
                }
                for (int j = 0; j < single.MeanGradient[k].Length; j++)
                {
                    Assert.Equal(single.MeanGradient[k][j], results[g].MeanGradient[k][j], 1e-6 + Math.Abs(single.MeanGradient[k][j]) * 1e-5);
                    if (managed) Assert.Equal(single.MeanGradient[k][j], results[g].MeanGradient[k][j]);
                }
            }
        }
        // The single probe itself against the probe written out plainly (tape, state-only backward, φ and ḡ summed
        // element by element in double): the table is what it was before the probe was batched and vectorised.
        var (refPhi, refMean) = ReferenceProfile(model, inputs, targets, columns, steps, offsets[..samples], options);
        var first = new GradientProbe<float>(model, options).Run(inputs, targets, columns, offsets[..samples]);
        for (int k = 0; k < options.Window; k++)
        {
            for (int i = 0; i < samples; i++) Assert.Equal(refPhi[k, i], first.Phi[k, i]);
            Assert.Equal(refMean[k], first.MeanGradient[k]);
        }
        Assert.Throws<ArgumentException>(() => new GradientProbe<float>(model, options with { BiasGrid = [2] }, groups));
        Assert.Throws<InvalidOperationException>(() => batch.Run(inputs, targets, columns, offsets));
    }

    /// <summary>φ and ḡ of one probe as the definitions say, on a tape of its own, with plain loops.</summary>
    private static (double[,] Phi, double[][] Mean) ReferenceProfile(SequenceModel<float> model, int[] inputs, int[] targets,
        int columns, int steps, int[] offsets, ProbeOptions o)
    {
        int s = offsets.Length, w = o.Window, b = o.EffectiveBurnIn, hd = model.Config.HiddenSize;
        int At(int offset, int t) => (offset % steps + t) * columns + offset / steps;
        var tape = new StackTape<float>(model, s, w) { Training = false };
        int[] Rows(int from, int n) => Enumerable.Range(0, n * s).Select(r => inputs[At(offsets[r % s], from + r / s)]).ToArray();
        tape.Append(b, Rows(0, b), default);
        tape.Retain(0);
        tape.Append(w, Rows(b, w), default);
        var grads = tape.Layers.Select(l => new float[w * s * l.StateWidth]).ToArray();
        tape.Loss(1, w, offsets.Select(x => targets[At(x, b + w - 1)]).ToArray(), default, 1f, weights: false);
        tape.Backward(w, grads, default, null, weights: false);
        var phi = new double[w, s];
        var mean = Enumerable.Range(0, w).Select(_ => new double[model.Config.StateSize]).ToArray();
        for (int k = 0; k < w; k++)
            for (int i = 0; i < s; i++)
            {
                double sq = 0;
                int at = 0;
                for (int l = 0; l < tape.Layers.Count; l++)
                {
                    int width = tape.Layers[l].StateWidth;
                    float[] v = k == 0
                        ? (l == tape.Layers.Count - 1 ? tape.Layers[l].DHin.AsSpan(((w - 1) * s + i) * hd, hd).ToArray() : [])
                        : grads[l].AsSpan(((w - k) * s + i) * width, width).ToArray();
                    for (int j = 0; j < v.Length; j++)
                    {
                        double x = v[j];
                        sq += x * x;
                        mean[k][at + j] += x / s;
                    }
                    at += width;
                }
                phi[k, i] = Math.Sqrt(sq);
            }
        return (phi, mean);
    }

    [Fact]
    public void LinearElmanDecaysExactlyAsRhoToTheK()
    {
        const double rho = 0.8;
        var config = Tokens(CellKind.Elman, 1, Nonlinearity.Identity) with { HiddenSize = 6 };
        var model = SequenceModel<double>.Create(config, 3);
        OrthogonalRecurrence(model, rho, seed: 5);
        var data = RandomTokens(200, config.InputSize, 4);
        var probe = new GradientProbe<double>(model, new ProbeOptions { Window = 30, BurnIn = 4, Samples = 5 });
        var result = probe.Run(data, data, probe.RandomOffsets(data.Length - 1, new Random(1)));
        for (int s = 0; s < 5; s++)
            for (int k = 0; k < 30; k++)
                Assert.Equal(Math.Pow(rho, k), result.Phi[k, s] / result.Phi[0, s], 1e-12);
    }

    /// <summary>W_hh = ρ·Q with Q a random orthogonal matrix (Gram–Schmidt of a seeded Gaussian matrix).</summary>
    internal static void OrthogonalRecurrence(SequenceModel<double> model, double rho, int seed)
    {
        int n = model.Config.HiddenSize;
        var rng = new Random(seed);
        var q = new double[n, n];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < n; j++) q[i, j] = rng.NextDouble() * 2 - 1;
            for (int r = 0; r < i; r++)
            {
                double dot = 0;
                for (int j = 0; j < n; j++) dot += q[i, j] * q[r, j];
                for (int j = 0; j < n; j++) q[i, j] -= dot * q[r, j];
            }
            double norm = Math.Sqrt(Enumerable.Range(0, n).Sum(j => q[i, j] * q[i, j]));
            for (int j = 0; j < n; j++) q[i, j] /= norm;
        }
        var w = model.Parameters.Values(model.Layers[0].WeightHh);
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) w[i * n + j] = rho * q[i, j];
    }

    [Fact]
    public void MeasuredBiasMatchesSeparateTruncatedBackwardPasses()
    {
        var config = Tokens(CellKind.Lstm, 2);
        var model = SequenceModel<double>.Create(config, 2);
        var inputs = RandomTokens(60, config.InputSize, 7);
        var targets = RandomTokens(60, config.OutputSize, 8);
        int[] grid = [1, 2, 4, W];
        var probe = new GradientProbe<double>(model, new ProbeOptions { Window = W, BurnIn = BurnIn, Samples = 1, BiasGrid = grid });
        model.Parameters.Grad.AsSpan().Fill(0.25); // a training gradient in progress must survive the probe
        var result = probe.Run(inputs, targets, [10]);
        Assert.All(model.Parameters.Grad, g => Assert.Equal(0.25, g));

        double[] Truncated(int k)
        {
            var tape = new StackTape<double>(model, 1, BurnIn + W);
            tape.Append(BurnIn, inputs.AsSpan(10, BurnIn), default);
            tape.Retain(0);
            tape.Append(W, inputs.AsSpan(10 + BurnIn, W), default);
            model.Parameters.ZeroGrad();
            tape.Loss(1, k, targets.AsSpan(10 + BurnIn + W - 1, 1), default, 1.0);
            tape.Backward(k);
            return (double[])model.Parameters.Grad.Clone();
        }
        var full = Truncated(W);
        double fullNorm = Math.Sqrt(full.Sum(v => v * v));
        Assert.Equal(grid, result.MeasuredBias.Select(m => m.K));
        foreach (var (k, bias) in result.MeasuredBias)
        {
            var gk = Truncated(k);
            double expected = Math.Sqrt(gk.Zip(full, (a, b) => (a - b) * (a - b)).Sum()) / fullNorm;
            Assert.Equal(expected, bias, 1e-12);
        }
        Assert.Equal(0.0, result.MeasuredBias[^1].Bias);
        Assert.True(result.MeasuredBias[0].Bias > 0);
    }

    [Fact]
    public void BadOptionsNameTheValue()
    {
        var model = SequenceModel<double>.Create(Tokens(CellKind.Gru, 1), 1);
        Assert.Contains("W", Assert.Throws<ArgumentOutOfRangeException>(() => new GradientProbe<double>(model, new ProbeOptions { Window = 1 })).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new GradientProbe<double>(model, new ProbeOptions { Window = 5, BiasGrid = [3, 2] }));
        var probe = new GradientProbe<double>(model, new ProbeOptions { Window = 5, BurnIn = 2, Samples = 2 });
        Assert.Throws<ArgumentOutOfRangeException>(() => probe.Run(new int[10], new int[10], [0, 4]));
    }
}
