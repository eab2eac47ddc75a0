namespace Tbptt.Numerics;

/// <summary>What <c>TBPTT_BLAS</c> (or <see cref="Blas.Select"/>) asks for.</summary>
public enum BlasRequest
{
    /// <summary>Unset, empty or <c>auto</c>: the fastest of managed and the native libraries that load, by measurement.</summary>
    Auto,
    /// <summary>The managed SIMD kernel (<c>managed</c>).</summary>
    Managed,
    /// <summary>OpenBLAS, loaded at run time (<c>openblas</c>).</summary>
    OpenBlas,
    /// <summary>Intel MKL, loaded at run time (<c>mkl</c>).</summary>
    Mkl,
    /// <summary>The plain triple loop the others are tested against (<c>reference</c>): slow.</summary>
    Reference,
    /// <summary>bfloat16 products on AMX tiles (<c>amx-bf16</c>): fast, about three significant digits; never chosen
    /// automatically (a run asks for it with its matmul precision).</summary>
    AmxBf16,
}

/// <summary>
/// Which backend every matrix product uses, and why. Chosen lazily, once, on first use: the <c>TBPTT_BLAS</c>
/// environment variable forces one; otherwise the managed kernel and every native library that loads and passes
/// a self-test against the reference kernel are timed on training-shaped GEMMs and the fastest wins (the
/// measurement is cached per machine; see <see cref="Describe"/>).
/// </summary>
public static partial class Blas
{
    /// <summary>The environment variable that forces a backend: <c>managed|openblas|mkl|reference|amx-bf16</c> (or <c>auto</c>).</summary>
    public const string EnvironmentVariable = "TBPTT_BLAS";

    static readonly object SelectionGate = new();
    static volatile Selection? current;
    static readonly Dictionary<string, NativeBlas?> NativeCache = [];

    sealed record Selection(IBlasBackend Backend, string Description);

    /// <summary>This thread's own backend, ahead of the process's: the one being measured while the automatic choice
    /// times the candidates, or a run's matmul precision (<see cref="UsePrecision"/>). GEMM helpers take their
    /// caller's (<see cref="GemmThreads"/>).</summary>
    [ThreadStatic] static IBlasBackend? measuring;

    /// <summary>This thread's own backend, or null when it follows the process's.</summary>
    internal static IBlasBackend? ThreadBackend { get => measuring; set => measuring = value; }

    /// <summary>The backend in use. Setting it (tests, benchmarks) overrides the automatic choice.</summary>
    public static IBlasBackend Active
    {
        get => measuring ?? (current ?? SelectFromEnvironment()).Backend;
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            // Under the gate, so a lazy selection running concurrently cannot overwrite an explicit choice.
            lock (SelectionGate) current = new Selection(value, $"{Label(value)} (set in code)");
        }
    }

    /// <summary>One line: the active backend and why it was chosen, for <c>tbptt info</c> and benchmark output.</summary>
    public static string Describe() => (current ?? SelectFromEnvironment()).Description;

    /// <summary>The measurement behind the latest automatic choice, or null when none was measured or cached.</summary>
    internal static BlasChoice? LastChoice { get; private set; }

    /// <summary>Where automatic choices are cached; null disables the cache. Tests point it at a temporary folder.</summary>
    internal static string? CacheFile { get; set; } = BlasMeasurement.DefaultCacheFile(Environment.GetEnvironmentVariable);

    /// <summary>
    /// Selects a backend by <c>TBPTT_BLAS</c> name and makes it active. Throws for an unknown name or a forced
    /// native library that cannot be loaded; a native library that fails its self-test is replaced by managed.
    /// </summary>
    public static IBlasBackend Select(string name)
    {
        var selection = Resolve(ParseRequest(name), $"Blas.Select(\"{name}\")");
        lock (SelectionGate) current = selection;
        return selection.Backend;
    }

    /// <summary>
    /// What <paramref name="name"/> would select, with the one-line reason, without making it active.
    /// <paramref name="source"/> names where the request came from (e.g. <c>TBPTT_BLAS=openblas</c>).
    /// </summary>
    public static (IBlasBackend Backend, string Description) Resolve(string? name, string? source = null)
    {
        var s = Resolve(ParseRequest(name), source ?? $"requested \"{name}\"");
        return (s.Backend, s.Description);
    }

    /// <summary>Parses a <c>TBPTT_BLAS</c> value, ignoring case and surrounding spaces; null or empty means auto.</summary>
    public static BlasRequest ParseRequest(string? value) => value?.Trim().ToLowerInvariant() switch
    {
        null or "" or "auto" => BlasRequest.Auto,
        "managed" => BlasRequest.Managed,
        "openblas" => BlasRequest.OpenBlas,
        "mkl" => BlasRequest.Mkl,
        "reference" => BlasRequest.Reference,
        "amx-bf16" => BlasRequest.AmxBf16,
        _ => throw new ArgumentException(
            $"{EnvironmentVariable}='{value}' is not a BLAS backend: expected managed, openblas, mkl, reference, amx-bf16 or auto.", nameof(value)),
    };

    /// <summary>Forgets the current choice so the next use selects again from <c>TBPTT_BLAS</c>.</summary>
    public static void ResetSelection()
    {
        lock (SelectionGate) current = null;
    }

    static Selection SelectFromEnvironment()
    {
        lock (SelectionGate)
        {
            if (current is { } done) return done;
            string? value = Environment.GetEnvironmentVariable(EnvironmentVariable);
            var request = ParseRequest(value);
            var selection = Resolve(request, request == BlasRequest.Auto ? null : $"{EnvironmentVariable}={value!.Trim()}");
            current = selection;
            return selection;
        }
    }

    /// <summary><paramref name="source"/> null means automatic selection.</summary>
    static Selection Resolve(BlasRequest request, string? source)
    {
        switch (request)
        {
            case BlasRequest.Managed:
                return new(ManagedBlas.Instance, $"{Label(ManagedBlas.Instance)} ({source})");
            case BlasRequest.Reference:
                return new(ReferenceBlas.Instance, $"reference ({source})");
            case BlasRequest.AmxBf16:
            {
                var amx = AmxBlas.Instance ?? throw new InvalidOperationException($"{source}: {AmxBlas.Unavailable}.");
                return new(amx, $"{Label(amx)} ({source})");
            }
            case BlasRequest.Mkl:
            case BlasRequest.OpenBlas:
            {
                string kind = request == BlasRequest.Mkl ? "mkl" : "openblas";
                var native = LoadNative(kind) ?? throw new InvalidOperationException(
                    $"{source}: cannot load {kind}; tried {string.Join(", ", Candidates(kind))}.");
                return Verified(native, source!);
            }
            default:
                return Automatic();
        }
    }

    /// <summary>Managed against every native library that loads and passes its self-test, by measurement.</summary>
    static Selection Automatic()
    {
        var candidates = new List<BlasCandidate> { new(ManagedBlas.Instance, "built in") };
        var notes = new List<string>();
        foreach (string kind in new[] { "mkl", "openblas" })
        {
            var native = LoadNative(kind);
            if (native is null) notes.Add($"no {kind}: tried {string.Join(", ", Candidates(kind))}");
            else if (BlasSelfTest.Run(native) is { } failure) notes.Add($"{native.Name} failed its self-test, {failure}");
            else candidates.Add(new BlasCandidate(native, BlasMeasurement.FileIdentity(native.LibraryPath ?? native.LibraryName)));
        }
        if (candidates.Count == 1)
        {
            LastChoice = null;
            return new(ManagedBlas.Instance, $"{Label(ManagedBlas.Instance)} (no native BLAS to compare: {string.Join("; ", notes)})");
        }
        var choice = BlasMeasurement.Choose(candidates, BlasMeasurement.Key(candidates), CacheFile, BlasMeasurement.Measure);
        LastChoice = choice;
        var winner = candidates.First(c => c.Backend.Name == choice.Winner).Backend;
        string source = choice.CachedIn is null ? "measured now" : $"measured {choice.MeasuredUtc:yyyy-MM-dd}, cached";
        return new(winner, $"{Label(winner)} (selected automatically, {source}; {choice.Reason})");
    }

    /// <summary>Runs <paramref name="work"/> with every product of this thread on <paramref name="backend"/>.</summary>
    internal static void WithBackend(IBlasBackend backend, Action work)
    {
        var previous = measuring;
        measuring = backend;
        try { work(); }
        finally { measuring = previous; }
    }

    static IReadOnlyList<string> Candidates(string kind) => kind == "mkl" ? NativeBlas.MklNames : NativeBlas.OpenBlasNames;

    /// <summary>Each library is probed once per process; handles are never freed.</summary>
    static NativeBlas? LoadNative(string kind)
    {
        lock (NativeCache)
        {
            if (!NativeCache.TryGetValue(kind, out var native))
                NativeCache[kind] = native = NativeBlas.TryLoad(kind);
            return native;
        }
    }

    /// <summary>A native library is trusted only after it reproduces the reference kernel on small products.</summary>
    static Selection Verified(NativeBlas native, string why)
    {
        string? failure = BlasSelfTest.Run(native);
        return failure is null
            ? new(native, $"{native.Name} ({native.Describe()}; {why})")
            : new(ManagedBlas.Instance,
                $"{Label(ManagedBlas.Instance)} ({native.Name} at {native.LibraryPath ?? native.LibraryName} failed its self-test, {failure}; {why})");
    }

    static string Label(IBlasBackend backend) => backend switch
    {
        ManagedBlas m => $"managed [{m.Describe()}]",
        NativeBlas n => $"{n.Name} [{n.Describe()}]",
        AmxBlas a => $"{a.Name} [{a.Describe()}]",
        _ => backend.Name,
    };
}

/// <summary>The check a native backend must pass before it is used: small products against the reference.</summary>
internal static class BlasSelfTest
{
    /// <summary>Null when <paramref name="backend"/> agrees with <see cref="ReferenceBlas"/>, else what went wrong.</summary>
    public static string? Run(IBlasBackend backend)
    {
        try
        {
            // Odd sizes, every transpose combination, padded leading dimensions, β = 0 over NaN and β ≠ 0.
            const int m = 7, n = 9, k = 11, pad = 3;
            foreach (bool ta in new[] { false, true })
                foreach (bool tb in new[] { false, true })
                {
                    int lda = (ta ? m : k) + pad, ldb = (tb ? k : n) + pad, ldc = n + pad;
                    var a = Fill((ta ? k : m) * lda, 1);
                    var b = Fill((tb ? n : k) * ldb, 2);
                    foreach (double beta in new[] { 0.0, 0.5 })
                    {
                        var expected = Fill(m * ldc, 3);
                        var actual = (double[])expected.Clone();
                        if (beta == 0) Array.Fill(actual, double.NaN);
                        ReferenceBlas.Instance.Gemm(ta, tb, m, n, k, 1.5, a, lda, b, ldb, beta, expected, ldc);
                        backend.Gemm(ta, tb, m, n, k, 1.5, a, lda, b, ldb, beta, actual, ldc);
                        var af = Array.ConvertAll(a, x => (float)x);
                        var bf = Array.ConvertAll(b, x => (float)x);
                        var cf = beta == 0 ? Enumerable.Repeat(float.NaN, m * ldc).ToArray()
                            : Array.ConvertAll(Fill(m * ldc, 3), x => (float)x);
                        backend.Gemm(ta, tb, m, n, k, 1.5f, af, lda, bf, ldb, (float)beta, cf, ldc);
                        for (int i = 0; i < m; i++)
                            for (int j = 0; j < n; j++)
                            {
                                double e = expected[i * ldc + j];
                                if (!(Math.Abs(actual[i * ldc + j] - e) <= 1e-12 * (1 + Math.Abs(e))) ||
                                    !(Math.Abs(cf[i * ldc + j] - e) <= 1e-4 * (1 + Math.Abs(e))))
                                    return $"C[{i},{j}] of a {m}×{n}×{k} product (transA={ta}, transB={tb}, β={beta}) is " +
                                           $"{actual[i * ldc + j]} (double) / {cf[i * ldc + j]} (float), expected {e}";
                            }
                    }
                }
            return null;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return $"{e.GetType().Name}: {e.Message}";
        }
    }

    static double[] Fill(int length, int seed)
    {
        var values = new double[length];
        for (int i = 0; i < length; i++) values[i] = ((i * 37 + seed * 11) % 17 - 8) / 8.0; // exact in float
        return values;
    }
}
