using System.Text.Encodings.Web;
using System.Text.Json;

namespace Tbptt.BiasEstimation;

/// <summary>
/// The machine-readable form of a <see cref="BiasEstimate"/>, printed by <c>tbptt estimate-k --json</c> for other
/// trainers to parse. JSON has no infinities or NaN, so every non-finite number is written as <c>null</c>: in
/// <c>relativeBias</c> and <c>logErrorBound</c> null means +∞, in <c>logPhiBar</c>, <c>logCumulativeNorm</c> and
/// <c>logGradientLowerBound</c> it means −∞ (a zero norm).
/// </summary>
public static class BiasEstimateJson
{
    /// <summary>
    /// Writes one JSON object with <c>logBeta</c>, <c>beta</c>, <c>tau</c>, <c>window</c>, <c>samples</c>,
    /// <c>method</c>, <c>quantile</c>, <c>fitStart</c>, <c>aggregation</c>, <c>cumulative</c>, <c>kMin</c>,
    /// <c>kMax</c>, <c>pointsUsed</c>, <c>kByDelta</c>, <c>relativeBias</c>, <c>logRelativeBias</c>,
    /// <c>logErrorBound</c>, <c>logCumulativeNorm</c>, <c>logGradientLowerBound</c>, <c>logPhiBar</c>,
    /// <c>diagnostics</c> (messages) and <c>diagnosticFlags</c> (flag names).
    /// </summary>
    /// <param name="estimate">The estimate.</param>
    /// <param name="deltaLabels">Each δ of <see cref="BiasEstimate.KByDelta"/> exactly as the user wrote it
    /// ("0.9", ".5", "1e-1"), in the same order; they become the keys of <c>kByDelta</c> so that a caller finds its
    /// own strings there rather than a re-formatted double. A repeated label is written once.</param>
    /// <param name="indented">Pretty-print for a human; compact by default, one line for a pipe.</param>
    /// <exception cref="ArgumentException">The number of labels differs from the number of δ.</exception>
    public static string Serialize(BiasEstimate estimate, IReadOnlyList<string> deltaLabels, bool indented = false)
    {
        ArgumentNullException.ThrowIfNull(estimate);
        ArgumentNullException.ThrowIfNull(deltaLabels);
        if (deltaLabels.Count != estimate.KByDelta.Count)
            throw new ArgumentException(
                $"{deltaLabels.Count} δ label(s) for {estimate.KByDelta.Count} δ value(s)", nameof(deltaLabels));

        using var stream = new MemoryStream();
        var writerOptions = new JsonWriterOptions
        {
            Indented = indented,
            // Keep β, δ, τ readable in the messages; the output is never embedded in HTML.
            Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        };
        using (var w = new Utf8JsonWriter(stream, writerOptions))
        {
            w.WriteStartObject();
            Number(w, "logBeta", estimate.LogBeta);
            Number(w, "beta", estimate.Beta);
            w.WriteNumber("tau", estimate.Tau);
            w.WriteNumber("window", estimate.Window);
            w.WriteNumber("samples", estimate.Samples);
            w.WriteString("method", estimate.Method.ToString().ToLowerInvariant());
            Number(w, "quantile", estimate.Options.Quantile);
            w.WriteNumber("fitStart", estimate.Options.FitStart);
            w.WriteString("aggregation", estimate.Options.Aggregation == Aggregation.Mean ? "mean" : "geometric-mean");
            w.WriteString("cumulative", estimate.Options.Cumulative == CumulativeNorm.Exact ? "exact" : "approx");
            w.WriteNumber("kMin", estimate.KMin);
            w.WriteNumber("kMax", estimate.KMax);
            w.WriteNumber("pointsUsed", estimate.PointsUsed);

            w.WriteStartObject("kByDelta");
            var written = new HashSet<string>(StringComparer.Ordinal);
            for (int i = 0; i < deltaLabels.Count; i++)
                if (written.Add(deltaLabels[i])) w.WriteNumber(deltaLabels[i], estimate.KByDelta[i].K);
            w.WriteEndObject();

            Array(w, "relativeBias", estimate.RelativeBias);
            Array(w, "logRelativeBias", estimate.LogRelativeBias);
            Array(w, "logErrorBound", estimate.LogErrorBound);
            Array(w, "logCumulativeNorm", estimate.LogCumulativeNorm);
            Number(w, "logGradientLowerBound", estimate.LogGradientLowerBound);
            Array(w, "logPhiBar", estimate.LogPhiBar);

            w.WriteStartArray("diagnostics");
            foreach (string m in estimate.Messages) w.WriteStringValue(m);
            w.WriteEndArray();
            w.WriteStartArray("diagnosticFlags");
            foreach (BiasDiagnostics f in Enum.GetValues<BiasDiagnostics>())
                if (f != BiasDiagnostics.None && estimate.Diagnostics.HasFlag(f)) w.WriteStringValue(f.ToString());
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }

    private static void Number(Utf8JsonWriter w, string name, double value)
    {
        if (double.IsFinite(value)) w.WriteNumber(name, value);
        else w.WriteNull(name);
    }

    private static void Array(Utf8JsonWriter w, string name, IReadOnlyList<double> values)
    {
        w.WriteStartArray(name);
        foreach (double v in values)
            if (double.IsFinite(v)) w.WriteNumberValue(v);
            else w.WriteNullValue();
        w.WriteEndArray();
    }
}
