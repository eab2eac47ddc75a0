using Tbptt.Numerics;

namespace Tbptt.Tests;

/// <summary>
/// The GEMM thread team's nesting rule, which evaluation lanes rely on: a part that calls Run again (a lane's own
/// products) computes every inner part on its own thread, rather than taking the busy team again (the caller's
/// re-entrant lock would let part 0 do that) or waiting for it.
/// </summary>
public unsafe class GemmThreadsTests
{
    /// <summary>Context: [outer part 0's thread, outer part 1's thread, inner parts of part 0 ×3, of part 1 ×3].</summary>
    private static void Outer(void* context, int part)
    {
        var ids = (int*)context;
        ids[part] = Environment.CurrentManagedThreadId;
        GemmThreads.Run(3, &Inner, ids + 2 + 3 * part);
    }

    private static void Inner(void* context, int part) => ((int*)context)[part] = Environment.CurrentManagedThreadId;

    [Fact]
    public void A_nested_run_computes_its_parts_on_the_calling_part_s_thread()
    {
        // Other tests use the team too: when it is busy the outer parts run serially on this thread and the rule
        // does not apply (an inner Run may then take the freed team), so try until the outer run gets the team.
        int parallel = 0;
        var ids = new int[8];
        for (var clock = System.Diagnostics.Stopwatch.StartNew(); parallel < 3 && clock.Elapsed.TotalSeconds < 20; Thread.Sleep(1))
        {
            Array.Clear(ids);
            fixed (int* p = ids) GemmThreads.Run(2, &Outer, p);
            Assert.DoesNotContain(0, ids); // every part ran
            if (ids[0] == ids[1]) continue;
            parallel++;
            Assert.Equal(Environment.CurrentManagedThreadId, ids[0]); // the caller computes part 0
            Assert.All(ids[2..5], id => Assert.Equal(ids[0], id));
            Assert.All(ids[5..8], id => Assert.Equal(ids[1], id));
        }
        Assert.True(parallel > 0, "the team was never free");
    }

    [Fact]
    public void After_a_nested_run_the_team_is_free_again()
    {
        var ids = new int[8];
        fixed (int* p = ids) GemmThreads.Run(2, &Outer, p);
        // The team must be released by the outer run, whatever the nesting did: a plain run afterwards completes.
        var after = new int[3];
        fixed (int* p = after) GemmThreads.Run(3, &Inner, p);
        Assert.DoesNotContain(0, after);
    }
}
