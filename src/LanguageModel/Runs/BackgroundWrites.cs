namespace Tbptt.LanguageModel.Runs;

/// <summary>
/// File writes done one after another on a background thread, in the order given: training goes on while a
/// checkpoint is serialised and flushed to disk (seconds for a large model, which the run would otherwise wait
/// through at every evaluation round). Each write must own what it writes (a snapshot, not live buffers). A failed
/// write stops the ones queued after it and is rethrown by the next <see cref="Enqueue"/> or by <see cref="Flush"/>.
/// </summary>
internal sealed class BackgroundWrites : IDisposable
{
    private Task _pending = Task.CompletedTask;

    /// <summary>Queues <paramref name="write"/> after every write queued before it.</summary>
    public void Enqueue(Action write)
    {
        if (_pending.IsFaulted) Flush(); // rethrows: nothing more is written after a failure
        var previous = _pending;
        _pending = Task.Run(() =>
        {
            previous.GetAwaiter().GetResult();
            write();
        });
    }

    /// <summary>Waits until everything queued is written; rethrows the first failure.</summary>
    public void Flush() => _pending.GetAwaiter().GetResult();

    /// <summary>Waits for the queued writes without rethrowing (an exception already on its way is not masked).</summary>
    public void Dispose()
    {
        try { _pending.Wait(); }
        catch (AggregateException) { }
    }
}
