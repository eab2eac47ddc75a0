using System.CommandLine;
using Tbptt.BiasEstimation;

namespace Tbptt.Cli.Commands;

/// <summary>The estimator settings shared by <c>estimate-k</c>, <c>probe</c> and the trainers (docs §4–§6).</summary>
public sealed class EstimatorOptions
{
    public Option<string> Method { get; } = Opt.WithDefault("--method", "Decay-rate estimator: ols, max or quantile.", "ols");
    public Option<double> Quantile { get; } = Opt.WithDefault("--quantile", "q for --method quantile.", 0.95);
    public Option<int?> Tau { get; } = Opt.Optional<int?>("--tau", "τ, the lag from which decay is assumed geometric (default W − W/10).");
    public Option<int> FitStart { get; } = Opt.WithDefault("--fit-start", "First lag of the ols fit.", 0);
    public Option<int> KMin { get; } = Opt.WithDefault("--kmin", "Smallest K returned.", 1);
    public Option<int?> KMax { get; } = Opt.Optional<int?>("--kmax", "Largest K returned (default W).");
    public Option<string> Cumulative { get; } = Opt.WithDefault("--cumulative", "C_K: approx (Σ φ̄, the paper's) or exact (‖Σ ḡ‖, needs mean gradients).", "approx");
    public Option<string> Aggregation { get; } = Opt.WithDefault("--aggregation", "φ̄ over samples: mean or geomean (exp of mean log).", "mean");

    public void AddTo(Command cmd)
    {
        foreach (var o in new Option[] { Method, Quantile, Tau, FitStart, KMin, KMax, Cumulative, Aggregation }) cmd.Options.Add(o);
    }

    public BiasEstimatorOptions Read(ParseResult r) => new()
    {
        Method = r.GetValue(Method)!.ToLowerInvariant() switch
        {
            "ols" => DecayMethod.Ols, "max" => DecayMethod.Max, "quantile" => DecayMethod.Quantile,
            var m => throw new UserInputException($"--method: '{m}' is not one of ols, max, quantile."),
        },
        Quantile = r.GetValue(Quantile),
        Tau = r.GetValue(Tau),
        FitStart = r.GetValue(FitStart),
        KMin = r.GetValue(KMin),
        KMax = r.GetValue(KMax),
        Cumulative = r.GetValue(Cumulative)!.ToLowerInvariant() switch
        {
            "approx" or "approximate" => CumulativeNorm.Approximate, "exact" => CumulativeNorm.Exact,
            var c => throw new UserInputException($"--cumulative: '{c}' is not one of approx, exact."),
        },
        Aggregation = r.GetValue(Aggregation)!.ToLowerInvariant() switch
        {
            "mean" => BiasEstimation.Aggregation.Mean, "geomean" => BiasEstimation.Aggregation.GeometricMean,
            var a => throw new UserInputException($"--aggregation: '{a}' is not one of mean, geomean."),
        },
    };
}
