using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Text.Json;

namespace Tbptt.Numerics;

/// <summary>One backend's time for the measured GEMM set (best of the passes).</summary>
internal sealed record BlasTiming(string Backend, double Milliseconds);

/// <summary>A backend that may be chosen, with what identifies its code (for the cache key).</summary>
internal sealed record BlasCandidate(IBlasBackend Backend, string Identity);

/// <summary>What was measured and chosen; the cache file holds it as JSON.</summary>
internal sealed record BlasChoice(string Key, string Winner, IReadOnlyList<BlasTiming> Timings, string Reason, DateTime MeasuredUtc)
{
    /// <summary>Set when the choice was read from the cache rather than measured now.</summary>
    public string? CachedIn { get; init; }
}

/// <summary>
/// Automatic backend choice by measurement. Which backend is faster depends on the machine: on an AVX-512 EPYC the
/// managed kernel beats OpenBLAS 0.3.21 by 1.5–2× at training shapes, elsewhere native libraries win. So when
/// <c>TBPTT_BLAS</c> is unset, every backend that loads and passes its self-test runs the same few milliseconds of
/// GEMMs shaped like a training step (an LSTM of hidden 256 at batch 32: the per-step recurrent product, a
/// window's input projection and its weight gradient), and the fastest wins. The result is cached per machine
/// under the user's cache folder, keyed by this library's build, each native library's file and the CPU (one
/// choice per key, so builds that share a machine keep theirs: <see cref="MaxCachedChoices"/>).
/// </summary>
internal static class BlasMeasurement
{
    /// <summary>
    /// A native backend must beat the managed one by this fraction. Repeated measurements on a busy 2-core machine
    /// scatter by several per cent, and a tie is not worth a native dependency (the managed kernel is deterministic
    /// across machines and always present).
    /// </summary>
    internal const double NativeMargin = 0.10;

    /// <summary>
    /// What is timed: TBPTT(8, 8) updates of an LSTM language model (vocabulary 65, embedding 64, hidden 256, batch
    /// 32), 530 MFLOP each. A whole update rather than bare GEMMs, because what decides the winner on a few cores is
    /// the products' interplay with the element-wise work between them: a native library's threads spin after each
    /// product and take cores from the gate computations, which a GEMM-only benchmark never sees.
    /// </summary>
    internal const string Workload = "TBPTT(8, 8) updates of an LSTM (vocabulary 65, embedding 64, hidden 256, batch 32)";

    /// <summary>The fastest backend, managed unless a native one is faster by more than <see cref="NativeMargin"/>.</summary>
    internal static (string Winner, string Reason) Decide(IReadOnlyList<BlasTiming> timings)
    {
        if (timings.Count == 0) throw new ArgumentException("no timings to decide from.", nameof(timings));
        var managed = timings.FirstOrDefault(t => t.Backend == "managed");
        var fastest = timings.MinBy(t => t.Milliseconds)!;
        string all = string.Join(", ", timings.Select(t => $"{t.Backend} {t.Milliseconds.ToString("F2", CultureInfo.InvariantCulture)} ms"));
        if (managed is null || fastest == managed)
            return (fastest.Backend, $"fastest: {all}");
        if (fastest.Milliseconds < (1 - NativeMargin) * managed.Milliseconds)
            return (fastest.Backend, $"fastest by {Percent(managed.Milliseconds / fastest.Milliseconds - 1)}: {all}");
        return ("managed", $"{fastest.Backend} faster by less than {Percent(NativeMargin)}, so managed: {all}");

        static string Percent(double x) => (100 * x).ToString("F0", CultureInfo.InvariantCulture) + " %";
    }

    /// <summary>
    /// Choices kept in the cache file, most recent first. Several builds of tbptt often share one machine and one
    /// cache (an installed tool, a work tree being built, a long sweep's copy of an older build): one choice per key
    /// lets each find its own instead of measuring again and overwriting another's at every start.
    /// </summary>
    internal const int MaxCachedChoices = 8;

    /// <summary>
    /// The cached choice when <paramref name="cacheFile"/> holds one for <paramref name="key"/> whose winner is a
    /// candidate; otherwise times every candidate with <paramref name="measure"/> (milliseconds, in candidate
    /// order), decides and adds the choice to the cache (best effort: an unwritable cache only means measuring
    /// again next time, and two processes writing at once may lose one's entry the same way).
    /// </summary>
    internal static BlasChoice Choose(IReadOnlyList<BlasCandidate> candidates, string key, string? cacheFile,
        Func<IReadOnlyList<IBlasBackend>, double[]> measure)
    {
        if (cacheFile is not null && TryRead(cacheFile).FirstOrDefault(c => c.Key == key) is { } cached
            && candidates.Any(c => c.Backend.Name == cached.Winner))
            return cached with { CachedIn = cacheFile };
        double[] ms = measure(candidates.Select(c => c.Backend).ToList());
        var timings = candidates.Select((c, i) => new BlasTiming(c.Backend.Name, ms[i])).ToList();
        var (winner, reason) = Decide(timings);
        var choice = new BlasChoice(key, winner, timings, reason, DateTime.UtcNow);
        if (cacheFile is not null) TryWrite(cacheFile, choice);
        return choice;
    }

    /// <summary>What the choice depends on: this library's build, every candidate's code, the CPU and core count.</summary>
    internal static string Key(IEnumerable<BlasCandidate> candidates) =>
        $"tbptt {typeof(BlasMeasurement).Assembly.ManifestModule.ModuleVersionId}; {CpuDescription()}; " +
        string.Join("; ", candidates.Select(c => $"{c.Backend.Name}: {c.Identity}"));

    /// <summary>A native library's identity: its file, size and modification time (an upgrade changes them).</summary>
    internal static string FileIdentity(string? path)
    {
        if (path is null || !File.Exists(path)) return path ?? "unknown file";
        var info = new FileInfo(path);
        return $"{path} {info.Length} bytes {info.LastWriteTimeUtc:O}";
    }

    internal static string CpuDescription()
    {
        string model = RuntimeInformation.ProcessArchitecture.ToString();
        try
        {
            if (File.Exists("/proc/cpuinfo"))
                model = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))
                    ?.Split(':', 2)[1].Trim() ?? model;
            else if (Environment.GetEnvironmentVariable("PROCESSOR_IDENTIFIER") is { Length: > 0 } id)
                model = id;
        }
        catch (IOException) { }
        string simd = Vector512.IsHardwareAccelerated ? "512-bit" : Vector256.IsHardwareAccelerated ? "256-bit" : "128-bit";
        return $"{model}, {Environment.ProcessorCount} cores, {simd} SIMD";
    }

    /// <summary><c>$XDG_CACHE_HOME/tbptt/blas-choice.json</c>, else <c>~/.cache/tbptt/blas-choice.json</c>; null without a home.</summary>
    internal static string? DefaultCacheFile(Func<string, string?> environment)
    {
        string? xdg = environment("XDG_CACHE_HOME");
        if (!string.IsNullOrWhiteSpace(xdg) && Path.IsPathRooted(xdg)) return Path.Combine(xdg, "tbptt", "blas-choice.json");
        string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        return string.IsNullOrEmpty(home) ? null : Path.Combine(home, ".cache", "tbptt", "blas-choice.json");
    }

    private const int Rounds = 2, WarmupUpdates = 1, TimedUpdates = 5, PauseMilliseconds = 20;

    /// <summary>
    /// Milliseconds of each backend's fastest update of <see cref="Workload"/>. Each backend runs a block of
    /// updates on its own after a pause that lets the previous one's threads go idle (interleaving them update by
    /// update measured their contention, not them); two rounds in opposite orders keep the order from favouring
    /// either. The untimed update of a block starts its threads.
    /// </summary>
    internal static double[] Measure(IReadOnlyList<IBlasBackend> backends)
    {
        const int K = 8, B = 32, V = 65;
        var model = Models.SequenceModel<float>.Create(
            new Models.ModelConfig { Cell = Models.CellKind.Lstm, InputSize = V, EmbedSize = 64, HiddenSize = 256, OutputSize = V }, seed: 1);
        var engine = new Engine.TbpttEngine<float>(model, B);
        var rng = new Random(1);
        var tokens = Enumerable.Range(0, (K + 1) * B).Select(_ => rng.Next(V)).ToArray();
        var best = Enumerable.Repeat(double.PositiveInfinity, backends.Count).ToArray();
        for (int round = 0; round < Rounds; round++)
            for (int j = 0; j < backends.Count; j++)
            {
                int i = round % 2 == 0 ? j : backends.Count - 1 - j;
                Thread.Sleep(PauseMilliseconds);
                Blas.WithBackend(backends[i], () =>
                {
                    for (int u = 0; u < WarmupUpdates + TimedUpdates; u++)
                    {
                        long start = Stopwatch.GetTimestamp();
                        model.Parameters.ZeroGrad();
                        engine.Update(K, K, tokens.AsSpan(0, K * B), tokens.AsSpan(B, K * B));
                        double ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                        if (u >= WarmupUpdates) best[i] = Math.Min(best[i], ms);
                    }
                });
            }
        return best;
    }


    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    /// <summary>The cached choices (a JSON array); none when the file is missing, unreadable or of an older format.</summary>
    private static IReadOnlyList<BlasChoice> TryRead(string path)
    {
        try
        {
            return File.Exists(path) ? JsonSerializer.Deserialize<List<BlasChoice>>(File.ReadAllText(path), Json)?.Where(c => c?.Key is not null).ToList() ?? [] : [];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException or NotSupportedException)
        {
            return []; // unreadable or from another version: measure again
        }
    }

    /// <summary>Puts <paramref name="choice"/> first, replacing an older choice of its key, and keeps the
    /// <see cref="MaxCachedChoices"/> most recent.</summary>
    private static void TryWrite(string path, BlasChoice choice)
    {
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            var kept = TryRead(path).Where(c => c.Key != choice.Key).Take(MaxCachedChoices - 1);
            // Temporary file, then rename: concurrent processes never read half a file.
            string temp = $"{path}.{Environment.ProcessId}.tmp";
            File.WriteAllText(temp, JsonSerializer.Serialize(kept.Prepend(choice with { CachedIn = null }).ToList(), Json));
            File.Move(temp, path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }
}
