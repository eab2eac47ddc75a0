using System.CommandLine;
using System.Globalization;
using Tbptt.LanguageModel.Runs;
using Tbptt.LanguageModel.Sweeps;

namespace Tbptt.Cli.Binders;

/// <summary>The copy task's data: --m, --mmin, --batch, --train-steps, --eval-steps.</summary>
public sealed class CopyDataBinder(CopyDataOptions d)
{
    private readonly Option<int> _m = Opt.WithDefault("--m", "Segment length m (marker + m−1 payload symbols).", d.M);
    private readonly Option<int?> _mMin = Opt.Optional<int?>("--mmin", "Smallest segment length: m is drawn from [mmin, m] per segment (default: fixed m).");
    private readonly Option<string?> _data = Opt.Optional<string?>("--data",
        "A folder of copy data files ({train,valid,test}.{x,y}.txt, e.g. datasets/aicherc-copy/fixed: the paper's own data) instead of generating it; give --m/--mmin to match.");
    private readonly Option<int> _batch = Opt.WithDefault("--batch", "Batch columns B.", d.Batch);
    private readonly Option<int> _trainSteps = Opt.WithDefault("--train-steps", "Training steps per column.", d.TrainSteps);
    private readonly Option<int> _evalSteps = Opt.WithDefault("--eval-steps", "Validation and test steps per column.", d.EvalSteps);

    public void AddTo(Command c) { foreach (var o in new Option[] { _m, _mMin, _data, _batch, _trainSteps, _evalSteps }) c.Options.Add(o); }

    public CopyDataOptions Read(ParseResult r)
    {
        var o = new CopyDataOptions
        {
            Data = r.GetValue(_data) is { } data ? Path.GetFullPath(data) : null,
            M = r.GetValue(_m), MMin = r.GetValue(_mMin), Batch = r.GetValue(_batch),
            TrainSteps = r.GetValue(_trainSteps), EvalSteps = r.GetValue(_evalSteps),
        };
        o.Validate();
        return o;
    }
}

/// <summary>A corpus: --corpus, --batch, --eval-batch, --eval-context; or, for a benchmark of updates, an optional --corpus and --batch.</summary>
public sealed class CorpusBinder
{
    private readonly Option<string?> _corpus;
    private readonly Option<int> _batch;
    private readonly Option<int>? _evalBatch, _evalContext;

    /// <param name="updatesOnly">Nothing is evaluated and the text is optional (bench charlm: seeded random tokens
    /// without it; throughput does not depend on the text): --corpus and --batch only.</param>
    public CorpusBinder(CorpusOptions d, bool updatesOnly = false)
    {
        _corpus = updatesOnly
            ? Opt.Optional<string?>("--corpus", "UTF-8 text to train on (default: seeded random tokens; throughput does not depend on the text).")
            : Opt.Required<string?>("--corpus", "A UTF-8 text file (split 90/5/5) or a folder with train.txt, valid.txt, test.txt.");
        _batch = Opt.WithDefault("--batch", updatesOnly ? "B: streams trained in parallel." : "Batch columns B.", d.Batch);
        _evalBatch = updatesOnly ? null : Opt.WithDefault("--eval-batch", "Columns of the validation and test streams.", d.EvalBatch);
        _evalContext = updatesOnly ? null : Opt.WithDefault("--eval-context", "Unscored characters before each evaluation column after the first, to warm its state (at most a column).", d.EvalContext);
    }

    public void AddTo(Command c)
    {
        c.Options.Add(_corpus);
        c.Options.Add(_batch);
        if (_evalBatch is not null) c.Options.Add(_evalBatch);
        if (_evalContext is not null) c.Options.Add(_evalContext);
    }

    public CorpusOptions Read(ParseResult r)
    {
        var o = new CorpusOptions
        {
            Path = r.GetValue(_corpus) is { } path ? Path.GetFullPath(path) : "", Batch = r.GetValue(_batch),
            EvalBatch = _evalBatch is null ? 1 : r.GetValue(_evalBatch),
            EvalContext = _evalContext is null ? 0 : r.GetValue(_evalContext),
        };
        if (_evalBatch is not null) o.Validate();
        else if (o.Batch < 1) throw new UserInputException($"--batch: {o.Batch} must be at least 1.");
        return o;
    }
}

/// <summary>A comparison's grid: --fixed, --adaptive, --seeds, with the defaults of a <see cref="GridOptions"/> record.</summary>
public sealed class GridBinder(GridOptions d)
{
    private readonly Option<string> _fixed = Opt.WithDefault("--fixed", "Fixed truncation lengths K, comma-separated (runs TBPTT(K, 2K−1)).", Opt.Join(d.Fixed));
    private readonly Option<string> _adaptive = Opt.WithDefault("--adaptive", "Tolerated relative biases δ for adaptive runs, comma-separated.", Opt.Join(d.Deltas));
    private readonly Option<string> _seeds = Opt.WithDefault("--seeds", "Seeds (initial weights and generated data), comma-separated.", Opt.Join(d.Seeds));

    public void AddTo(Command c) { c.Options.Add(_fixed); c.Options.Add(_adaptive); c.Options.Add(_seeds); }

    public GridOptions Read(ParseResult r)
    {
        var deltas = Opt.ParseDoubles(r.GetValue(_adaptive)!, "--adaptive");
        foreach (double x in deltas)
            if (!(x > 0 && double.IsFinite(x))) throw new UserInputException($"--adaptive: δ = {x.ToString(CultureInfo.InvariantCulture)} must be finite and > 0.");
        return new GridOptions(Opt.ParseInts(r.GetValue(_fixed)!, "--fixed"), deltas,
            Opt.ParseInts(r.GetValue(_seeds)!, "--seeds").Select(s => (long)s).ToArray());
    }
}
