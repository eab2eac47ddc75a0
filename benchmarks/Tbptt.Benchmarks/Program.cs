using BenchmarkDotNet.Running;

namespace Tbptt.Benchmarks;

/// <summary>
/// Entry point: BenchmarkDotNet's switcher, so <c>--filter</c>, <c>--list flat</c> and <c>--job short</c> work.
/// Choose the native library with <c>TBPTT_BLAS</c> for the engine benchmarks; the GEMM benchmarks name their
/// backend explicitly.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        // `ttq …`: issue 13's interleaved cost ratios (TimeToQuality), not BenchmarkDotNet.
        if (args.Length > 0 && args[0] == "ttq") return TimeToQuality.Run(args);
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return 0;
    }
}
