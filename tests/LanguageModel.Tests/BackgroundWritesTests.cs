using Tbptt.LanguageModel.Runs;

namespace Tbptt.Tests;

/// <summary>Checkpoints written in the background: in order, all of them by Flush, and nothing after a failure.</summary>
public class BackgroundWritesTests
{
    [Fact]
    public void WritesRunInOrderAndAFailureStopsTheRest()
    {
        var done = new List<int>();
        using (var writes = new BackgroundWrites())
        {
            for (int i = 0; i < 20; i++)
            {
                int n = i;
                writes.Enqueue(() => { Thread.Sleep(n % 3); lock (done) done.Add(n); });
            }
            writes.Flush();
            Assert.Equal(Enumerable.Range(0, 20), done);

            writes.Enqueue(() => throw new IOException("disk full"));
            writes.Enqueue(() => { lock (done) done.Add(99); });
            Assert.Equal("disk full", Assert.Throws<IOException>(writes.Flush).Message);
            Assert.Throws<IOException>(() => writes.Enqueue(() => { lock (done) done.Add(100); }));
        }
        Assert.DoesNotContain(99, done);
        Assert.DoesNotContain(100, done);
    }
}
