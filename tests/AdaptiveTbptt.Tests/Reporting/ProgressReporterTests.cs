using Tbptt.Reporting;

namespace Tbptt.Tests;

public class ProgressReporterTests
{
    /// <summary>A clock the test moves by hand; one tick per millisecond.</summary>
    private sealed class ManualClock : TimeProvider
    {
        private long _ticks;
        public override long TimestampFrequency => 1000;
        public override long GetTimestamp() => _ticks;
        public void Advance(double seconds) => _ticks += (long)Math.Round(seconds * 1000);
    }

    private static (ProgressReporter Reporter, StringWriter Output, ManualClock Clock) Create(
        bool interactive, long total = 1000, double plainSeconds = 10, int width = 120)
    {
        var clock = new ManualClock();
        var output = new StringWriter();
        var reporter = new ProgressReporter(total, "chars", "K=15", output, interactive, clock,
            TimeSpan.FromSeconds(plainSeconds), width);
        return (reporter, output, clock);
    }

    [Fact]
    public void Interactive_RedrawsAtMostTenTimesASecond()
    {
        var (p, output, clock) = Create(interactive: true);

        Assert.True(p.Report(1, "loss 1.79"));         // first report draws at once
        for (int i = 0; i < 1000; i++) Assert.False(p.Report(2 + i, "loss 1.78")); // same instant
        clock.Advance(0.05);
        Assert.False(p.Report(10));
        clock.Advance(0.05);
        Assert.True(p.Report(20));
        for (int i = 0; i < 50; i++) { clock.Advance(0.01); p.Report(21 + i); } // 0.5 s more
        Assert.Equal(2 + 5, p.Draws);
        Assert.Equal(p.Draws, output.ToString().Count(c => c == '\r'));
        Assert.DoesNotContain('\n', output.ToString());
    }

    [Fact]
    public void Line_ShowsBarPercentRateEtaAndMetrics()
    {
        var (p, output, clock) = Create(interactive: true);
        clock.Advance(10);

        p.Report(250, "loss 1.23 K 15");

        string line = output.ToString().Split('\r')[^1];
        Assert.Equal("K=15 [######..................]  25.0% 250/1000 chars  25 chars/s  ETA 0:00:30  loss 1.23 K 15", line.TrimEnd());
    }

    [Fact]
    public void Durations_AreHoursMinutesSeconds()
    {
        Assert.Equal("0:00:05", ProgressReporter.FormatDuration(TimeSpan.FromSeconds(5)));
        Assert.Equal("1:02:05", ProgressReporter.FormatDuration(TimeSpan.FromSeconds(3725)));
        Assert.Equal("27:46:40", ProgressReporter.FormatDuration(TimeSpan.FromSeconds(100000)));
        Assert.Equal("12.3k chars/s", ProgressReporter.FormatRate(12345, "chars"));
        Assert.Equal("2.5M tok/s", ProgressReporter.FormatRate(2.5e6, "tok"));
    }

    [Fact]
    public void Plain_WritesALineEveryIntervalAndAFinalOne()
    {
        var (p, output, clock) = Create(interactive: false, total: 0);
        for (int s = 1; s <= 35; s++)
        {
            clock.Advance(1);
            p.Report(s * 100, "epoch 3");
        }
        p.Complete("done");
        p.Complete("again"); // idempotent

        string[] lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.DoesNotContain('\r', output.ToString());
        Assert.Equal(4, lines.Length);
        Assert.Equal("K=15 1000 chars  100 chars/s  epoch 3", lines[0]);
        Assert.StartsWith("K=15 3000 chars", lines[2]);
        Assert.Equal("K=15 3500 chars  100 chars/s  elapsed 0:00:35  done", lines[3]);
    }

    [Fact]
    public void Interactive_LineFitsTheWidth_AndMessagesDoNotTearIt()
    {
        var (narrow, narrowOut, _) = Create(interactive: true, width: 62);
        narrow.Report(500, "loss 1.2");
        Assert.Equal("K=15  50.0% 500/1000 chars  0 chars/s  ETA -:--:--  loss 1.2", narrowOut.ToString().TrimStart('\r'));

        var (p, output, clock) = Create(interactive: true, width: 40);
        p.Report(10, "a long metrics string that would wrap the terminal line");
        p.WriteLine("epoch 1: valid PPL 1.87");
        p.Report(20);
        clock.Advance(1);
        p.Dispose(); // completes: a final draw and a newline

        string text = output.ToString();
        Assert.All(text.Split('\r', '\n'), segment => Assert.True(segment.Length <= 39, $"'{segment}'"));
        Assert.Contains("\nepoch 1: valid PPL 1.87\n", text.Replace("\r", "\n"));
        Assert.EndsWith("\n", text);
        Assert.True(p.Completed);
        Assert.False(p.Report(30));
    }

    [Fact]
    public void Report_DoesNotAllocate_WhenItDoesNotRedraw()
    {
        var (p, _, clock) = Create(interactive: true);
        var metrics = (Loss: 1.5, K: 15);
        void Loop(int n)
        {
            for (int i = 0; i < n; i++)
            {
                p.Report(i, "loss 1.5");
                p.Report(i, metrics, static m => $"loss {m.Loss} K {m.K}");
            }
        }
        Loop(10); // first draw, JIT and the cached static delegate happen here

        long before = GC.GetAllocatedBytesForCurrentThread();
        Loop(10_000);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, allocated);
        Assert.Equal(1, p.Draws);
        clock.Advance(1);
        Assert.True(p.Report(1, metrics, static m => $"loss {m.Loss} K {m.K}"));
    }
}
