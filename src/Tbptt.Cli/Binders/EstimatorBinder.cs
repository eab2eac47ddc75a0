using System.CommandLine;
using Tbptt.BiasEstimation;

namespace Tbptt.Cli.Binders;

/// <summary>The estimator settings shared by <c>estimate-k</c>, <c>probe</c> and the trainers (docs §4–§6).</summary>
public sealed class EstimatorBinder
{
    /// <param name="defaults">The defaults shown in --help and used when a flag is not given (the estimator's own,
    /// or a task's: the copy runs use the exact C_K, as the paper's copy script).</param>
    public EstimatorBinder(BiasEstimatorOptions? defaults = null)
    {
        var d = defaults ?? new BiasEstimatorOptions();
        Method = Opt.WithDefault("--method", "Decay-rate estimator: ols, max or quantile.", d.Method.ToString().ToLowerInvariant());
        Quantile = Opt.WithDefault("--quantile", "q for --method quantile.", d.Quantile);
        Tau = d.Tau is { } tau ? Opt.WithDefault<int?>("--tau", "τ, the lag from which decay is assumed geometric.", tau)
            : Opt.Optional<int?>("--tau", "τ, the lag from which decay is assumed geometric (default W − W/10).");
        FitStart = Opt.WithDefault("--fit-start", "First lag of the ols fit.", d.FitStart);
        KMin = Opt.WithDefault("--kmin", "Smallest K returned.", d.KMin);
        Cumulative = Opt.WithDefault("--cumulative",
            "C_K: approx (Σ φ̄, the paper's language-model runs) or exact (‖Σ ḡ‖ of the mean state gradients, its copy runs).",
            d.Cumulative == CumulativeNorm.Exact ? "exact" : "approx");
        Aggregation = Opt.WithDefault("--aggregation", "φ̄ over samples: mean or geomean (exp of mean log).",
            d.Aggregation == BiasEstimation.Aggregation.GeometricMean ? "geomean" : "mean");
    }

    public Option<string> Method { get; }
    public Option<double> Quantile { get; }
    public Option<int?> Tau { get; }
    public Option<int> FitStart { get; }
    public Option<int> KMin { get; }
    public Option<int?> KMax { get; } = Opt.Optional<int?>("--kmax", "Largest K returned (default W).");
    public Option<string> Cumulative { get; }
    public Option<string> Aggregation { get; }

    public void AddTo(Command cmd)
    {
        AddFitTo(cmd);
        cmd.Options.Add(KMin);
        cmd.Options.Add(KMax);
    }

    /// <summary>Adds the options of the fit alone (no --kmin/--kmax: trainers have their own K range).</summary>
    public void AddFitTo(Command cmd)
    {
        foreach (var o in new Option[] { Method, Quantile, Tau, FitStart, Cumulative, Aggregation }) cmd.Options.Add(o);
    }

    public BiasEstimatorOptions Read(ParseResult r) => ReadFit(r) with { KMin = r.GetValue(KMin), KMax = r.GetValue(KMax) };

    /// <summary>The options <see cref="AddFitTo"/> added; the K range keeps its defaults.</summary>
    public BiasEstimatorOptions ReadFit(ParseResult r) => new()
    {
        Method = r.GetValue(Method)!.ToLowerInvariant() switch
        {
            "ols" => DecayMethod.Ols, "max" => DecayMethod.Max, "quantile" => DecayMethod.Quantile,
            var m => throw new UserInputException($"--method: '{m}' is not one of ols, max, quantile."),
        },
        Quantile = r.GetValue(Quantile),
        Tau = r.GetValue(Tau),
        FitStart = r.GetValue(FitStart),
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
