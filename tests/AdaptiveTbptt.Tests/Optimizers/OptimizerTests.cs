using Tbptt.Optimizers;

namespace Tbptt.Tests;

/// <summary>
/// Trajectories against PyTorch 1.13, printed by tests/reference/optimizer_reference.py (same θ₀, gradients
/// and hyper-parameters), in float64.
/// </summary>
public class OptimizerTests
{
    private static readonly double[] Theta0 = [0.5, -1.25, 2.0, 0.0];
    private static readonly double[][] Grads = [[0.1, -0.2, 0.3, 1.5], [-0.4, 0.05, 0.2, -1.0], [0.3, 0.3, -0.6, 0.25]];

    private static double[] Run(IOptimizer<double> opt)
    {
        var theta = (double[])Theta0.Clone();
        foreach (var g in Grads) opt.Step(theta, g);
        Assert.Equal(3, opt.Steps);
        return theta;
    }

    [Fact]
    public void SgdWithMomentumAndWeightDecayMatchesPyTorch() =>
        TestModels.AssertClose([0.5160953895, -1.2283644787499999, 1.929623568, -0.24103015000000003],
            Run(new Sgd<double>(4, 0.1, momentum: 0.9, weightDecay: 0.01)), 1e-14, 1e-15, "SGD");

    [Fact]
    public void SgdNesterovMatchesPyTorch() =>
        TestModels.AssertClose([0.50625, -1.2662499999999999, 1.99875, -0.14375000000000002],
            Run(new Sgd<double>(4, 0.1, momentum: 0.5, nesterov: true)), 1e-14, 1e-15, "Nesterov");

    [Fact]
    public void AdamMatchesPyTorch() =>
        TestModels.AssertClose([0.4924919914057811, -1.2304038940632416, 1.9779505577809655, -0.01246453042355603],
            Run(new Adam<double>(4, 0.01, 0.8, 0.99, 1e-6, weightDecay: 0.1)), 1e-12, 1e-15, "Adam");

    [Fact]
    public void AdamWMatchesPyTorch() =>
        TestModels.AssertClose(AdamWExpected, Run(new Adam<double>(4, 0.01, 0.8, 0.99, 1e-6, weightDecay: 0.1, decoupled: true)), 1e-12, 1e-15, "AdamW");

    /// <summary>torch.optim.AdamW(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1), optimizer_reference.py.</summary>
    private static readonly double[] AdamWExpected = [0.4939881373721496, -1.23620290568972, 1.9769464419037037, -0.01245603530894662];

    [Fact]
    public void ClippingMatchesPyTorch()
    {
        var g = (double[])Grads[0].Clone();
        double norm = GradientClipping.ClipGlobalNorm<double>(g, 1.0);
        Assert.Equal(1.5459624833740306, norm, 1e-14);
        TestModels.AssertClose([0.06468458089433797, -0.12936916178867594, 0.19405374268301392, 0.9702687134150696], g, 1e-12, 1e-15, "clip");
        var small = new double[] { 0.1, 0.2 };
        GradientClipping.ClipGlobalNorm<double>(small, 1.0);
        Assert.Equal([0.1, 0.2], small); // under the threshold: untouched
    }

    [Fact]
    public void AdamsVectorLoopIsTheScalarFormulaBitForBit()
    {
        foreach (bool decoupled in new[] { false, true }) VectorLoopIsTheScalarFormula(decoupled);
    }

    private static void VectorLoopIsTheScalarFormula(bool decoupled)
    {
        // The PyTorch fixture has 4 parameters, too few for a vector register; here every length up to five
        // registers of floats (each remainder of the scalar tail), three steps with weight decay, against the
        // formula written out per element in the same order of operations.
        var rng = new Random(7);
        for (int n = 0; n <= 5 * System.Numerics.Vector<float>.Count + 1; n++)
        {
            var theta = Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 4 - 2)).ToArray();
            var expected = (float[])theta.Clone();
            float[] m = new float[n], v = new float[n];
            var adam = new Adam<float>(n, 0.01, 0.8, 0.99, 1e-6, weightDecay: 0.1, decoupled: decoupled);
            for (int step = 1; step <= 3; step++)
            {
                var grad = Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
                adam.Step(theta, grad);
                float stepSize = (float)(0.01 / (1 - Math.Pow(0.8, step))), sqrtC2 = (float)Math.Sqrt(1 - Math.Pow(0.99, step));
                for (int i = 0; i < n; i++)
                {
                    // Adam: the L2 term joins the gradient; AdamW: the weight shrinks by lr·λ first (1 − 0.01·0.1).
                    if (decoupled) expected[i] *= (float)(1 - 0.01 * 0.1);
                    float g = decoupled ? grad[i] : grad[i] + 0.1f * expected[i];
                    m[i] = 0.8f * m[i] + (1f - 0.8f) * g;
                    v[i] = 0.99f * v[i] + (1f - 0.99f) * g * g;
                    expected[i] -= stepSize * m[i] / (MathF.Sqrt(v[i]) / sqrtC2 + 1e-6f);
                }
                Assert.Equal(expected, theta);
            }
        }
    }

    [Fact]
    public void TheTrainerBuildsItsOptimizerFromEveryOption()
    {
        var model = Tbptt.Models.SequenceModel<float>.Create(TestModels.Tokens(Tbptt.Models.CellKind.Lstm, 1), 1);
        var stream = Tbptt.Training.TokenStream.NextToken(TestModels.RandomTokens(4 * 20, model.Config.InputSize, 1), 4);
        Tbptt.Training.Trainer Make(Tbptt.Training.TrainerOptions o) => new(model, o, stream, stream);
        var adam = Assert.IsType<Adam<float>>(Make(new() { Optimizer = "adam", LearningRate = 0.01, Beta1 = 0.8, Beta2 = 0.99, WeightDecay = 0.1 }).Optimizer);
        Assert.Equal((0.01, 0.8, 0.99, 0.1, false), (adam.LearningRate, adam.Beta1, adam.Beta2, adam.WeightDecay, adam.Decoupled));
        var adamw = Assert.IsType<Adam<float>>(Make(new() { Optimizer = "adamw", LearningRate = 0.02, Beta2 = 0.95, WeightDecay = 0.1 }).Optimizer);
        Assert.Equal((0.02, 0.95, 0.1, true), (adamw.LearningRate, adamw.Beta2, adamw.WeightDecay, adamw.Decoupled));
        Assert.Contains("adamw", Assert.Throws<ArgumentException>(() => Make(new() { Optimizer = "lamb" })).Message);
        var sgd = Assert.IsType<Sgd<float>>(Make(new() { Optimizer = "sgd", LearningRate = 0.5, Momentum = 0.9, WeightDecay = 0.01 }).Optimizer);
        Assert.Equal((0.5, 0.9, 0.01), (sgd.LearningRate, sgd.Momentum, sgd.WeightDecay));
        Assert.Contains("beta1", Assert.Throws<ArgumentOutOfRangeException>(() => Make(new() { Optimizer = "adam", Beta1 = 1 })).Message);
    }

    [Fact]
    public void BadHyperParametersNameTheValue()
    {
        Assert.Contains("momentum", Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd<float>(1, 0.1, momentum: 1.5)).Message);
        Assert.Contains("beta2", Assert.Throws<ArgumentOutOfRangeException>(() => new Adam<float>(1, beta2: 1.0)).Message);
        Assert.Contains("-1", Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd<float>(1, -1)).Message);
    }
}
