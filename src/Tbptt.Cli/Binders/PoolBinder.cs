using System.CommandLine;
using Tbptt.Cli.Sweeps;

namespace Tbptt.Cli.Binders;

/// <summary>--jobs and --threads of a local pool, with the measured defaults.</summary>
public sealed class PoolBinder
{
    private readonly Option<int> _jobs = Opt.WithDefault("--jobs", "Worker processes run at once.", LocalPool.DefaultJobs);
    private readonly Option<int> _threads = Opt.WithDefault("--threads", "BLAS threads per worker.", LocalPool.DefaultThreads);
    public void AddTo(Command c) { c.Options.Add(_jobs); c.Options.Add(_threads); }
    public (int Jobs, int Threads) Read(ParseResult r) => (r.GetValue(_jobs), r.GetValue(_threads));
}
