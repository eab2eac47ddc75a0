using System.CommandLine;
using Tbptt.LanguageModel.Runs;
using Tbptt.LanguageModel.Sweeps;

namespace Tbptt.Cli.Binders;

/// <summary>
/// Every flag of a run, composed from the concerns' binders with one task's defaults (<see cref="RunDefaults"/>),
/// read back into a complete <see cref="RunOptions"/>. A single run (charlm train) also takes its truncation
/// (--k, --k2, --adaptive, --delta) and --seed; a grid (copy, charlm compare, sweep plan) takes --fixed, --adaptive
/// and --seeds instead.
/// </summary>
public sealed class RunBinder
{
    private readonly RunOptions _d;
    private readonly CopyDataBinder? _copy;
    private readonly CorpusBinder? _corpus;
    private readonly ModelBinder _model;
    private readonly TrainingBinder _training;
    private readonly TruncationBinder? _truncation;
    private readonly AdaptiveBinder _adaptive;
    private readonly ProbeBinder _probe;
    private readonly SnapshotBinder _snapshots;

    private RunBinder(RunOptions d, bool single)
    {
        _d = d;
        if (d.Copy is { } c) _copy = new CopyDataBinder(c); else _corpus = new CorpusBinder(d.Corpus!);
        _model = new ModelBinder(d.Model);
        _training = new TrainingBinder(d.Training, lrByOptimizer: d.Corpus is not null, seed: single);
        _truncation = single ? new TruncationBinder(d.Truncation) : null;
        _adaptive = new AdaptiveBinder(d.Adaptive, delta: single);
        _probe = new ProbeBinder(d.Probe);
        _snapshots = new SnapshotBinder(d.Snapshots);
    }

    public static RunBinder Copy() => new(RunDefaults.Copy, single: false);
    public static RunBinder CharLmTrain() => new(RunDefaults.CharLm, single: true);
    public static RunBinder CharLmCompare() => new(RunDefaults.CharLmCompare, single: false);

    public void AddTo(Command c)
    {
        _copy?.AddTo(c);
        _corpus?.AddTo(c);
        _model.AddTo(c);
        _training.AddTo(c);
        _truncation?.AddTo(c);
        _adaptive.AddTo(c);
        _probe.AddTo(c);
        _snapshots.AddTo(c);
    }

    public RunOptions Read(ParseResult r)
    {
        var training = _training.Read(r);
        var o = _d with
        {
            Copy = _copy?.Read(r), Corpus = _corpus?.Read(r), Model = _model.Read(r), Training = training,
            Truncation = _truncation?.Read(r) ?? _d.Truncation, Adaptive = _adaptive.Read(r, training.Optimizer), Probe = _probe.Read(r),
            Snapshots = _snapshots.Read(r),
        };
        o.Validate();
        return o;
    }
}

/// <summary>A comparison as a sweep: a run template, the grid, and the folder; shared by copy, charlm compare and sweep plan.</summary>
public sealed class SweepBinder
{
    private readonly string _kind;
    private readonly RunBinder _run;
    private readonly GridBinder _grid;
    private readonly Option<string> _out;

    private SweepBinder(string kind, RunBinder run, GridBinder grid, Option<string> output) => (_kind, _run, _grid, _out) = (kind, run, grid, output);

    public static SweepBinder Copy(bool requiredOut = false) => new("copy", RunBinder.Copy(), new GridBinder(RunDefaults.CopyGrid),
        requiredOut ? Opt.Required<string>("--out", "Folder of the sweep.") : Opt.WithDefault("--out", "Folder for the sweep, metrics, table and plots.", "runs/copy"));

    public static SweepBinder CharLm() => new("charlm", RunBinder.CharLmCompare(), new GridBinder(RunDefaults.CharLmGrid),
        Opt.Required<string>("--out", "Folder for the sweep, metrics, table and plots."));

    /// <summary><c>demo</c>: the copy task's flags with the demo's grid (<see cref="RunDefaults.DemoGrid"/>).</summary>
    public static SweepBinder Demo() => new("copy", RunBinder.Copy(), new GridBinder(RunDefaults.DemoGrid),
        Opt.WithDefault("--out", "Folder for the sweep, metrics, table and plots.", "runs/demo"));

    public void AddTo(Command c)
    {
        _run.AddTo(c);
        _grid.AddTo(c);
        c.Options.Add(_out);
    }

    /// <summary>The plan the flags describe and its folder; nothing is written or run.</summary>
    public (SweepPlan Plan, string Dir) Read(ParseResult r)
    {
        var template = _run.Read(r);
        var grid = _grid.Read(r);
        string description = _kind == "copy" ? RunDefaults.DescribeCopy(template) : RunDefaults.DescribeCharLm(template);
        return (SweepPlan.Grid(_kind, description, template, grid.Fixed, grid.Deltas, grid.Seeds), r.GetValue(_out)!);
    }
}
