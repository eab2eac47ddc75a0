using System.Runtime.InteropServices;

namespace Tbptt.Cli.Commands;

/// <summary>
/// Ctrl-C (SIGINT) and SIGTERM ask a long run to stop after its current update; what it wrote is kept. SIGTERM is
/// what Slurm sends before a time limit or on preemption, and what a sweep's pool sends its workers on Ctrl-C.
/// </summary>
public static class Interrupt
{
    public static CancellationTokenSource OnCtrlC() => new SignalSource();

    private sealed class SignalSource : CancellationTokenSource
    {
        private readonly PosixSignalRegistration _term;

        public SignalSource()
        {
            Console.CancelKeyPress += OnCancelKey;
            _term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
            {
                context.Cancel = true; // do not end the process: let the run checkpoint and return
                Stop();
            });
        }

        private void OnCancelKey(object? sender, ConsoleCancelEventArgs e)
        {
            if (IsCancellationRequested) return; // a second Ctrl-C ends the process at once
            e.Cancel = true;
            Stop();
        }

        private void Stop()
        {
            if (IsCancellationRequested) return;
            Cancel();
            Console.Error.WriteLine("\ntbptt: stopping after the current update (Ctrl-C again to abort)…");
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                Console.CancelKeyPress -= OnCancelKey;
                _term.Dispose();
            }
            base.Dispose(disposing);
        }
    }
}
