using Tbptt.LanguageModel.Synthetic;

namespace Tbptt.Tests;

public class CopyTaskTests
{
    /// <summary>
    /// Walks one column and checks every period that starts inside the stream: marker, L−1 payload symbols with
    /// blank targets, then L blank inputs whose targets are the segment again. Returns the segment lengths seen
    /// and the first marker's step.
    /// </summary>
    private static (List<int> Lengths, int FirstMarker) CheckColumn(CopyStream s, int column, int mMin, int m)
    {
        var lengths = new List<int>();
        int first = -1;
        for (int t = 0; t < s.Steps; t++)
        {
            int x = s.Input(t, column), y = s.Target(t, column);
            Assert.InRange(x, 0, CopyTask.Symbols - 1);
            Assert.InRange(y, 0, CopyTask.Symbols - 1);
            if (first < 0)
            {
                if (x == CopyTask.Marker) first = t;
                else if (x != CopyTask.Blank) Assert.Equal(CopyTask.Blank, y); // the cut-off end of a segment
                else Assert.NotEqual(CopyTask.Blank, y);                        // the cut-off end of a copy phase
                if (first < 0) continue;
            }
            // t is the start of a period
            Assert.Equal(CopyTask.Marker, x);
            int length = 1;
            while (t + length < s.Steps && s.Input(t + length, column) >= CopyTask.FirstPayload) length++;
            bool complete = t + 2 * length <= s.Steps;
            if (t + length < s.Steps) lengths.Add(length); // a segment cut by the stream end has unknown length
            Assert.InRange(length, 1, m);
            if (complete) Assert.InRange(length, mMin, m);
            for (int j = 0; j < 2 * length && t + j < s.Steps; j++)
            {
                int input = s.Input(t + j, column), target = s.Target(t + j, column);
                if (j < length)
                {
                    Assert.Equal(CopyTask.Blank, target);
                    if (j > 0) Assert.InRange(input, CopyTask.FirstPayload, CopyTask.Symbols - 1);
                }
                else
                {
                    Assert.Equal(CopyTask.Blank, input);
                    Assert.Equal(s.Input(t + j - length, column), target); // the j-th blank copies the j-th symbol
                }
            }
            t += 2 * length - 1;
        }
        return (lengths, first);
    }

    [Theory]
    [InlineData(10, 10)]
    [InlineData(4, 4)]
    [InlineData(10, 5)]
    [InlineData(2, 2)]
    public void TargetsAreBlank_ExceptInTheCopyPhase_WhereTheyRepeatTheSegment(int m, int mMin)
    {
        var task = new CopyTask(m, mMin);
        var stream = task.Generate(steps: 500, batch: 16, seed: 7);

        for (int b = 0; b < stream.Batch; b++)
        {
            var (lengths, first) = CheckColumn(stream, b, mMin, m);
            Assert.InRange(first, 0, 2 * m);
            if (!task.VariableLength) Assert.All(lengths, l => Assert.Equal(m, l));
        }
    }

    [Fact]
    public void FixedLength_FollowsThePeriodFromTheShift()
    {
        // m = 2: every period is inputs "1 p 0 0" with targets "0 0 1 p"; a column starts `shift` steps into it.
        var s = new CopyTask(2).Generate(steps: 40, batch: 3, seed: 3);
        for (int b = 0; b < 3; b++)
            for (int t = 0; t < 40; t++)
            {
                int phase = (t + s.Shifts[b]) % 4;
                int x = s.Input(t, b), y = s.Target(t, b);
                switch (phase)
                {
                    case 0: Assert.Equal((1, 0), (x, y)); break;
                    case 1: Assert.InRange(x, 2, 5); Assert.Equal(0, y); break;
                    case 2: Assert.Equal((0, 1), (x, y)); break;
                    default:
                        Assert.Equal(0, x);
                        if (t >= 2) Assert.Equal(s.Input(t - 2, b), y); else Assert.InRange(y, 2, 5);
                        break;
                }
            }
    }

    [Fact]
    public void VariableLengths_CoverTheWholeRange()
    {
        var stream = new CopyTask(m: 10, mMin: 5).Generate(steps: 2000, batch: 8, seed: 11);

        var seen = Enumerable.Range(0, stream.Batch).SelectMany(b => CheckColumn(stream, b, 5, 10).Lengths.SkipLast(1)).ToHashSet();

        Assert.Equal(Enumerable.Range(5, 6).ToHashSet(), seen);
    }

    [Fact]
    public void SameSeed_SameStream_DifferentSeed_DifferentStream()
    {
        var task = new CopyTask(10, 5);
        var a = task.Generate(300, 8, seed: 1);
        var b = task.Generate(300, 8, seed: 1);
        var c = task.Generate(300, 8, seed: 2);

        Assert.Equal(a.Inputs, b.Inputs);
        Assert.Equal(a.Targets, b.Targets);
        Assert.NotEqual(a.Inputs, c.Inputs);
    }

    [Fact]
    public void Columns_AreShifted_OutOfPhase()
    {
        const int m = 10;
        var stream = new CopyTask(m).Generate(steps: 100, batch: 64, seed: 5);

        var firstMarkers = Enumerable.Range(0, 64).Select(b => CheckColumn(stream, b, m, m).FirstMarker).ToList();

        for (int b = 0; b < 64; b++) Assert.Equal((2 * m - stream.Shifts[b]) % (2 * m), firstMarkers[b]);
        Assert.True(firstMarkers.Distinct().Count() >= 12, string.Join(" ", firstMarkers));
        Assert.All(stream.Shifts, s => Assert.InRange(s, 0, 2 * m - 1));
    }

    [Fact]
    public void Splits_HaveThePaperSizes_AndIndependentEvaluationStreams()
    {
        var task = new CopyTask(10);
        var splits = task.GenerateSplits(seed: 42);
        var shorter = task.GenerateSplits(seed: 42, trainSteps: 100);

        Assert.Equal((4000, 64, 4000 * 64), (splits.Train.Steps, splits.Train.Batch, splits.Train.Inputs.Length));
        Assert.Equal(1000 * 64, splits.Valid.Targets.Length);
        Assert.Equal(1000 * 64, splits.Test.Inputs.Length);
        Assert.NotEqual(splits.Valid.Inputs, splits.Test.Inputs);
        Assert.Equal(splits.Valid.Inputs, shorter.Valid.Inputs); // train length does not move the evaluation data
        Assert.Contains("reference PPL 1.866", task.Describe(splits));
    }

    [Fact]
    public void Rows_AreStepMajor()
    {
        var s = new CopyTask(6).Generate(steps: 30, batch: 5, seed: 9);

        var rows = s.InputRows(step: 7, count: 3);
        var targets = s.TargetRows(step: 7, count: 3);

        Assert.Equal(15, rows.Length);
        for (int t = 0; t < 3; t++)
            for (int b = 0; b < 5; b++)
            {
                Assert.Equal(s.Input(7 + t, b), rows[t * 5 + b]);
                Assert.Equal(s.Target(7 + t, b), targets[t * 5 + b]);
            }
        Assert.Throws<ArgumentOutOfRangeException>(() => s.InputRows(28, 3).Length);
    }

    [Theory]
    [InlineData(10, 10, 1.8660659830736148)]
    [InlineData(10, 5, 1.8234449771164336)]
    public void ReferencePerplexity_MatchesTheFormula_AndTheGeneratedStream(int m, int mMin, double expected)
    {
        var task = new CopyTask(m, mMin);
        Assert.Equal(expected, task.ReferencePerplexity, 12);

        // The timing-only model pays ln 4 on every payload target and nothing elsewhere.
        var s = task.Generate(steps: 4000, batch: 64, seed: 3);
        double payloadShare = s.Targets.Count(y => y >= CopyTask.FirstPayload) / (double)s.Targets.Length;
        Assert.Equal(task.ReferenceCrossEntropy, payloadShare * Math.Log(4), 2);
    }

    [Fact]
    public void InvalidParameters_Throw()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new CopyTask(1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new CopyTask(10, 11));
        Assert.Throws<ArgumentOutOfRangeException>(() => new CopyTask(10, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new CopyTask(10).Generate(0, 4, 1));
    }
}
