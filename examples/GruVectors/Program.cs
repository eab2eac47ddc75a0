// A GRU on real-valued vectors with an L2 loss, trained through the engine with TBPTT(k1, k2) and Adam.
//
// Each step's input is a 3-vector; the target is 2 of its components from Lag steps earlier, so the network must
// hold them in its state for Lag steps: TBPTT must backpropagate at least that far (here k2 = 2·k1 − 1 ≥ Lag).
using System.Globalization;
using Tbptt.Engine;
using Tbptt.Models;
using Tbptt.Optimizers;

CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;

const int In = 3, Out = 2, Lag = 3, Batch = 16, K1 = 5, K2 = 9, Updates = 400;

// Vector streams, step-major: inputs [steps, B, In], targets [steps, B, Out].
int steps = Updates * K1;
var random = new Random(11);
var inputs = new float[steps * Batch * In];
var targets = new float[steps * Batch * Out];
for (int i = 0; i < inputs.Length; i++) inputs[i] = (float)(random.NextDouble() * 2 - 1);
for (int t = Lag; t < steps; t++)
    for (int b = 0; b < Batch; b++)
        for (int o = 0; o < Out; o++)
            targets[(t * Batch + b) * Out + o] = inputs[((t - Lag) * Batch + b) * In + o];

var model = SequenceModel<float>.Create(new ModelConfig
{
    Cell = CellKind.Gru, Input = InputKind.Vectors, InputSize = In, HiddenSize = 24, OutputSize = Out,
    Loss = LossKind.SquaredError,                                   // per step ½‖W_dec h + b_dec − y‖²
}, seed: 2);
var engine = new TbpttEngine<float>(model, Batch);
var adam = new Adam<float>(model.Parameters.Length, learningRate: 0.01);

double early = 0, late = 0;
for (int u = 0; u < Updates; u++)
{
    model.Parameters.ZeroGrad();
    double loss = engine.Update(K1, K2,
        inputs.AsSpan(u * K1 * Batch * In, K1 * Batch * In),
        targets.AsSpan(u * K1 * Batch * Out, K1 * Batch * Out));
    adam.Step(model.Parameters.Data, model.Parameters.Grad);
    if (u < 20) early += loss / 20;
    if (u >= Updates - 20) late += loss / 20;
}

// Predicting 0 costs ½·E‖y‖² = ½·2·(1/3) = 1/3 per step for targets uniform on [−1, 1].
Console.WriteLine($"GRU, vector input, L2 loss, TBPTT({K1}, {K2}): loss {early:F4} over the first 20 updates, {late:F4} over the last 20 (predicting 0: {1.0 / 3:F4})");
bool ok = late < 0.1 * early;
Console.WriteLine(ok ? "ok: the loss fell tenfold" : "FAILED");
return ok ? 0 : 1;
