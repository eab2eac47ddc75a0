using System.CommandLine;
using System.Globalization;

namespace Tbptt.Cli;

/// <summary>Option builders with the conventions of every command: a description and, where one exists, a default shown in --help.</summary>
public static class Opt
{
    public static Option<T> Required<T>(string name, string description) =>
        new(name) { Description = description, Required = true };

    public static Option<T> WithDefault<T>(string name, string description, T value) =>
        new(name) { Description = description, DefaultValueFactory = _ => value };

    public static Option<T> Optional<T>(string name, string description) =>
        new(name) { Description = description };

    /// <summary>A comma-separated list such as "0.9,0.5,0.1": values parsed with the invariant culture.</summary>
    public static double[] ParseDoubles(string text, string option) =>
        Split(text).Select(s => double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double v)
            ? v : throw new UserInputException($"{option}: '{s}' is not a number.")).ToArray();

    /// <summary>A list as a comma-separated default ("0.9,0.5,0.1"), the form <see cref="ParseDoubles"/> and <see cref="ParseInts"/> read.</summary>
    public static string Join<T>(IEnumerable<T> values) where T : IFormattable =>
        string.Join(',', values.Select(v => v.ToString(null, CultureInfo.InvariantCulture)));

    public static int[] ParseInts(string text, string option) =>
        Split(text).Select(s => int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v)
            ? v : throw new UserInputException($"{option}: '{s}' is not a whole number.")).ToArray();

    /// <summary>A number that must be finite (NaN and ∞ would reach the optimizer and every output file).</summary>
    /// <param name="what">What the number is, for the message ("the learning rate").</param>
    public static double Finite(double value, string option, string what) => double.IsFinite(value) ? value
        : throw new UserInputException($"{option}: {what} must be a finite number (got {value.ToString(CultureInfo.InvariantCulture)}).");
    /// <summary>--on-nonfinite: stop or skip.</summary>
    public static Tbptt.Training.NonFinitePolicy ParseNonFinite(string text) => text.ToLowerInvariant() switch
    {
        "stop" => Tbptt.Training.NonFinitePolicy.Stop, "skip" => Tbptt.Training.NonFinitePolicy.Skip,
        _ => throw new UserInputException($"--on-nonfinite: '{text}' is not one of stop, skip."),
    };

    /// <summary>--matmul-precision's help, for every command that takes it.</summary>
    public const string MatmulPrecisionHelp = "Float32 matrix products, as PyTorch's set_float32_matmul_precision: highest (float32) or medium (operands rounded to bfloat16, float32 sums, on AMX tiles where the CPU has them; float32 elsewhere).";

    public static string ParseMatmulPrecision(string text) => text.ToLowerInvariant() is var p && Tbptt.Numerics.MatmulPrecision.IsKnown(p) ? p
        : throw new UserInputException($"--matmul-precision: '{text}' is not {Tbptt.Numerics.MatmulPrecision.Names}.");

    public static string[] Split(string text) =>
        text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
