using static Tbptt.Tests.CliRunner;

namespace Tbptt.Tests;

/// <summary><c>tbptt copy</c> from the command line: a tiny comparison end to end, and one line for every bad input.</summary>
public class CopyCommandTests
{
    private static readonly string[] Tiny =
    [
        "copy", "--m", "4", "--epochs", "1", "--batch", "4", "--train-steps", "160",
        "--eval-steps", "40", "--hidden", "8", "--window", "12", "--samples", "4", "--probes", "1", "--k0", "6", "--kmax", "12",
    ];

    [Fact]
    public void ATinyComparisonWritesItsTableWithTheSetUp()
    {
        string dir = TempDir();
        var r = Run([.. Tiny, "--fixed", "3", "--adaptive", "0.5", "--out", dir]);
        Assert.True(r.ExitCode == 0, r.Err);
        var table = File.ReadAllText(Path.Combine(dir, "table.md"));
        Assert.Contains("| K=3 |", table);
        Assert.Contains("| δ=0.5 |", table);
        // The defaults that follow the paper's copy script are stated with the table.
        Assert.Contains("clip 1 on the window's summed loss", table);
        Assert.Contains("pytorch init", table);
        Assert.Contains("exact C_K", table);
        Assert.True(File.Exists(Path.Combine(dir, "runs", "adaptive-d0.5-seed1", "metrics.csv")));
    }

    /// <summary>A run's metrics without its wall-clock columns (the only ones that may differ between equal runs).</summary>
    private static string Rows(string dir, string run = "fixed-k3-seed1") =>
        WithoutWallTimes(Path.Combine(dir, "runs", run, "metrics.csv"));

    /// <summary>A metrics file's rows without its wall-clock columns (RunMetrics.WallClockColumns): the rest is bit for bit.</summary>
    internal static string WithoutWallTimes(string metrics)
    {
        var lines = File.ReadAllLines(metrics);
        var header = lines[0].Split(',');
        var clock = Tbptt.LanguageModel.Runs.RunMetrics.WallClockColumns.Select(c => Array.IndexOf(header, c)).ToArray();
        Assert.True(clock.All(i => i >= 0), lines[0]);
        return string.Join('\n', lines.Select(l => string.Join(',', l.Split(',').Where((_, i) => !clock.Contains(i)))));
    }

    private static string RunFixed(params string[] extra)
    {
        string dir = TempDir();
        var r = Run([.. Tiny, "--fixed", "3", "--adaptive", "", "--clip", "0.05", .. extra, "--out", dir]);
        Assert.True(r.ExitCode == 0, r.Err);
        return dir;
    }

    [Fact]
    public void TheSameSeedGivesTheSameNumbersAndEveryTrainingOptionTakesEffect()
    {
        string baseline = RunFixed(), again = RunFixed();
        Assert.Equal(Rows(baseline), Rows(again)); // bit for bit
        // Each option changes what is trained (a clip of 0.05 binds, so where it applies matters).
        string scaled = RunFixed("--init", "SCALED-UNIFORM"), mean = RunFixed("--clip-on", "Mean");
        Assert.NotEqual(Rows(baseline), Rows(scaled));
        Assert.NotEqual(Rows(baseline), Rows(mean));
        // and the table says what was run, whatever the case of the value given.
        Assert.Contains("scaled-uniform init", File.ReadAllText(Path.Combine(scaled, "table.md")));
        Assert.Contains("on the window's mean loss", File.ReadAllText(Path.Combine(mean, "table.md")));
    }

    [Fact]
    public void ProbeSettingsTakeEffect()
    {
        string Adaptive(params string[] extra)
        {
            string dir = TempDir();
            var r = Run([.. Tiny, "--fixed", "", "--adaptive", "0.5", "--evals-per-epoch", "3", .. extra, "--out", dir]);
            Assert.True(r.ExitCode == 0, r.Err);
            return Rows(dir, "adaptive-d0.5-seed1");
        }
        string baseline = Adaptive();
        Assert.Equal(baseline, Adaptive()); // so that a difference below is the option's doing
        Assert.NotEqual(baseline, Adaptive("--burnin", "0"));
        Assert.NotEqual(baseline, Adaptive("--tau", "5"));
        Assert.NotEqual(baseline, Adaptive("--cumulative", "approx"));
    }

    [Fact]
    public void BadInputGetsOneClearLine()
    {
        string dir = TempDir();
        AssertOneLineError(Run([.. Tiny, "--out", dir, "--clip-on", "both"]), "--clip-on: 'both' is not one of sum, mean");
        AssertOneLineError(Run([.. Tiny, "--out", dir, "--init", "xavier"]), "--init: 'xavier' is not one of scaled-uniform, pytorch");
        AssertOneLineError(Run([.. Tiny, "--out", dir, "--cumulative", "some"]), "--cumulative: 'some' is not one of approx, exact");
        AssertOneLineError(Run([.. Tiny, "--out", dir, "--method", "median"]), "--method: 'median' is not one of ols, max, quantile");
        AssertOneLineError(Run([.. Tiny, "--out", dir, "--fixed", "", "--adaptive", ""]), "at least one --fixed K or --adaptive δ");
        AssertOneLineError(Run([.. Tiny, "--out", dir, "--fixed", "3,x"]), "--fixed: 'x' is not a whole number");
        AssertOneLineError(Run([.. Tiny, "--out", dir, "--mmin", "9"]), "mMin must lie in [2, m = 4]");
        var tau = Run([.. Tiny, "--out", dir, "--fixed", "3", "--adaptive", "", "--tau", "12"]);
        AssertOneLineError(tau, "τ must lie in [0, W−1] = [0, 11]");
        Assert.False(Directory.Exists(Path.Combine(dir, "runs"))); // rejected before any training
    }

    [Fact]
    public void HelpShowsTheDefaults()
    {
        var r = Run("copy", "--help");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("--clip-on", r.Out);
        Assert.Contains("[default: sum]", r.Out);
        Assert.Contains("[default: exact]", r.Out);
        Assert.Contains("[default: pytorch]", r.Out);
    }
}
