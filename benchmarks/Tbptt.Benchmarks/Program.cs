using BenchmarkDotNet.Running;

namespace Tbptt.Benchmarks;

/// <summary>
/// Entry point: BenchmarkDotNet's switcher, so <c>--filter</c>, <c>--list flat</c> and <c>--job short</c> work.
/// Choose the native library with <c>TBPTT_BLAS</c> for the engine benchmarks; the GEMM benchmarks name their
/// backend explicitly.
/// </summary>
public static class Program
{
    public static void Main(string[] args) => BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
}
