using Tbptt.Truncation;

namespace Tbptt.Tests;

public class PolicyTests
{
    [Fact]
    public void FixedPaperWindowsGiveEveryLossKLags()
    {
        var p = FixedTruncation.Paper(15);
        Assert.Equal(new TruncationWindow(15, 29, Math.Sqrt(15)), p.Next(new Random(1)));
        Assert.Equal(new TruncationWindow(7, 7, 1.0), new FixedTruncation(7, 7).Next(new Random(1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new FixedTruncation(0, 3));
    }

    [Fact]
    public void VariableLengthFollowsAwdLstm()
    {
        var p = new VariableLengthTruncation(70);
        var rng = new Random(4);
        var draws = Enumerable.Range(0, 4000).Select(_ => p.Next(rng)).ToArray();
        Assert.All(draws, w => { Assert.Equal(w.K1, w.K2); Assert.True(w.K1 >= 5); Assert.Equal(w.K1 / 70.0, w.StepScale, 12); });
        double shortShare = draws.Count(w => w.K1 < 52) / 4000.0; // base K/2 = 35 with probability 0.05
        Assert.InRange(shortShare, 0.03, 0.07);
        double mean = draws.Where(w => w.K1 >= 52).Average(w => w.K1);
        Assert.InRange(mean, 68.5, 70.5); // N(70, 5²), truncated to an integer (floor ≈ −0.5)
    }
}
