namespace Tbptt.Numerics;

/// <summary>
/// How many threads one product may use: <c>TBPTT_THREADS</c> when set (a sweep runs several processes side by side
/// and gives each its share of the cores; a Slurm task gets <c>SLURM_CPUS_PER_TASK</c>), else every core.
/// </summary>
internal static class BlasThreads
{
    public const string EnvironmentVariable = "TBPTT_THREADS";

    public static int Count { get; } = FromEnvironment();

    private static int FromEnvironment()
    {
        string? text = Environment.GetEnvironmentVariable(EnvironmentVariable);
        // A value that is not a positive whole number is ignored rather than fatal: the variable is a hint to share cores.
        return int.TryParse(text, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out int n) && n >= 1
            ? Math.Min(n, Math.Max(Environment.ProcessorCount, 1) * 4) : Environment.ProcessorCount;
    }
}
