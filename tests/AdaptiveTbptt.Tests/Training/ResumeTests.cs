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

    private static (TokenStream Train, TokenStream Valid, TokenStream Test) Data()
    {
        var rows = RandomTokens(4 * 90, Config.InputSize, 1);
        return (TokenStream.NextToken(rows, 4), TokenStream.NextToken(RandomTokens(4 * 30, Config.InputSize, 2), 4),
            TokenStream.NextToken(RandomTokens(3 * 25, Config.InputSize, 3), 3));
    }

    /// <summary>Schedules whose state or progress a resume must carry: a plateau decays on what validation saw
    /// before the stop, a cosine on the budget spent before it.</summary>
    public static TheoryData<string> Schedules => ["constant", "plateau", "step", "cosine"];

    private static TrainerOptions WithSchedule(string kind) => Options with
    {
        Schedule = kind switch
        {
            "plateau" => new ScheduleOptions { Kind = ScheduleKind.Plateau, Warmup = 3, Factor = 0.5, Patience = 0, MinLearningRate = 0.05 },
            "step" => new ScheduleOptions { Kind = ScheduleKind.Step, Warmup = 2, Factor = 0.7, StepSize = 4 },
            "cosine" => new ScheduleOptions { Kind = ScheduleKind.Cosine, Warmup = 5, MinLearningRate = 0.01 },
            _ => new ScheduleOptions(),
        },
    };

    private static Trainer Make(SequenceModel<float> model, string schedule = "constant")
    {
        var (train, valid, test) = Data();
        var trainer = new Trainer(model, WithSchedule(schedule), train, valid, test);
        trainer.Policy = new AdaptiveTruncation(new AdaptiveOptions { K0 = 4, KMin = 2, KMax = 7, Probes = 2, Delta = 0.3 }, trainer.CreateProbe(Probe));
        return trainer;
    }

    [Theory]
    [MemberData(nameof(Schedules))]
    public void ResumeEqualsTheUninterruptedRunBitForBit(string schedule)
    {
        var modelA = SequenceModel<float>.Create(Config, 5);
        var a = Make(modelA, schedule);
        var full = a.Run();

        string path = Path.Combine(Directory.CreateTempSubdirectory("tbptt-resume-").FullName, "checkpoint.safetensors");
        var modelB = SequenceModel<float>.Create(Config, 5);
        var b = Make(modelB, schedule);
        using var cts = new CancellationTokenSource();
        b.Progress += (_, _) => { if (b.Updates == 15) cts.Cancel(); };
        b.Checkpoint = t => TrainingCheckpoint.Save(path, modelB, t.ExportState(), new Dictionary<string, string> { ["run"] = "test" });
        var stopped = b.Run(cts.Token);
        Assert.True(stopped.Interrupted);
        Assert.Equal(15, stopped.Updates);
        Assert.NotEmpty(stopped.Evaluations);
        Assert.True(double.IsNaN(stopped.TestLossAtBest), "a stop is prompt: the test is the resumed run's");
        Assert.True(b.ExportState().TapeStored > 0, "the stop falls where the tape carries steps into the next window");

        var file = Safetensors.Read(path);
        Assert.True(double.IsNaN(TrainingCheckpoint.Load(file).Counters.TestLossAtBest), "the resumed run tests at its end");
        var modelC = ModelCheckpoint.Load(file);
        Assert.Equal(Config, modelC.Config);
        var c = Make(modelC, schedule);
        c.ImportState(TrainingCheckpoint.Load(file));
        var resumed = c.Run();

        Assert.Equal(modelA.Parameters.Data, modelC.Parameters.Data); // bit for bit
        Assert.Equal(a.BestParameters, c.BestParameters);
        Assert.Equal(full.Updates, resumed.Updates);
        Assert.Equal(full.ComputeTokens, resumed.ComputeTokens);
        Assert.Equal(full.BestValidLoss, resumed.BestValidLoss);
        Assert.Equal(full.TestLossAtBest, resumed.TestLossAtBest);
        Assert.True(double.IsFinite(full.TestLossAtBest));
        Assert.Equal(full.Evaluations.Count, resumed.Evaluations.Count);
        for (int i = 0; i < full.Evaluations.Count; i++)
            Assert.Equal(full.Evaluations[i] with { WallSeconds = 0, EvalSeconds = 0, ProbeSeconds = 0 }, resumed.Evaluations[i] with { WallSeconds = 0, EvalSeconds = 0, ProbeSeconds = 0 }, new RecordComparer());
        Assert.Equal(((AdaptiveTruncation)a.Policy).History.Select(h => h.K), ((AdaptiveTruncation)c.Policy).History.Select(h => h.K));
        var rates = full.Evaluations.Select(e => e.LearningRate).ToArray();
        Assert.All(rates, r => Assert.True(r > 0 && r <= Options.LearningRate, $"rate {r} outside (0, peak]"));
        if (schedule == "constant") Assert.All(rates, r => Assert.Equal(Options.LearningRate, r));
        else Assert.True(rates[^1] < Options.LearningRate, $"the {schedule} schedule never moved the rate below the peak: {string.Join(", ", rates)}");
    }

    /// <summary>Records hold lists; compare them by content.</summary>
    private sealed class RecordComparer : IEqualityComparer<EvaluationRecord>
    {
        public bool Equals(EvaluationRecord? x, EvaluationRecord? y) =>
            x is not null && y is not null && x with { KByDelta = [] } == y with { KByDelta = [] } && x.KByDelta.SequenceEqual(y.KByDelta);
        public int GetHashCode(EvaluationRecord obj) => 0;
    }
}
