using Tbptt.Training;

namespace Tbptt.Tests;

/// <summary>The schedules' rates, worked out by hand.</summary>
public class ScheduleTests
{
    private static LearningRateSchedule Make(ScheduleOptions o, double peak = 1.0)
    {
        o.Validate();
        return new LearningRateSchedule(o, peak);
    }

    [Fact]
    public void ConstantIsThePeakAndWarmUpRampsLinearly()
    {
        var s = Make(new ScheduleOptions { Warmup = 4 }, peak: 2.0);
        Assert.Equal([0.5, 1.0, 1.5, 2.0, 2.0], Enumerable.Range(0, 5).Select(u => s.Rate(u, 0.5)).ToArray());
    }

    [Fact]
    public void StepDecaysEveryStepSizeUpdatesDownToTheFloor()
    {
        var s = Make(new ScheduleOptions { Kind = ScheduleKind.Step, Factor = 0.5, StepSize = 10, MinLearningRate = 0.2 });
        Assert.Equal(1.0, s.Rate(9, 0));
        Assert.Equal(0.5, s.Rate(10, 0));
        Assert.Equal(0.25, s.Rate(29, 0));
        Assert.Equal(0.2, s.Rate(30, 0)); // 0.125 is below the floor
    }

    [Fact]
    public void CosineRunsFromThePeakToTheFloorOverTheBudget()
    {
        var s = Make(new ScheduleOptions { Kind = ScheduleKind.Cosine, MinLearningRate = 0.1 });
        Assert.Equal(1.0, s.Rate(0, 0), 12);
        Assert.Equal(0.55, s.Rate(0, 0.5), 12);
        Assert.Equal(0.1 + 0.9 * 0.5 * (1 + Math.Cos(Math.PI * 0.25)), s.Rate(0, 0.25), 12);
        Assert.Equal(0.1, s.Rate(0, 1), 12);
    }

    [Fact]
    public void PlateauDecaysAfterPatienceEvaluationsWithoutANewBest()
    {
        var s = Make(new ScheduleOptions { Kind = ScheduleKind.Plateau, Factor = 0.1, Patience = 1, MinLearningRate = 0.005 });
        double[] valid = [3.0, 2.5, 2.6, 2.7, 2.4, 2.4, 2.5, 2.6, 2.7, 2.8, 2.9];
        double[] expected = [1, 1, 1, 0.1, 0.1, 0.1, 0.01, 0.01, 0.005, 0.005, 0.005];
        for (int i = 0; i < valid.Length; i++)
        {
            s.Observe(valid[i]);
            Assert.Equal(expected[i], s.Rate(100, 0), 12);
        }
    }

    [Fact]
    public void AFloorAboveThePeakIsThePeak()
    {
        var s = Make(new ScheduleOptions { Kind = ScheduleKind.Cosine, MinLearningRate = 5.0 }, peak: 0.5);
        Assert.Equal(0.5, s.Rate(0, 0.9), 12);
    }

    [Fact]
    public void PlateauWithPatienceZeroDecaysAtTheFirstEvaluationThatDoesNotImprove()
    {
        var s = Make(new ScheduleOptions { Kind = ScheduleKind.Plateau, Factor = 0.5 });
        s.Observe(2.0);
        Assert.Equal(1.0, s.Rate(0, 0));
        s.Observe(2.0); // equal is not better
        Assert.Equal(0.5, s.Rate(0, 0));
    }

    [Theory]
    [InlineData(0.0, 0, 10, 0.0)]   // factor
    [InlineData(1.0, 0, 10, 0.0)]
    [InlineData(0.5, -1, 10, 0.0)]  // patience
    [InlineData(0.5, 0, 0, 0.0)]    // step size
    [InlineData(0.5, 0, 10, -1.0)]  // floor
    public void BadSettingsAreRefusedByTheTrainerOptions(double factor, int patience, long step, double floor)
    {
        var o = new TrainerOptions { LearningRate = 1.0, Schedule = new ScheduleOptions { Factor = factor, Patience = patience, StepSize = step, MinLearningRate = floor } };
        Assert.Throws<ArgumentOutOfRangeException>(o.Validate);
    }
}
