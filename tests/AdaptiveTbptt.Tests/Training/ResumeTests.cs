using Tbptt.Checkpoints;
using Tbptt.Models;
using Tbptt.Probes;
using Tbptt.Training;
using Tbptt.Truncation;
using static Tbptt.Tests.TestModels;

namespace Tbptt.Tests;

/// <summary>A stopped and resumed run must give exactly the numbers of an uninterrupted one.</summary>
public class ResumeTests
{
    private static readonly ModelConfig Config = Tokens(CellKind.Lstm, 2) with { Dropout = 0.2 };
    private static readonly TrainerOptions Options = new() { LearningRate = 0.3, Momentum = 0.5, Epochs = 2, EvaluationsPerEpoch = 2, EvalChunk = 7 };
    private static readonly ProbeOptions Probe = new() { Window = 8, Samples = 3 };

    private static (TokenStream Train, TokenStream Valid) Data()
    {
        var rows = RandomTokens(4 * 90, Config.InputSize, 1);
        return (TokenStream.NextToken(rows, 4), TokenStream.NextToken(RandomTokens(4 * 30, Config.InputSize, 2), 4));
    }

    private static Trainer Make(SequenceModel<float> model)
    {
        var (train, valid) = Data();
        var trainer = new Trainer(model, Options, train, valid);
        trainer.Policy = new AdaptiveTruncation(new AdaptiveOptions { K0 = 4, KMin = 2, KMax = 7, Probes = 2, Delta = 0.3 }, trainer.CreateProbe(Probe));
        return trainer;
    }

    [Fact]
    public void ResumeEqualsTheUninterruptedRunBitForBit()
    {
        var modelA = SequenceModel<float>.Create(Config, 5);
        var a = Make(modelA);
        var full = a.Run();

        string path = Path.Combine(Directory.CreateTempSubdirectory("tbptt-resume-").FullName, "checkpoint.safetensors");
        var modelB = SequenceModel<float>.Create(Config, 5);
        var b = Make(modelB);
        using var cts = new CancellationTokenSource();
        b.Progress += (_, _) => { if (b.Updates == 7) cts.Cancel(); };
        b.Checkpoint = t => TrainingCheckpoint.Save(path, modelB, t.ExportState(), new Dictionary<string, string> { ["run"] = "test" });
        var stopped = b.Run(cts.Token);
        Assert.True(stopped.Interrupted);
        Assert.Equal(7, stopped.Updates);
        Assert.True(b.ExportState().TapeStored > 0, "the stop falls where the tape carries steps into the next window");

        var file = Safetensors.Read(path);
        var modelC = ModelCheckpoint.Load(file);
        Assert.Equal(Config, modelC.Config);
        var c = Make(modelC);
        c.ImportState(TrainingCheckpoint.Load(file));
        var resumed = c.Run();

        Assert.Equal(modelA.Parameters.Data, modelC.Parameters.Data); // bit for bit
        Assert.Equal(a.BestParameters, c.BestParameters);
        Assert.Equal(full.Updates, resumed.Updates);
        Assert.Equal(full.ComputeTokens, resumed.ComputeTokens);
        Assert.Equal(full.BestValidLoss, resumed.BestValidLoss);
        Assert.Equal(full.Evaluations.Count, resumed.Evaluations.Count);
        for (int i = 0; i < full.Evaluations.Count; i++)
            Assert.Equal(full.Evaluations[i] with { WallSeconds = 0 }, resumed.Evaluations[i] with { WallSeconds = 0 }, new RecordComparer());
        Assert.Equal(((AdaptiveTruncation)a.Policy).History.Select(h => h.K), ((AdaptiveTruncation)c.Policy).History.Select(h => h.K));
    }

    /// <summary>Records hold lists; compare them by content.</summary>
    private sealed class RecordComparer : IEqualityComparer<EvaluationRecord>
    {
        public bool Equals(EvaluationRecord? x, EvaluationRecord? y) =>
            x is not null && y is not null && x with { KByDelta = [] } == y with { KByDelta = [] } && x.KByDelta.SequenceEqual(y.KByDelta);
        public int GetHashCode(EvaluationRecord obj) => 0;
    }
}
