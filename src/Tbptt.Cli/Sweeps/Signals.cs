using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Tbptt.Cli.Sweeps;

/// <summary>Asks a process to stop cleanly (SIGTERM on Unix: a worker checkpoints and exits; elsewhere a kill).</summary>
public static class Signals
{
    private const int SigTerm = 15;

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    public static void Terminate(Process p)
    {
        try
        {
            if (p.HasExited) return;
            if (OperatingSystem.IsLinux() || OperatingSystem.IsMacOS()) Kill(p.Id, SigTerm);
            else p.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException) { } // exited meanwhile
    }
}
