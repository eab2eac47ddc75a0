using System.Globalization;
using Tbptt.Checkpoints;
using Tbptt.Models;
using Tbptt.Training;

namespace Tbptt.LanguageModel.Runs;

/// <summary>
/// Models kept during a run (<see cref="RunOptions.Snapshots"/>) so that a later study can probe them: the initial
/// model before the first update, and with n snapshots the model at the first evaluation round at or past each
/// i/n of the run's budget (i = 1..n), as <c>snapshots/model-u&lt;update&gt;.safetensors</c> in the run folder. The
/// budget's fraction is the trainer's: the largest of epochs, compute and wall time spent over their limits, so a
/// run bounded by compute spreads its snapshots over its compute. Whether a round keeps one depends only on its own
/// and the previous round's record, which a checkpoint restores, so a resumed run keeps the same rounds as an
/// uninterrupted one. Files carry the run's metadata (options, vocabulary, backend) and where they were taken.
/// </summary>
public static class RunSnapshots
{
    /// <summary>The folder inside a run's folder.</summary>
    public const string Folder = "snapshots";

    /// <summary>The most snapshots a run may ask for.</summary>
    public const int MaxCount = 10_000;

    /// <summary>Metadata keys of a snapshot file: updates, epoch and compute tokens when it was taken.</summary>
    public const string UpdatesKey = "snapshot.updates", EpochKey = "snapshot.epoch", ComputeKey = "snapshot.compute_tokens";

    /// <summary><c>DIR/snapshots/model-u&lt;updates&gt;.safetensors</c>.</summary>
    public static string PathOf(string dir, long updates) =>
        Path.Combine(dir, Folder, string.Create(CultureInfo.InvariantCulture, $"model-u{updates}.safetensors"));

    /// <summary>The fraction of <paramref name="t"/>'s budget spent at an evaluation round, in [0, 1].</summary>
    public static double Fraction(TrainerOptions t, EvaluationRecord r)
    {
        double byEpoch = r.Epoch / t.Epochs;
        double byCompute = t.ComputeBudget is { } c ? (double)r.ComputeTokens / c : 0;
        double byTime = t.TimeLimit is { } limit ? r.WallSeconds / limit.TotalSeconds : 0;
        return Math.Clamp(Math.Max(byEpoch, Math.Max(byCompute, byTime)), 0, 1);
    }

    /// <summary>Whether a round at <paramref name="fraction"/> of the budget, after one at <paramref name="previous"/>
    /// (0 for the first round), keeps a snapshot of <paramref name="count"/>: it is the first past some i/count.</summary>
    public static bool Due(int count, double previous, double fraction) =>
        count > 0 && Math.Floor(count * fraction + 1e-9) > Math.Floor(count * previous + 1e-9);

    /// <summary>Writes the model's current parameters atomically, with <paramref name="meta"/> and where it was taken.</summary>
    public static string Save(string dir, SequenceModel<float> model, IReadOnlyDictionary<string, string> meta, long updates, double epoch, long computeTokens)
    {
        Directory.CreateDirectory(Path.Combine(dir, Folder));
        var m = new Dictionary<string, string>(meta)
        {
            [UpdatesKey] = updates.ToString(CultureInfo.InvariantCulture),
            [EpochKey] = epoch.ToString("R", CultureInfo.InvariantCulture),
            [ComputeKey] = computeTokens.ToString(CultureInfo.InvariantCulture),
        };
        string path = PathOf(dir, updates);
        ModelCheckpoint.Save(path, model, m);
        return path;
    }

    /// <summary>The snapshot files of a run folder, oldest (fewest updates) first.</summary>
    public static IReadOnlyList<(long Updates, string Path)> List(string dir)
    {
        string folder = Path.Combine(dir, Folder);
        if (!Directory.Exists(folder)) return [];
        var found = new List<(long, string)>();
        foreach (string file in Directory.EnumerateFiles(folder, "model-u*.safetensors"))
        {
            string name = Path.GetFileNameWithoutExtension(file);
            if (long.TryParse(name.AsSpan("model-u".Length), NumberStyles.None, CultureInfo.InvariantCulture, out long u)) found.Add((u, file));
        }
        return [.. found.OrderBy(f => f.Item1)];
    }
}
