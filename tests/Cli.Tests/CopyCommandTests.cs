using static Tbptt.Tests.CliRunner;

namespace Tbptt.Tests;

/// <summary><c>tbptt copy</c> from the command line: a tiny comparison end to end, and one line for every bad input.</summary>
public class CopyCommandTests
{
    private static readonly string[] Tiny =
    [
        "copy", "--m", "4", "--epochs", "1", "--batch", "4", "--train-steps", "160",
        "--eval-steps", "40", "--hidden", "8", "--window", "12", "--burnin", "4", "--samples", "4", "--probes", "1", "--k0", "6", "--kmax", "12",
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
        Assert.True(File.Exists(Path.Combine(dir, "runs", "adaptive-d0.5-seed1.csv")));
    }

    [Fact]
    public void TheSameSeedGivesTheSameTable()
    {
        string a = TempDir(), b = TempDir();
        string[] args = [.. Tiny, "--fixed", "3", "--adaptive", "", "--init", "scaled-uniform", "--clip-on", "mean"];
        Assert.Equal(0, Run([.. args, "--out", a]).ExitCode);
        Assert.Equal(0, Run([.. args, "--out", b]).ExitCode);
        string Rows(string dir) => string.Join('\n', File.ReadAllLines(Path.Combine(dir, "runs", "fixed-k3-seed1.csv"))
            .Select(l => string.Join(',', l.Split(',').Where((_, i) => i != 5)))); // all but wall_seconds
        Assert.Equal(Rows(a), Rows(b));
        Assert.Contains("scaled-uniform init", File.ReadAllText(Path.Combine(a, "table.md")));
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
