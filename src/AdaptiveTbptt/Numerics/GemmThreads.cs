using System.Runtime.ExceptionServices;

namespace Tbptt.Numerics;

/// <summary>
/// A fixed team of background threads for splitting one large product across cores. Unlike Parallel.For it
/// allocates nothing per call (the work is a function pointer and a pointer to the caller's stack frame), and
/// the caller always computes part 0 itself, so P parts use P − 1 helpers. Only one product uses the team at a
/// time; a concurrent caller simply runs its parts serially instead of waiting. So does a nested one: a part
/// that itself calls Run (an evaluation lane's products, say) computes serially on its own thread.
/// </summary>
internal static unsafe class GemmThreads
{
    static readonly object Gate = new();
    static Worker[] workers = [];

    /// <summary>Runs <c>body(context, i)</c> for i in [0, parts), in parallel when the team is free.</summary>
    public static void Run(int parts, delegate*<void*, int, void> body, void* context)
    {
        // Monitor is re-entrant: without the IsEntered test, part 0's nested call would take the busy team again.
        if (parts <= 1 || Monitor.IsEntered(Gate) || !Monitor.TryEnter(Gate))
        {
            for (int i = 0; i < parts; i++) body(context, i);
            return;
        }
        try
        {
            if (workers.Length < parts - 1) Grow(parts - 1);
            for (int i = 1; i < parts; i++) workers[i - 1].Start(body, context, i);
            Exception? error = null;
            try { body(context, 0); }
            catch (Exception e) { error = e; }
            // Every helper must finish before returning: the context lives in the caller's frame.
            for (int i = 1; i < parts; i++) error ??= workers[i - 1].Join();
            if (error is not null) ExceptionDispatchInfo.Capture(error).Throw();
        }
        finally
        {
            Monitor.Exit(Gate);
        }
    }

    static void Grow(int count)
    {
        var grown = new Worker[count];
        Array.Copy(workers, grown, workers.Length);
        for (int i = workers.Length; i < count; i++) grown[i] = new Worker(i + 1);
        workers = grown;
    }

    sealed class Worker
    {
        // Spin before blocking: products in a training step come back to back, and waking a blocked thread
        // costs tens of microseconds, as much as a small product.
        const int SpinCount = 2000;
        readonly ManualResetEventSlim go = new(false, SpinCount), done = new(false, SpinCount);
        delegate*<void*, int, void> body;
        void* context;
        int index;
        bool flush; // the caller's subnormal mode, which the helper's part must compute in too
        IBlasBackend? backend; // and the caller's own backend (a run's matmul precision), for products the part makes
        Exception? error;

        public Worker(int id)
        {
            // The first Wait that blocks (rather than spins) creates the event's lock object; a timed-out wait
            // here creates it now, once, so the training loop's steady state allocates nothing.
            go.Wait(1);
            done.Wait(1);
            var thread = new Thread(Loop) { IsBackground = true, Name = $"Tbptt GEMM worker {id}" };
            thread.Start();
        }

        public void Start(delegate*<void*, int, void> work, void* ctx, int part)
        {
            body = work;
            context = ctx;
            index = part;
            flush = Denormals.IsFlushing;
            backend = Blas.ThreadBackend;
            error = null;
            go.Set();
        }

        public Exception? Join()
        {
            done.Wait();
            done.Reset();
            return error;
        }

        void Loop()
        {
            while (true)
            {
                go.Wait();
                go.Reset();
                Denormals.Match(flush);
                Blas.ThreadBackend = backend;
                try { body(context, index); }
                catch (Exception e) { error = e; }
                done.Set();
            }
        }
    }
}
