using Tbptt.Engine;
using Tbptt.Models;
using static Tbptt.Tests.TestModels;

namespace Tbptt.Tests;

/// <summary>
/// The seed model of docs §8, h_t = f(A h_{t−1} + B x_t), ŷ_t = g(C h_t), L = ½ Σ_t ‖ŷ_t − y_t‖², with its
/// backward recursion written out by hand, against the engine (whose loss is averaged over T·B, B = 1).
/// </summary>
public class SeedModelTests
{
    private const int N = 4, In = 3, Out = 2, T = 9;

    [Theory]
    [InlineData(Nonlinearity.Tanh, true, T)]
    [InlineData(Nonlinearity.Identity, false, T)]
    [InlineData(Nonlinearity.Tanh, true, 4)]   // truncated: only the last 4 lags reach A and B
    [InlineData(Nonlinearity.Relu, true, 1)]
    public void EngineMatchesHandWrittenRecursion(Nonlinearity f, bool sigmoidOut, int k2)
    {
        var config = new ModelConfig
        {
            Cell = CellKind.Elman, Nonlinearity = f, Input = InputKind.Vectors, InputSize = In, HiddenSize = N,
            OutputSize = Out, Loss = sigmoidOut ? LossKind.SigmoidSquaredError : LossKind.SquaredError,
        };
        var model = SequenceModel<double>.Create(config, seed: 3);
        var p = model.Parameters;
        foreach (var name in new[] { "rnn.bias_ih_l0", "rnn.bias_hh_l0", "decoder.bias" }) p.Values(p[name]).Clear();
        var a = p.Values(p["rnn.weight_hh_l0"]).ToArray();
        var b = p.Values(p["rnn.weight_ih_l0"]).ToArray();
        var c = p.Values(p["decoder.weight"]).ToArray();
        var x = RandomVector<double>(T * In, 7);
        var y = RandomVector<double>(T * Out, 8).Select(v => sigmoidOut ? 0.5 + 0.4 * v : v).ToArray();

        // Forward by hand: h[0] = 0, h[t] for t = 1..T; pre[t] = A h[t−1] + B x_t.
        var h = new double[T + 1, N];
        var pre = new double[T + 1, N];
        for (int t = 1; t <= T; t++)
            for (int i = 0; i < N; i++)
            {
                double s = 0;
                for (int j = 0; j < N; j++) s += a[i * N + j] * h[t - 1, j];
                for (int j = 0; j < In; j++) s += b[i * In + j] * x[(t - 1) * In + j];
                pre[t, i] = s;
                h[t, i] = f switch { Nonlinearity.Tanh => Math.Tanh(s), Nonlinearity.Relu => Math.Max(0, s), _ => s };
            }
        double FPrime(int t, int i) => f switch
        {
            Nonlinearity.Tanh => 1 - h[t, i] * h[t, i],
            Nonlinearity.Relu => pre[t, i] > 0 ? 1 : 0,
            _ => 1,
        };
        // Output error e_t = (ŷ_t − y_t) ⊙ g'(C h_t), and its pull-back Cᵀ e_t.
        var e = new double[T + 1, Out];
        for (int t = 1; t <= T; t++)
            for (int o = 0; o < Out; o++)
            {
                double z = 0;
                for (int j = 0; j < N; j++) z += c[o * N + j] * h[t, j];
                double yh = sigmoidOut ? 1 / (1 + Math.Exp(-z)) : z;
                e[t, o] = (yh - y[(t - 1) * Out + o]) * (sigmoidOut ? yh * (1 - yh) : 1);
            }
        // ∂L/∂h_t = Cᵀ e_t + Aᵀ(∂L/∂h_{t+1} ⊙ f'(A h_t + B x_{t+1})), kept for t > T − k2 (the truncation).
        var dh = new double[T + 2, N];
        int oldest = T - k2 + 1;
        for (int t = T; t >= oldest; t--)
            for (int i = 0; i < N; i++)
            {
                double s = 0;
                for (int o = 0; o < Out; o++) s += c[o * N + i] * e[t, o];
                if (t < T)
                    for (int j = 0; j < N; j++) s += a[j * N + i] * dh[t + 1, j] * FPrime(t + 1, j);
                dh[t, i] = s;
            }
        var dA = new double[N * N]; var dB = new double[N * In]; var dC = new double[Out * N];
        for (int t = oldest; t <= T; t++)
            for (int i = 0; i < N; i++)
            {
                double d = dh[t, i] * FPrime(t, i);
                for (int j = 0; j < N; j++) dA[i * N + j] += d * h[t - 1, j];
                for (int j = 0; j < In; j++) dB[i * In + j] += d * x[(t - 1) * In + j];
            }
        for (int t = 1; t <= T; t++) // every loss reaches C, truncated or not
            for (int o = 0; o < Out; o++)
                for (int j = 0; j < N; j++) dC[o * N + j] += e[t, o] * h[t, j];

        p.ZeroGrad();
        new TbpttEngine<double>(model, 1).Update(T, k2, x, y);
        double scale = T; // engine averages over T·B
        AssertClose(dA, p.Gradient(p["rnn.weight_hh_l0"]).ToArray().Select(v => v * scale).ToArray(), 1e-12, 1e-14, "∂L/∂A");
        AssertClose(dB, p.Gradient(p["rnn.weight_ih_l0"]).ToArray().Select(v => v * scale).ToArray(), 1e-12, 1e-14, "∂L/∂B");
        AssertClose(dC, p.Gradient(p["decoder.weight"]).ToArray().Select(v => v * scale).ToArray(), 1e-12, 1e-14, "∂L/∂C");
    }
}
