using Tbptt.Truncation;
using System.CommandLine;
using System.Globalization;
using Tbptt.LanguageModel.Runs;
using Tbptt.Probes;
using Tbptt.Training;

namespace Tbptt.Cli.Binders;

// One binder per concern: it declares the concern's flags, with the defaults shown in --help taken from a record
// (RunDefaults), and reads them back into that record. Commands compose binders; no command declares a flag that a
// concern owns.

/// <summary>The model: --cell, --layers, --hidden, --embed, --dropout, --tied, --init.</summary>
public sealed class ModelBinder(ModelOptions d)
{
    private readonly Option<string> _cell = Opt.WithDefault("--cell", "Recurrent cell: lstm, gru or elman.", d.Cell);
    private readonly Option<int> _layers = Opt.WithDefault("--layers", "Recurrent layers.", d.Layers);
    private readonly Option<int> _hidden = Opt.WithDefault("--hidden", "Units per layer.", d.Hidden);
    private readonly Option<int?> _embed = d.Embed is { } e
        ? Opt.WithDefault<int?>("--embed", "Embedding width.", e)
        : Opt.Optional<int?>("--embed", "Embedding width (default: the hidden width).");
    private readonly Option<double> _dropout = Opt.WithDefault("--dropout", "Dropout on embeddings, between layers and before the decoder.", d.Dropout);
    private readonly Option<bool> _tied = Opt.WithDefault("--tied", "Tie decoder.weight to embedding.weight (needs embed = hidden).", d.Tied);
    private readonly Option<string> _init = Opt.WithDefault("--init",
        "Initial weights: pytorch (PyTorch's defaults) or scaled-uniform (the paper's code: U(±√(3/max(rows, cols))), zero biases).", d.Init);

    private readonly Option<string> _nonlinearity = Opt.WithDefault("--nonlinearity", "Elman non-linearity: tanh, relu or identity.", d.Nonlinearity);

    public void AddTo(Command c) { foreach (var o in new Option[] { _cell, _nonlinearity, _layers, _hidden, _embed, _dropout, _tied, _init }) c.Options.Add(o); }

    public ModelOptions Read(ParseResult r) => new()
    {
        Cell = r.GetValue(_cell)!.ToLowerInvariant(), Layers = r.GetValue(_layers), Hidden = r.GetValue(_hidden),
        Embed = r.GetValue(_embed), Dropout = Opt.Finite(r.GetValue(_dropout), "--dropout", "dropout"), Tied = r.GetValue(_tied),
        Init = r.GetValue(_init)!.ToLowerInvariant(), Nonlinearity = r.GetValue(_nonlinearity)!.ToLowerInvariant(),
    };
}

/// <summary>
/// The training: optimizer, step size and its schedule, clipping, budget, evaluation and the seed. A command that
/// makes updates only (bench charlm) takes the update's part: --optimizer, --lr, --momentum, --beta1, --beta2,
/// --weight-decay, --clip, --clip-on and --seed.
/// </summary>
public sealed class TrainingBinder
{
    private readonly TrainerOptions _d;
    private readonly Option<string> _optimizer;
    private readonly Option<double?> _lr, _weightDecay;
    private readonly Option<double> _momentum, _beta1, _beta2, _clip;
    private readonly Option<string> _clipOn, _precision;
    private readonly Option<int?> _epochs;
    private readonly Option<double?> _minutes, _compute;
    private readonly Option<int> _evals;
    private readonly Option<long>? _seed;
    private readonly Option<string> _onNonFinite;
    private readonly Option<string> _schedule;
    private readonly Option<long> _warmup, _lrStep;
    private readonly Option<double> _lrFactor, _lrMin;
    private readonly Option<int> _lrPatience;
    private readonly bool _lrByOptimizer, _updateOnly;

    /// <param name="lrByOptimizer">--lr defaults to the optimizer's own step (<see cref="RunDefaults.LearningRate"/>).</param>
    /// <param name="seed">Declare --seed (single runs; grids take --seeds).</param>
    /// <param name="updateOnly">Declare only what one update uses (no schedule, budget or evaluation: those keep
    /// <paramref name="d"/>'s values).</param>
    public TrainingBinder(TrainerOptions d, bool lrByOptimizer, bool seed, bool updateOnly = false)
    {
        _d = d;
        _lrByOptimizer = lrByOptimizer;
        _updateOnly = updateOnly;
        _optimizer = Opt.WithDefault("--optimizer", "sgd, adam, or adamw (Adam with decoupled weight decay, PyTorch's AdamW).", d.Optimizer);
        _lr = lrByOptimizer
            ? Opt.Optional<double?>("--lr", Invariant($"Step size (default: {RunDefaults.LearningRate("adam", d)} for adam and adamw, {RunDefaults.LearningRate("sgd", d)} for sgd)."))
            : Opt.WithDefault<double?>("--lr", "Step size (before the √K scaling of SGD runs).", d.LearningRate);
        var s = d.Schedule;
        _schedule = Opt.WithDefault("--lr-schedule", "Step-size schedule with --lr as its peak: constant, plateau (×--lr-factor when validation has not improved for more than --lr-patience evaluations), step (×--lr-factor every --lr-step updates) or cosine (down to --lr-min over the budget).",
            s.Kind.ToString().ToLowerInvariant());
        _warmup = Opt.WithDefault("--warmup", "Updates of linear warm-up to the peak --lr.", s.Warmup);
        _lrFactor = Opt.WithDefault("--lr-factor", "Multiplier of one decay (plateau, step).", s.Factor);
        _lrPatience = Opt.WithDefault("--lr-patience", "Plateau: evaluations without a new best validation loss tolerated before a decay.", s.Patience);
        _lrStep = Opt.WithDefault("--lr-step", "Step: updates between decays.", s.StepSize);
        _lrMin = Opt.WithDefault("--lr-min", "Floor of the decayed step size.", s.MinLearningRate);
        _momentum = Opt.WithDefault("--momentum", "SGD momentum, in [0, 1).", d.Momentum);
        _beta1 = Opt.WithDefault("--beta1", "Adam's and AdamW's β1 (PyTorch's betas[0]), in [0, 1).", d.Beta1);
        _beta2 = Opt.WithDefault("--beta2", "Adam's and AdamW's β2 (PyTorch's betas[1]), in [0, 1).", d.Beta2);
        _weightDecay = Opt.Optional<double?>("--weight-decay", Invariant($"Weight decay λ: an L2 penalty on the gradient (sgd, adam), or decoupled (adamw: every weight × (1 − lr·λ) per update). Default: {RunDefaults.WeightDecay("sgd", d)} for sgd, {RunDefaults.WeightDecay("adam", d)} for adam, {RunDefaults.WeightDecay("adamw", d)} for adamw."));
        _clip = Opt.WithDefault("--clip", "Global gradient-norm clip (0: off).", d.Clip);
        _precision = Opt.WithDefault("--matmul-precision", Opt.MatmulPrecisionHelp, d.MatmulPrecision);
        _clipOn = Opt.WithDefault("--clip-on", "What --clip bounds: sum (the window's summed loss: clip/K on the per-step mean, as the paper's code) or mean.",
            d.ClipSummedLoss ? "sum" : "mean");
        _epochs = d.Epochs == RunDefaults.UnlimitedEpochs
            ? Opt.Optional<int?>("--epochs", "Passes over the training data (default: until the budget is spent).")
            : Opt.WithDefault<int?>("--epochs", "Passes over the training data (with --minutes or --compute and no --epochs: until that budget is spent).", d.Epochs);
        _minutes = Opt.Optional<double?>("--minutes", "Wall-time budget of a run, in minutes.");
        _minutes.Aliases.Add("--minutes-per-run");
        _compute = d.ComputeBudget is { } budget
            ? Opt.WithDefault<double?>("--compute", "Budget of a run in millions of tokens of compute (forward + backward steps × batch, probes included).", budget / 1e6)
            : Opt.Optional<double?>("--compute", "Budget of a run in millions of tokens of compute (forward + backward steps × batch, probes included).");
        _compute.Aliases.Add("--compute-per-run");
        _evals = Opt.WithDefault("--evals-per-epoch", "Validation rounds per epoch (an adaptive run re-estimates K at each).", d.EvaluationsPerEpoch);
        _seed = seed ? Opt.WithDefault("--seed", "Seed of the weights, data, dropout and probes.", d.Seed) : null;
        _onNonFinite = Opt.WithDefault("--on-nonfinite",
            "When an update's loss or gradient is NaN/∞: stop (keep the last good checkpoint; a sweep reports the run as diverged and goes on) or skip the update (stop after 10 in a row).",
            d.OnNonFinite.ToString().ToLowerInvariant());
    }

    public void AddTo(Command c)
    {
        var options = _updateOnly ? new Option[] { _optimizer, _lr, _momentum, _beta1, _beta2, _weightDecay, _clip, _clipOn, _precision }
            : [_optimizer, _lr, _schedule, _warmup, _lrFactor, _lrPatience, _lrStep, _lrMin, _momentum, _beta1, _beta2, _weightDecay, _clip, _clipOn, _precision, _epochs, _minutes, _compute, _evals, _onNonFinite];
        foreach (var o in options) c.Options.Add(o);
        if (_seed is not null) c.Options.Add(_seed);
    }

    public TrainerOptions Read(ParseResult r)
    {
        string optimizer = r.GetValue(_optimizer)!.ToLowerInvariant();
        var update = _d with
        {
            Optimizer = optimizer,
            LearningRate = Opt.Finite(r.GetValue(_lr) ?? (_lrByOptimizer ? RunDefaults.LearningRate(optimizer, _d) : _d.LearningRate), "--lr", "the learning rate"),
            Momentum = Opt.Finite(r.GetValue(_momentum), "--momentum", "momentum"),
            Beta1 = Opt.Finite(r.GetValue(_beta1), "--beta1", "β1"),
            Beta2 = Opt.Finite(r.GetValue(_beta2), "--beta2", "β2"),
            WeightDecay = Opt.Finite(r.GetValue(_weightDecay) ?? RunDefaults.WeightDecay(optimizer, _d), "--weight-decay", "weight decay"),
            Clip = Opt.Finite(r.GetValue(_clip), "--clip", "clip"),
            ClipSummedLoss = r.GetValue(_clipOn)!.ToLowerInvariant() switch
            {
                "sum" => true, "mean" => false,
                var x => throw new UserInputException($"--clip-on: '{x}' is not one of sum, mean."),
            },
            MatmulPrecision = Opt.ParseMatmulPrecision(r.GetValue(_precision)!),
            Seed = _seed is null ? _d.Seed : r.GetValue(_seed),
        };
        if (_updateOnly)
        {
            update.Validate();
            return update;
        }
        double? minutes = r.GetValue(_minutes), compute = r.GetValue(_compute);
        if (minutes is { } m && !(m > 0 && m <= TrainerOptions.MaxMinutes))
            throw new UserInputException(Invariant($"--minutes: the time limit must be more than 0 and at most {TrainerOptions.MaxMinutes:0e0} minutes (got {m})."));
        if (compute is { } c && !(c > 0 && c <= 1e12)) throw new UserInputException(Invariant($"--compute: {c} is not a number of millions of tokens in (0, 1e12]."));
        bool computeGiven = r.GetResult(_compute) is { Implicit: false };
        // A time budget replaces a default compute budget (not one given as well).
        if (minutes is not null && !computeGiven) compute = null;
        // A run bounded by time or compute and not by epochs runs until its budget is spent.
        bool epochsGiven = r.GetResult(_epochs) is { Implicit: false };
        int epochs = epochsGiven ? r.GetValue(_epochs)!.Value
            : minutes is not null || computeGiven || _d.ComputeBudget is not null ? RunDefaults.UnlimitedEpochs : _d.Epochs;
        string kind = r.GetValue(_schedule)!.ToLowerInvariant();
        if (!Enum.TryParse<ScheduleKind>(kind, ignoreCase: true, out var scheduleKind) || !Enum.IsDefined(scheduleKind) || kind.Any(char.IsDigit))
            throw new UserInputException($"--lr-schedule: '{kind}' is not one of constant, plateau, step, cosine.");
        var o = update with
        {
            Schedule = _d.Schedule with
            {
                Kind = scheduleKind, Warmup = r.GetValue(_warmup), Factor = Opt.Finite(r.GetValue(_lrFactor), "--lr-factor", "the decay factor"),
                Patience = r.GetValue(_lrPatience), StepSize = r.GetValue(_lrStep), MinLearningRate = Opt.Finite(r.GetValue(_lrMin), "--lr-min", "the floor"),
            },
            Epochs = epochs,
            TimeLimit = minutes is { } t ? TimeSpan.FromMinutes(t) : null,
            ComputeBudget = compute is { } cb ? (long)(cb * 1e6) : null,
            EvaluationsPerEpoch = r.GetValue(_evals),
            OnNonFinite = Opt.ParseNonFinite(r.GetValue(_onNonFinite)!),
        };
        o.Validate();
        return o;
    }

    private static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}

/// <summary>A single run's truncation: --k, --k2, --adaptive; or, for a benchmark of TBPTT(K, K) updates, --k alone.</summary>
public sealed class TruncationBinder
{
    private readonly TruncationOptions _d;
    private readonly Option<int> _k;
    private readonly Option<int?>? _k2;
    private readonly Option<bool>? _adaptive;

    /// <param name="chunkedOnly">Declare --k alone: the run is TBPTT(K, K) with a fixed K.</param>
    public TruncationBinder(TruncationOptions d, bool chunkedOnly = false)
    {
        _d = d;
        _k = chunkedOnly ? Opt.WithDefault("--k", "K: TBPTT(K, K), steps per update and steps backpropagated.", d.K) : Opt.WithDefault("--k", "Fixed truncation k1.", d.K);
        if (chunkedOnly) return;
        _k2 = Opt.Optional<int?>("--k2", "Fixed k2 (default k1: the chunked form).");
        _adaptive = Opt.WithDefault("--adaptive", "Choose K adaptively from the tolerated bias --delta.", d.Adaptive);
    }

    public void AddTo(Command c)
    {
        c.Options.Add(_k);
        if (_k2 is not null) c.Options.Add(_k2);
        if (_adaptive is not null) c.Options.Add(_adaptive);
    }

    public TruncationOptions Read(ParseResult r)
    {
        var o = _k2 is null || _adaptive is null ? new TruncationOptions { K = r.GetValue(_k) }
            : new TruncationOptions { K = r.GetValue(_k), K2 = r.GetValue(_k2) ?? _d.K2, Adaptive = r.GetValue(_adaptive) };
        o.Validate();
        return o;
    }
}

/// <summary>Algorithm 1: --delta (single runs), --k0, --kmin, --kmax, --probes, and the estimator's fit.</summary>
public sealed class AdaptiveBinder
{
    private readonly AdaptiveOptions _d;
    private readonly Option<double>? _delta;
    private readonly Option<int> _k0, _kmin, _kmax, _probes;
    private readonly EstimatorBinder _estimator;

    /// <param name="delta">Declare --delta (a single run; a grid's δ values come from --adaptive).</param>
    public AdaptiveBinder(AdaptiveOptions d, bool delta)
    {
        _d = d;
        _delta = delta ? Opt.WithDefault("--delta", "δ: the relative gradient bias tolerated (with --adaptive).", d.Delta) : null;
        _k0 = Opt.WithDefault("--k0", "Adaptive runs' first K.", d.K0);
        _kmin = Opt.WithDefault("--kmin", "Smallest adaptive K.", d.KMin);
        _kmax = Opt.WithDefault("--kmax", "Largest adaptive K.", d.KMax);
        _probes = Opt.WithDefault("--probes", "Probes per re-estimate P.", d.Probes);
        _estimator = new EstimatorBinder(d.Estimator);
    }

    public void AddTo(Command c)
    {
        if (_delta is not null) c.Options.Add(_delta);
        foreach (var o in new Option[] { _k0, _kmin, _kmax, _probes }) c.Options.Add(o);
        _estimator.AddFitTo(c);
    }

    /// <param name="optimizer">SGD runs scale the step by √K (the paper's); Adam runs do not.</param>
    public AdaptiveOptions Read(ParseResult r, string optimizer)
    {
        var o = _d with
        {
            Delta = _delta is null ? _d.Delta : Opt.Finite(r.GetValue(_delta), "--delta", "δ"),
            K0 = r.GetValue(_k0), KMin = r.GetValue(_kmin), KMax = r.GetValue(_kmax), Probes = r.GetValue(_probes),
            ScaleBySqrtK = optimizer == "sgd",
            Estimator = _estimator.ReadFit(r),
        };
        o.Validate();
        return o;
    }
}

/// <summary>The probe: --window, --burnin, --samples.</summary>
public sealed class ProbeBinder(ProbeOptions d)
{
    private readonly Option<int> _window = Opt.WithDefault("--window", "Probe window W: lags recorded.", d.Window);
    private readonly Option<int?> _burnIn = d.BurnIn is { } b
        ? Opt.WithDefault<int?>("--burnin", "Probe burn-in: forward-only steps before the window.", b)
        : Opt.Optional<int?>("--burnin", "Probe burn-in: forward-only steps before the window (default W/10).");
    private readonly Option<int> _samples = Opt.WithDefault("--samples", "Probe samples S.", d.Samples);

    public void AddTo(Command c) { c.Options.Add(_window); c.Options.Add(_burnIn); c.Options.Add(_samples); }

    public ProbeOptions Read(ParseResult r)
    {
        var o = d with { Window = r.GetValue(_window), BurnIn = r.GetValue(_burnIn), Samples = r.GetValue(_samples) };
        o.Validate();
        return o;
    }
}

/// <summary>Models kept during training: --snapshots.</summary>
public sealed class SnapshotBinder(int d)
{
    private readonly Option<int> _snapshots = Opt.WithDefault("--snapshots",
        "Keep the initial model and N models spread evenly over the run's budget (at the first evaluation round past each N-th) in snapshots/model-u<update>.safetensors of the run folder, for tbptt bias-study (0: none; at least the number of evaluation rounds: every round).", d);

    public void AddTo(Command c) => c.Options.Add(_snapshots);

    public int Read(ParseResult r)
    {
        int n = r.GetValue(_snapshots);
        if (n is < 0 or > RunSnapshots.MaxCount) throw new UserInputException($"--snapshots: {n} is not in [0, {RunSnapshots.MaxCount}] (0: none).");
        return n;
    }
}
