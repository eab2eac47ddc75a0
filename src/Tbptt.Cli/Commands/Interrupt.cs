namespace Tbptt.Cli.Commands;

/// <summary>Ctrl-C asks a long run to stop after its current update; what it wrote is kept.</summary>
public static class Interrupt
{
    public static CancellationTokenSource OnCtrlC()
    {
        var cts = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            if (cts.IsCancellationRequested) return; // a second Ctrl-C ends the process at once
            e.Cancel = true;
            cts.Cancel();
            Console.Error.WriteLine("\ntbptt: stopping after the current update (Ctrl-C again to abort)…");
        };
        return cts;
    }
}
