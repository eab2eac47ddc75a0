// The bias estimator on its own: from a table of state-gradient norms φ[k, s] (lag k, sample s) to the decay
// rate β̂, the relative bias δ̂(K) of truncating at K, and the smallest K meeting each tolerance δ.
using System.Globalization;
using Tbptt.BiasEstimation;

CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;

// In practice φ comes from a probe (`tbptt probe`, GradientProbe<T>, or bridges/pytorch/tbptt_probe.py). Here it
// is synthetic: each sample decays as 0.85^k from its own scale, with 10 % log-normal noise.
const int W = 100, S = 16;
const double TrueBeta = 0.85;
var rng = new Random(7);
var phi = new double[W, S];
for (int s = 0; s < S; s++)
{
    double scale = 0.5 + rng.NextDouble();
    for (int k = 0; k < W; k++)
    {
        double gaussian = Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
        phi[k, s] = scale * Math.Pow(TrueBeta, k) * Math.Exp(0.1 * gaussian);
    }
}

var profile = new GradientNormProfile(phi);
double[] deltas = [0.5, 0.1, 0.01];
var estimate = BiasEstimator.Estimate(profile, new BiasEstimatorOptions(), deltas);

Console.WriteLine($"W = {estimate.Window} lags, S = {estimate.Samples} samples, τ = {estimate.Tau}");
Console.WriteLine($"β̂ = {estimate.Beta:F4} (the profile was made with β = {TrueBeta})");
foreach (var (delta, k) in estimate.KByDelta)
    Console.WriteLine($"δ = {delta}: K = {k}, δ̂(K) = {estimate.RelativeBias[k - 1]:F4}");
foreach (string message in estimate.Messages) Console.WriteLine(message);

// The same table as the CSV `tbptt estimate-k --norms` reads: one row per lag, one column per sample.
string csv = Path.Combine(Path.GetTempPath(), $"tbptt-example-norms-{Environment.ProcessId}.csv");
File.WriteAllLines(csv, Enumerable.Range(0, W).Select(k =>
    string.Join(',', Enumerable.Range(0, S).Select(s => phi[k, s].ToString("R", CultureInfo.InvariantCulture)))));
var reread = BiasEstimator.Estimate(NormsCsv.ReadFile(csv), new BiasEstimatorOptions(), deltas);
File.Delete(csv);

bool ok = Math.Abs(estimate.Beta - TrueBeta) < 0.01
          && estimate.KByDelta.Select(d => d.K).SequenceEqual(reread.KByDelta.Select(d => d.K));
Console.WriteLine(ok ? "ok: β̂ within 0.01 of β, and the CSV gives the same K" : "FAILED");
return ok ? 0 : 1;
