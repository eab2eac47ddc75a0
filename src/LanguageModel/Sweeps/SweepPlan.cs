using System.Globalization;
using System.Text.Json;
using Tbptt.Checkpoints;
using Tbptt.LanguageModel.Runs;

namespace Tbptt.LanguageModel.Sweeps;

/// <summary>
/// A comparison's grid: fixed truncation lengths K (each run as TBPTT(K, 2K−1)), tolerated biases δ of adaptive
/// runs, and seeds; every configuration runs once per seed (<see cref="SweepPlan.Grid"/>).
/// </summary>
/// <param name="Fixed">Fixed K values, in table order.</param>
/// <param name="Deltas">δ values of the adaptive configurations, in table order.</param>
/// <param name="Seeds">Seeds of the initial weights (and of generated data).</param>
public sealed record GridOptions(IReadOnlyList<int> Fixed, IReadOnlyList<double> Deltas, IReadOnlyList<long> Seeds);

/// <summary>One run of a sweep: a complete <see cref="RunOptions"/> and the folder (relative to the sweep's) it writes.</summary>
public sealed record SweepEntry(int Index, string Name, string Configuration, long Seed, string Directory, RunOptions Run);

/// <summary>
/// A grid of runs as data: <c>DIR/sweep.json</c>, one entry per (configuration, seed), each a complete run record
/// with its own folder under <c>DIR/runs/</c>, plus what the aggregate needs (description, metric, the order of
/// the configurations). Written once by planning; workers only read it and write their own entry folders, so
/// concurrent workers cannot corrupt one another.
/// </summary>
public sealed record SweepPlan
{
    /// <summary>The plan's file in the sweep folder.</summary>
    public const string FileName = "sweep.json";
    /// <summary>
    /// The format version this build writes. Version 2: a relative data path resolves against the sweep's folder,
    /// so a sweep moves with its data (a repository, a copy to a cluster). Version 1, still read: against the
    /// current directory of the worker (sweeps planned from a repository's root run from there).
    /// </summary>
    public const int FormatVersion = 2;

    /// <summary>The format version the plan was written with.</summary>
    public int Version { get; init; } = FormatVersion;
    /// <summary>"copy" or "charlm".</summary>
    public required string Kind { get; init; }
    /// <summary>A line describing the set-up, written above the table.</summary>
    public required string Description { get; init; }
    /// <summary>"ppl" or "bits".</summary>
    public required string Metric { get; init; }
    /// <summary>Configuration names in table order ("K=5", …, "δ=0.1").</summary>
    public required IReadOnlyList<string> Configurations { get; init; }
    /// <summary>The runs, indexed from 0.</summary>
    public required IReadOnlyList<SweepEntry> Entries { get; init; }

    /// <summary>
    /// The paper's comparison: fixed TBPTT(K, 2K−1) for every K and adaptive δ for every δ, each for every seed,
    /// all from <paramref name="template"/> (its own truncation and seed are replaced). Every configuration of a
    /// seed starts from the same initial weights and data.
    /// </summary>
    public static SweepPlan Grid(string kind, string description, RunOptions template, IReadOnlyList<int> fixedK,
        IReadOnlyList<double> deltas, IReadOnlyList<long> seeds)
    {
        if (fixedK.Count + deltas.Count == 0) throw new ArgumentException("give at least one --fixed K or --adaptive δ.");
        if (seeds.Count == 0) throw new ArgumentException("--seeds: give at least one seed.");
        if (seeds.Distinct().Count() != seeds.Count) throw new ArgumentException("--seeds: a seed appears twice.");
        if (fixedK.Distinct().Count() != fixedK.Count || deltas.Distinct().Count() != deltas.Count)
            throw new ArgumentException("a configuration appears twice in --fixed or --adaptive.");
        var tracked = deltas.ToArray();
        var configs = new List<(string Name, string Stem, RunOptions Run)>();
        foreach (int k in fixedK)
        {
            if (k < 1) throw new ArgumentOutOfRangeException(nameof(fixedK), k, $"--fixed: K = {k} must be at least 1.");
            configs.Add(($"K={k}", $"fixed-k{k}", template with
                { Truncation = new TruncationOptions { K = k, K2 = 2 * k - 1 }, TrackedDeltas = tracked }));
        }
        foreach (double d in deltas)
        {
            string text = d.ToString(CultureInfo.InvariantCulture);
            configs.Add(($"δ={text}", $"adaptive-d{text}", template with
            {
                Truncation = template.Truncation with { Adaptive = true },
                Adaptive = template.Adaptive with { Delta = d }, TrackedDeltas = tracked,
            }));
        }
        var entries = new List<SweepEntry>();
        foreach (var (name, stem, run) in configs)
            foreach (long seed in seeds)
            {
                var r = run with { Training = run.Training with { Seed = seed } };
                r.Validate();
                string entry = $"{stem}-seed{seed.ToString(CultureInfo.InvariantCulture)}";
                entries.Add(new SweepEntry(entries.Count, entry, name, seed, $"runs/{entry}", r));
            }
        return new SweepPlan
        {
            Kind = kind, Description = description, Metric = template.Metric,
            Configurations = configs.Select(c => c.Name).ToArray(), Entries = entries,
        };
    }

    /// <summary>The plan as sweep.json text.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, RunOptions.Json);

    /// <summary>The entry's folder on this machine.</summary>
    public static string EntryDirectory(string sweepDir, SweepEntry e) => Path.Combine(sweepDir, e.Directory);

    /// <summary>What the entries' relative data paths resolve against (<see cref="FormatVersion"/>): the sweep's
    /// folder, or for a version-1 plan the current directory.</summary>
    public string DataRoot(string sweepDir) => Version >= 2 ? Path.GetFullPath(sweepDir) : Directory.GetCurrentDirectory();

    /// <summary>The plan with every data path absolute (resolved against <see cref="DataRoot"/>) and this build's
    /// version: two plans that run the same runs on the same files compare equal.</summary>
    public SweepPlan Located(string sweepDir)
    {
        string root = DataRoot(sweepDir);
        return this with
        {
            Version = FormatVersion,
            Entries = Entries.Select(e => e with { Run = e.Run.WithDataPaths(p => Path.GetFullPath(p, root)) }).ToArray(),
        };
    }

    /// <summary>
    /// The plan as stored in <paramref name="sweepDir"/>: a data path that lies, like the sweep's folder, under the
    /// current directory (the project it was planned in: a repository, a home folder) is written relative to the
    /// sweep's folder, so both move together; any other stays absolute (a shared data set elsewhere).
    /// </summary>
    private SweepPlan Relocatable(string sweepDir)
    {
        string full = Path.GetFullPath(sweepDir), here = Directory.GetCurrentDirectory();
        string Store(string path)
        {
            string data = Path.GetFullPath(path);
            return Under(data, here) && Under(full, here) ? Path.GetRelativePath(full, data).Replace(Path.DirectorySeparatorChar, '/') : data;
        }
        return this with
        {
            Version = FormatVersion,
            Entries = Entries.Select(e => e with { Run = e.Run.WithDataPaths(Store) }).ToArray(),
        };

        static bool Under(string path, string folder) =>
            path == folder || path.StartsWith(Path.TrimEndingDirectorySeparator(folder) + Path.DirectorySeparatorChar, StringComparison.Ordinal);
    }

    /// <summary>Reads and checks <c>DIR/sweep.json</c>; a missing or malformed file is one clear error.</summary>
    public static SweepPlan Load(string dir)
    {
        string path = Path.Combine(dir, FileName);
        if (!Directory.Exists(dir)) throw new DirectoryNotFoundException($"{dir}: no such folder.");
        if (!File.Exists(path)) throw new FileNotFoundException($"{dir} is not a sweep: it has no {FileName} (make one with 'tbptt sweep plan').", path);
        SweepPlan? plan;
        try { plan = JsonSerializer.Deserialize<SweepPlan>(File.ReadAllText(path), RunOptions.Json); }
        catch (JsonException e) { throw new InvalidDataException($"{path}: not a valid sweep: {e.Message}"); }
        if (plan is null) throw new InvalidDataException($"{path}: empty.");
        plan.Check(path);
        return plan;
    }

    /// <summary>Rejects a plan a worker must not trust: a wrong version, indices out of order, folders that would
    /// escape the sweep or collide, configurations the table does not know.</summary>
    private void Check(string path)
    {
        if (Version is < 1 or > FormatVersion) throw new InvalidDataException($"{path}: sweep format version {Version}; this build reads versions 1 to {FormatVersion}.");
        if (Kind is not ("copy" or "charlm")) throw new InvalidDataException($"{path}: kind '{Kind}' is not copy or charlm.");
        if (Metric is not ("ppl" or "bits")) throw new InvalidDataException($"{path}: metric '{Metric}' is not ppl or bits.");
        if (Entries is null || Configurations is null || Entries.Count == 0) throw new InvalidDataException($"{path}: the sweep has no entries.");
        var folders = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < Entries.Count; i++)
        {
            var e = Entries[i] ?? throw new InvalidDataException($"{path}: entry {i} is empty.");
            if (e.Index != i) throw new InvalidDataException($"{path}: entry {i} says index {e.Index}.");
            if (e.Run is null) throw new InvalidDataException($"{path}: entry {i} has no run options.");
            if (string.IsNullOrWhiteSpace(e.Name)) throw new InvalidDataException($"{path}: entry {i} has no name.");
            if (string.IsNullOrEmpty(e.Directory) || Path.IsPathRooted(e.Directory) || e.Directory.Split('/', '\\').Any(p => p is "" or "." or ".."))
                throw new InvalidDataException($"{path}: entry {i}'s folder '{e.Directory}' must be a plain relative path inside the sweep.");
            if (!folders.Add(e.Directory)) throw new InvalidDataException($"{path}: entries share the folder '{e.Directory}'.");
            if (!Configurations.Contains(e.Configuration)) throw new InvalidDataException($"{path}: entry {i}'s configuration '{e.Configuration}' is not listed.");
        }
        foreach (string c in Configurations)
            if (!Entries.Any(e => e.Configuration == c)) throw new InvalidDataException($"{path}: configuration '{c}' has no entry.");
    }

    /// <summary>
    /// Writes the plan into <paramref name="dir"/>, its data paths relative to the folder where they can be
    /// (<see cref="FormatVersion"/>); relative paths given to it are relative to the current directory. Planning the
    /// same sweep again keeps what has run and the file as it is (so a stopped <c>copy</c> continues, and a
    /// version-1 plan stays version 1); a different sweep over entries that have already started is refused.
    /// </summary>
    public void Save(string dir)
    {
        string path = Path.Combine(dir, FileName);
        var here = this with { Version = 1 }; // paths as given: relative to the current directory
        if (File.Exists(path))
        {
            // The same runs on the same files, read and written again by this build (so a field a newer build adds
            // or stops writing, or a path written relative to another folder, does not make it look different).
            SweepPlan? existing = null;
            try { existing = Load(dir); }
            catch (InvalidDataException) { } // unreadable: replaced below unless runs have started
            if (existing?.Located(dir).ToJson() == here.Located(dir).ToJson()) return;
            if (Directory.Exists(Path.Combine(dir, "runs")) && Directory.EnumerateFileSystemEntries(Path.Combine(dir, "runs")).Any())
                throw new ArgumentException($"{dir} holds a different sweep whose runs have started; choose another --out or remove it.");
        }
        Directory.CreateDirectory(dir);
        AtomicFile.WriteAllText(path, Relocatable(dir).ToJson() + "\n");
    }
}
