using Tbptt.Checkpoints;
using Tbptt.LanguageModel.Runs;
using Tbptt.Models;

namespace Tbptt.Tests;

/// <summary>Models kept during training (<c>--snapshots</c>): where, which rounds, loadable, and unchanged by a resume.</summary>
public class SnapshotTests
{
    /// <summary>A small copy run: 6 epochs × 1 evaluation, 3 snapshots → the initial model and epochs 2, 4 and 6.</summary>
    private static RunOptions Small() => CopyExperimentTests.Template(epochs: 6) with
    {
        Training = CopyExperimentTests.Template().Training with { Epochs = 6, EvaluationsPerEpoch = 1 },
        Truncation = new TruncationOptions { K = 3, K2 = 5 },
        Snapshots = 3,
    };

    private static string TempDir() => Directory.CreateTempSubdirectory("tbptt-snap-").FullName;

    private sealed class CancelAtFirstEvaluation(CancellationTokenSource cts) : StringWriter
    {
        public override void Flush()
        {
            base.Flush();
            if (ToString().Contains("eval @ update")) cts.Cancel();
        }
    }

    [Fact]
    public void SnapshotsAreTheInitialModelAndEvenlySpacedRoundsAndLoad()
    {
        var o = Small();
        string dir = Path.Combine(TempDir(), "run");
        var summary = RunExecutor.Execute(o, dir, false, TextWriter.Null, CancellationToken.None);
        long perEpoch = summary.Evaluations[0].Updates;
        var list = RunSnapshots.List(dir);
        Assert.Equal([0, 2 * perEpoch, 4 * perEpoch, 6 * perEpoch], list.Select(s => s.Updates));
        Assert.Equal(RunSnapshots.PathOf(dir, 2 * perEpoch), list[1].Path);

        // The first is the initial model, the last the final parameters (those of the checkpoint), and each says when it was taken.
        var initial = SequenceModel<float>.Create(o.Model.ToConfig(6), (int)o.Training.Seed, o.Model.InitScheme);
        var first = ModelCheckpoint.Load(Safetensors.Read(list[0].Path));
        Assert.Equal(initial.Parameters.Data, first.Parameters.Data);
        var last = Safetensors.Read(list[^1].Path);
        var checkpoint = Safetensors.Read(Path.Combine(dir, RunExecutor.CheckpointFile));
        foreach (var t in last.Tensors) Assert.True(t.Data.SequenceEqual(checkpoint.Get(t.Name).Data), t.Name);
        Assert.Equal((6 * perEpoch).ToString(), last.GetMetadata(RunSnapshots.UpdatesKey));
        Assert.Equal("6", last.GetMetadata(RunSnapshots.EpochKey));
        Assert.Equal(o.ToJson(), RunOptions.FromJson(last.GetMetadata("run.options"), "snapshot").ToJson());
        foreach (var (_, path) in list) Assert.Equal(o.Model.ToConfig(6), ModelCheckpoint.Load(Safetensors.Read(path)).Config);
    }

    [Fact]
    public void AResumedRunKeepsTheSameSnapshotsBitForBit()
    {
        var o = Small();
        string root = TempDir(), full = Path.Combine(root, "full"), parted = Path.Combine(root, "parted");
        RunExecutor.Execute(o, full, false, TextWriter.Null, CancellationToken.None);
        using (var cts = new CancellationTokenSource())
            Assert.True(RunExecutor.Execute(o, parted, false, new CancelAtFirstEvaluation(cts), cts.Token).Interrupted);
        Assert.Single(RunSnapshots.List(parted)); // only the initial model: the first round is not a snapshot round
        // A killed write of a snapshot leaves a temporary file; the resume removes it.
        File.WriteAllText(Path.Combine(parted, RunSnapshots.Folder, $".model-u9.safetensors.{Guid.NewGuid():N}.tmp"), "partial");
        Assert.False(RunExecutor.Execute(o, parted, true, TextWriter.Null, CancellationToken.None).Interrupted);
        Assert.Empty(Directory.GetFiles(Path.Combine(parted, RunSnapshots.Folder), ".*.tmp"));

        var a = RunSnapshots.List(full);
        var b = RunSnapshots.List(parted);
        Assert.Equal(a.Select(s => s.Updates), b.Select(s => s.Updates));
        for (int i = 0; i < a.Count; i++)
        {
            var fa = Safetensors.Read(a[i].Path);
            var fb = Safetensors.Read(b[i].Path);
            foreach (var t in fa.Tensors) Assert.True(t.Data.SequenceEqual(fb.Get(t.Name).Data), $"{a[i].Path}: {t.Name}");
            Assert.Equal(fa.Metadata, fb.Metadata);
        }
    }

    [Fact]
    public void WithoutSnapshotsTheRunRecordReadsAsBefore()
    {
        var o = Small() with { Snapshots = 0 };
        Assert.DoesNotContain("snapshots", o.ToJson());
        Assert.Contains("\"snapshots\": 3", Small().ToJson());
        Assert.Equal(3, RunOptions.FromJson(Small().ToJson(), "test").Snapshots);
        Assert.Throws<ArgumentOutOfRangeException>(() => (o with { Snapshots = -1 }).Validate());
        string dir = Path.Combine(TempDir(), "run");
        RunExecutor.Execute(o with { Training = o.Training with { Epochs = 1 } }, dir, false, TextWriter.Null, CancellationToken.None);
        Assert.False(Directory.Exists(Path.Combine(dir, RunSnapshots.Folder)));
    }

    [Theory]
    [InlineData(3, new[] { 2, 4, 6 })]
    [InlineData(6, new[] { 1, 2, 3, 4, 5, 6 })]
    [InlineData(100, new[] { 1, 2, 3, 4, 5, 6 })] // more snapshots than rounds: every round
    [InlineData(1, new[] { 6 })]
    [InlineData(4, new[] { 2, 3, 5, 6 })]         // the first round past 1/4, 2/4, 3/4 and the end
    public void DueRoundsAreTheFirstPastEachShare(int count, int[] rounds)
    {
        var due = Enumerable.Range(1, 6).Where(j => RunSnapshots.Due(count, (j - 1) / 6.0, j / 6.0)).ToArray();
        Assert.Equal(rounds, due);
        Assert.False(RunSnapshots.Due(0, 0, 1));
    }
}
