using Tbptt.Numerics;

namespace Tbptt.Tests;

/// <summary>
/// The automatic backend choice without timing anything real: the decision from injected timings, and the cache
/// (hit, and invalidation when the key — library build, native library file, CPU — changes).
/// </summary>
public class BlasMeasurementTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tbptt-blas-cache-").FullName;
    private string CacheFile => Path.Combine(_dir, "tbptt", "blas-choice.json");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private sealed class Named(string name) : IBlasBackend
    {
        public string Name => name;
        public void Gemm(bool transA, bool transB, int m, int n, int k, float alpha, ReadOnlySpan<float> a, int lda,
            ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc) => throw new NotSupportedException();
        public void Gemm(bool transA, bool transB, int m, int n, int k, double alpha, ReadOnlySpan<double> a, int lda,
            ReadOnlySpan<double> b, int ldb, double beta, Span<double> c, int ldc) => throw new NotSupportedException();
    }

    private static readonly BlasCandidate Managed = new(new Named("managed"), "built in");
    private static readonly BlasCandidate OpenBlas = new(new Named("openblas"), "/lib/libopenblas.so 100 bytes");

    [Theory]
    [InlineData(10.0, 12.0, "managed")]   // managed faster
    [InlineData(10.0, 9.5, "managed")]    // native faster by 5 %: within the margin
    [InlineData(10.0, 9.1, "managed")]    // 9 %: still within
    [InlineData(10.0, 8.9, "openblas")]   // 11 %: native
    [InlineData(10.0, 5.0, "openblas")]
    public void NativeWinsOnlyWhenClearlyFaster(double managed, double openblas, string expected)
    {
        var (winner, reason) = BlasMeasurement.Decide([new("managed", managed), new("openblas", openblas)]);
        Assert.Equal(expected, winner);
        Assert.Contains("managed", reason);
        Assert.Contains("openblas", reason); // the reason names every timing
    }

    [Fact]
    public void TheFastestOfSeveralNativeLibrariesWins()
    {
        var (winner, _) = BlasMeasurement.Decide([new("managed", 10), new("openblas", 6), new("mkl", 4)]);
        Assert.Equal("mkl", winner);
        Assert.Throws<ArgumentException>(() => BlasMeasurement.Decide([]));
    }

    [Fact]
    public void AChoiceIsMeasuredOnceThenReadFromTheCache()
    {
        int measured = 0;
        double[] Measure(IReadOnlyList<IBlasBackend> b) { measured++; return [10, 5]; }
        var first = BlasMeasurement.Choose([Managed, OpenBlas], "key 1", CacheFile, Measure);
        Assert.Equal(("openblas", 1, null), (first.Winner, measured, first.CachedIn));
        Assert.True(File.Exists(CacheFile));

        var second = BlasMeasurement.Choose([Managed, OpenBlas], "key 1", CacheFile, Measure);
        Assert.Equal(("openblas", 1, CacheFile), (second.Winner, measured, second.CachedIn));
        Assert.Equal(first.Timings, second.Timings);
    }

    [Fact]
    public void ANewKeyOrAMissingWinnerOrABrokenFileMeasuresAgain()
    {
        int measured = 0;
        double[] Measure(IReadOnlyList<IBlasBackend> b) { measured++; return b.Count == 2 ? [10, 5] : [10]; }
        BlasMeasurement.Choose([Managed, OpenBlas], "key 1", CacheFile, Measure);
        var changed = BlasMeasurement.Choose([Managed, OpenBlas], "key 2", CacheFile, Measure); // new build, library or CPU
        Assert.Equal((2, null), (measured, changed.CachedIn));
        var gone = BlasMeasurement.Choose([Managed], "key 2", CacheFile, Measure);             // the winner is no longer there
        Assert.Equal((3, "managed"), (measured, gone.Winner));
        File.WriteAllText(CacheFile, "{ not json");
        var broken = BlasMeasurement.Choose([Managed, OpenBlas], "key 2", CacheFile, Measure);
        Assert.Equal((4, "openblas"), (measured, broken.Winner));
        BlasMeasurement.Choose([Managed, OpenBlas], "key 2", null, Measure);                     // no cache: always measures
        Assert.Equal(5, measured);
    }

    [Fact]
    public void BuildsSharingTheCacheKeepTheirOwnChoices()
    {
        int measured = 0;
        double[] Measure(IReadOnlyList<IBlasBackend> b) { measured++; return [10, 5]; }
        // Two builds starting in turn (a sweep's older copy and a fresh build) measure once each, not at every start.
        for (int start = 0; start < 3; start++)
        {
            BlasMeasurement.Choose([Managed, OpenBlas], "build A", CacheFile, Measure);
            BlasMeasurement.Choose([Managed, OpenBlas], "build B", CacheFile, Measure);
        }
        Assert.Equal(2, measured);
        // The cache is bounded: the oldest keys go first.
        for (int k = 0; k < BlasMeasurement.MaxCachedChoices; k++) BlasMeasurement.Choose([Managed, OpenBlas], $"build {k}", CacheFile, Measure);
        Assert.Equal(2 + BlasMeasurement.MaxCachedChoices, measured);
        Assert.NotNull(BlasMeasurement.Choose([Managed, OpenBlas], $"build {BlasMeasurement.MaxCachedChoices - 1}", CacheFile, Measure).CachedIn);
        BlasMeasurement.Choose([Managed, OpenBlas], "build A", CacheFile, Measure);
        Assert.Equal(3 + BlasMeasurement.MaxCachedChoices, measured); // A was pushed out
        // A file of the former format (one object) is read as empty, then replaced.
        File.WriteAllText(CacheFile, "{\"Key\": \"build A\", \"Winner\": \"managed\"}");
        BlasMeasurement.Choose([Managed, OpenBlas], "build A", CacheFile, Measure);
        Assert.Equal(4 + BlasMeasurement.MaxCachedChoices, measured);
        Assert.NotNull(BlasMeasurement.Choose([Managed, OpenBlas], "build A", CacheFile, Measure).CachedIn);
    }

    [Fact]
    public void TheKeyChangesWithTheNativeLibraryFileAndNamesTheCpu()
    {
        string lib = Path.Combine(_dir, "libfake.so");
        File.WriteAllText(lib, "one");
        string before = BlasMeasurement.Key([Managed, new BlasCandidate(OpenBlas.Backend, BlasMeasurement.FileIdentity(lib))]);
        File.WriteAllText(lib, "a longer file");
        string after = BlasMeasurement.Key([Managed, new BlasCandidate(OpenBlas.Backend, BlasMeasurement.FileIdentity(lib))]);
        Assert.NotEqual(before, after);
        Assert.Contains(BlasMeasurement.CpuDescription(), before);
        Assert.Contains(typeof(Blas).Assembly.ManifestModule.ModuleVersionId.ToString(), before);
    }

    [Fact]
    public void TheCacheLivesUnderXdgCacheHomeElseHomeDotCache()
    {
        Assert.Equal(Path.Combine(_dir, "tbptt", "blas-choice.json"), BlasMeasurement.DefaultCacheFile(v => v == "XDG_CACHE_HOME" ? _dir : null));
        string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        Assert.Equal(Path.Combine(home, ".cache", "tbptt", "blas-choice.json"), BlasMeasurement.DefaultCacheFile(_ => null));
        Assert.Equal(Path.Combine(home, ".cache", "tbptt", "blas-choice.json"), BlasMeasurement.DefaultCacheFile(_ => "relative/dir"));
    }

    [Fact]
    public void TheMeasurementTimesEveryBackendGiven()
    {
        var ms = BlasMeasurement.Measure([ManagedBlas.Instance, ReferenceBlas.Instance]);
        Assert.Equal(2, ms.Length);
        Assert.All(ms, t => Assert.True(t > 0 && double.IsFinite(t)));
    }
}
