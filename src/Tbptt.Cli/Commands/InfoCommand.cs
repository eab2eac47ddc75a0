using System.CommandLine;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Tbptt.Numerics;

namespace Tbptt.Cli.Commands;

/// <summary><c>tbptt info</c>: what this build runs on — runtime, cores, SIMD and the active BLAS backend with the reason.</summary>
public static class InfoCommand
{
    public static Command Create()
    {
        var cmd = new Command("info", "Show the runtime, the machine and which BLAS backend is active and why.");
        cmd.SetAction(_ => CliErrors.Run(() =>
        {
            foreach (var line in Lines()) Console.WriteLine(line);
            return 0;
        }));
        return cmd;
    }

    public static IEnumerable<string> Lines()
    {
        var version = typeof(InfoCommand).Assembly.GetName().Version;
        yield return $"tbptt {version?.ToString(3)}";
        yield return $"runtime:  {RuntimeInformation.FrameworkDescription} on {RuntimeInformation.OSDescription} ({RuntimeInformation.ProcessArchitecture})";
        yield return $"cores:    {Environment.ProcessorCount}";
        yield return $"simd:     {(Vector512.IsHardwareAccelerated ? "AVX-512" : Vector256.IsHardwareAccelerated ? "AVX2/256-bit" : Vector128.IsHardwareAccelerated ? "128-bit" : "none")}";
        yield return $"blas:     {Blas.Describe()}";
        if (Blas.LastChoice is { } choice)
        {
            yield return $"          measured {choice.MeasuredUtc:yyyy-MM-dd HH:mm} UTC, fastest of {BlasMeasurement.Workload}:";
            foreach (var t in choice.Timings)
                yield return $"          {t.Backend,-9} {t.Milliseconds,8:F2} ms{(t.Backend == choice.Winner ? "  (chosen)" : "")}";
            yield return $"          cached in {Blas.CacheFile ?? "nothing (no home folder)"}; a new build of tbptt, another native library or CPU measures again";
        }
        yield return "          (TBPTT_BLAS=managed|openblas|mkl|amx-bf16 forces a backend; unset, the fastest is chosen by that measurement)";
        yield return AmxBlas.Instance is { } amx
            ? $"bfloat16: {amx.Name} [{amx.Describe()}] for --matmul-precision medium"
            : $"bfloat16: none ({AmxBlas.Unavailable}); --matmul-precision medium computes in float32";
    }
}
