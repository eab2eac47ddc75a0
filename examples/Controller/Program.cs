// The adaptive controller driving a training loop written by hand, with nothing of this project but
// Tbptt.Truncation (and the estimator it uses): no engine, no native code.
//
// The model is a linear recurrent network h_t = A h_{t−1} + B x_t, ŷ_t = C·h_t, trained by TBPTT(k1, k2) to echo its
// input Delay steps later (y_t = x_{t−Delay}). The loop asks the controller for each update's window, and hands it
// a probe: a function that measures φ_k = ‖∂L_W/∂h_{W−k}‖ by lag at the current parameters.
using System.Globalization;
using Tbptt.BiasEstimation;
using Tbptt.Truncation;

CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;

const int N = 8, Delay = 4, T = 20_000, Epochs = 3;
var rng = new Random(3);
double Gaussian() => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());

// Data: ±1 inputs; step s (1-based) has input x[s] and target x[s − Delay] (0 before the stream starts).
var x = new double[T + 1];
var y = new double[T + 1];
for (int s = 1; s <= T; s++) x[s] = rng.Next(2) * 2 - 1;
for (int s = 1 + Delay; s <= T; s++) y[s] = x[s - Delay];

// Parameters, and their gradients in the same layout.
var a = new double[N * N];
var b = new double[N];
var c = new double[N];
for (int i = 0; i < N * N; i++) a[i] = Gaussian() * 0.3 / Math.Sqrt(N);
for (int i = 0; i < N; i++) { b[i] = Gaussian() * 0.5; c[i] = Gaussian() * 0.5; }
var (da, db, dc) = (new double[N * N], new double[N], new double[N]);

var h = new double[(T + 1) * N]; // h[s] of the current epoch; h[0] = 0. Stored steps are reused, as TBPTT does.

var controller = new AdaptiveTruncation(
    new AdaptiveOptions { Delta = 0.1, K0 = 8, KMin = 2, KMax = 30, Probes = 2, ScaleBySqrtK = false },
    Probe);

const double LearningRate = 0.05;
long updates = 0;
double firstEpochLoss = 0, lastEpochLoss = 0;
for (int epoch = 0; epoch < Epochs; epoch++)
{
    Array.Clear(h, 0, N); // each epoch starts from the zero state
    double lossSum = 0;
    int lossCount = 0, t = 0;
    while (true)
    {
        var window = controller.Next(rng);                  // (K1, K2, StepScale) of this update
        if (t + window.K1 > T) break;
        for (int s = t + 1; s <= t + window.K1; s++) Step(s);
        t += window.K1;
        lossSum += Backward(t, window.K1, window.K2);
        lossCount++;
        Clip(1.0);
        double lr = LearningRate * window.StepScale;
        for (int i = 0; i < a.Length; i++) a[i] -= lr * da[i];
        for (int i = 0; i < N; i++) { b[i] -= lr * db[i]; c[i] -= lr * dc[i]; }
        controller.AfterUpdate(++updates);                  // the only call the controller needs
    }
    double mean = lossSum / lossCount;
    if (epoch == 0) firstEpochLoss = mean;
    lastEpochLoss = mean;
    Console.WriteLine($"epoch {epoch + 1}: mean loss {mean:F4}, K = {controller.K} after {updates} updates");
}

foreach (var e in controller.History)
    Console.WriteLine($"  estimate at update {e.Update}: β̂ = {Math.Exp(e.LogBeta):F3}, probes' κ̂ = [{string.Join(", ", e.ProbeKs)}], K = {e.K}");

bool ok = controller.History.Count >= 2 && lastEpochLoss < 0.5 * firstEpochLoss;
Console.WriteLine(ok ? "ok: K was re-estimated during training and the loss fell by more than half" : "FAILED");
return ok ? 0 : 1;

void Step(int s)
{
    var prev = h.AsSpan((s - 1) * N, N);
    var next = h.AsSpan(s * N, N);
    for (int i = 0; i < N; i++)
    {
        double sum = b[i] * x[s];
        for (int j = 0; j < N; j++) sum += a[i * N + j] * prev[j];
        next[i] = sum;
    }
}

double Output(ReadOnlySpan<double> state)
{
    double sum = 0;
    for (int i = 0; i < N; i++) sum += c[i] * state[i];
    return sum;
}

// The gradient of (1/k1) Σ_{s=t−k1+1..t} ½(ŷ_s − y_s)² with h_{t−k2} held constant (the window starts at step 1
// near the stream's start). Returns that mean loss.
double Backward(int t, int k1, int k2)
{
    Array.Clear(da); Array.Clear(db); Array.Clear(dc);
    double loss = 0;
    for (int s = t - k1 + 1; s <= t; s++) // every loss reaches the decoder, even one older than the window
    {
        double err = Output(h.AsSpan(s * N, N)) - y[s];
        loss += 0.5 * err * err / k1;
        for (int i = 0; i < N; i++) dc[i] += err * h[s * N + i] / k1;
    }
    var g = new double[N]; // ∂L/∂h_s, flowing back through the recurrence
    for (int s = t; s >= Math.Max(t - k2 + 1, 1); s--)
    {
        if (s > t - k1)
        {
            double err = Output(h.AsSpan(s * N, N)) - y[s];
            for (int i = 0; i < N; i++) g[i] += err * c[i] / k1;
        }
        for (int i = 0; i < N; i++)
        {
            db[i] += g[i] * x[s];
            for (int j = 0; j < N; j++) da[i * N + j] += g[i] * h[(s - 1) * N + j];
        }
        g = TransposeTimes(g);
    }
    return loss;
}

double[] TransposeTimes(double[] g) // Aᵀg
{
    var r = new double[N];
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) r[j] += a[i * N + j] * g[i];
    return r;
}

void Clip(double max)
{
    double sq = da.Sum(v => v * v) + db.Sum(v => v * v) + dc.Sum(v => v * v), norm = Math.Sqrt(sq);
    if (norm <= max) return;
    double f = max / (norm + 1e-6);
    for (int i = 0; i < a.Length; i++) da[i] *= f;
    for (int i = 0; i < N; i++) { db[i] *= f; dc[i] *= f; }
}

// The probe: from the zero state, run a burn-in and W steps at S random positions at the current parameters;
// backpropagate the last step's loss and record ‖∂L_W/∂h_{W−k}‖ for k = 0..W−1 (k = 0: the state after the last
// step). A linear cell makes ∂L/∂h_{s−1} = Aᵀ ∂L/∂h_s.
GradientNormProfile Probe()
{
    const int W = 40, BurnIn = 10, S = 16;
    var phi = new double[W, S];
    var state = new double[N];
    for (int sample = 0; sample < S; sample++)
    {
        int start = rng.Next(T - W - BurnIn);
        Array.Clear(state);
        for (int s = start + 1; s <= start + BurnIn + W; s++)
        {
            var next = new double[N];
            for (int i = 0; i < N; i++)
            {
                next[i] = b[i] * x[s];
                for (int j = 0; j < N; j++) next[i] += a[i * N + j] * state[j];
            }
            state = next;
        }
        double err = Output(state) - y[start + BurnIn + W];
        var g = c.Select(ci => err * ci).ToArray();
        for (int k = 0; k < W; k++)
        {
            phi[k, sample] = Math.Sqrt(g.Sum(v => v * v));
            g = TransposeTimes(g);
        }
    }
    return new GradientNormProfile(phi);
}
