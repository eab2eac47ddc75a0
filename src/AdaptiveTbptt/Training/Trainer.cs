using System.Diagnostics;
using Tbptt.BiasEstimation;
using Tbptt.Engine;
using Tbptt.Models;
using Tbptt.Numerics;
using Tbptt.Optimizers;
using Tbptt.Probes;
using Tbptt.Truncation;

namespace Tbptt.Training;

/// <summary>
/// Streams batches through a model with any truncation policy: one TBPTT(k1, k2) update per window, clipping,
/// the optimizer step at the policy's step scale; evaluation rounds on the validation stream with the state
/// carried; the parameters of the best validation point kept, and the test stream evaluated once on them at the
/// end of the run (not at a stop: the resumed run does it), as PyTorch's word-language-model example and AWD-LSTM
/// do: no round pays for a test loss nobody reads, and the test split is not looked at while the run is chosen by
/// validation. Compute is counted in tokens:
/// (forward steps + backward steps) × batch, probes included, so runs with different K compare at equal cost.
/// Every update's loss and gradient norm, the parameters after every step and every evaluation loss are checked
/// for NaN/∞ (<see cref="NonFiniteGuard"/>, policy <see cref="TrainerOptions.OnNonFinite"/>); a diverged run
/// stops without calling <see cref="Checkpoint"/>, so nothing non-finite is ever handed out to be saved.
/// </summary>
public sealed partial class Trainer
{
    private readonly SequenceModel<float> _model;
    private readonly TokenStream _train, _valid;
    private readonly TokenStream? _test;
    private readonly TbpttEngine<float> _engine;
    private readonly IOptimizer<float> _optimizer;
    private readonly List<EvaluationRecord> _evaluations = [];
    private readonly Stopwatch _clock = new();
    private double _trainLossSum;
    private int _trainLossCount;
    private double _lastGradNorm;
    private double _lastTrainLoss = double.NaN; // running train loss as last reported (survives the reset at evaluations)
    private readonly NonFiniteGuard _guard;
    private readonly LearningRateSchedule _schedule;
    private Evaluator? _evaluator; // validation; built at the first evaluation round, reused by every later one
    private double _evalSeconds; // wall time of evaluation (validation rounds, the test at the end), time before a resume included
    private double _probeSeconds; // wall time of probes (re-estimates), time before a resume included
    private bool _warnedLoss;

    /// <summary>A trainer of <paramref name="model"/> (changed in place) on <paramref name="train"/>, evaluated on <paramref name="valid"/> and, if given, <paramref name="test"/>.</summary>
    public Trainer(SequenceModel<float> model, TrainerOptions options, TokenStream train, TokenStream valid, TokenStream? test = null)
    {
        options.Validate();
        _model = model;
        Options = options;
        _train = train; _valid = valid; _test = test;
        _engine = new TbpttEngine<float>(model, train.Batch);
        int n = model.Parameters.Length;
        _optimizer = options.Optimizer is "adam" or "adamw"
            ? new Adam<float>(n, options.LearningRate, options.Beta1, options.Beta2, weightDecay: options.WeightDecay, decoupled: options.Optimizer == "adamw")
            : new Sgd<float>(n, options.LearningRate, options.Momentum, options.WeightDecay);
        Rng = new SeededRandom(options.Seed);
        _engine.Tape.DropoutRandom = new SeededRandom(options.Seed ^ 0x5DEECE66DL);
        BestParameters = (float[])model.Parameters.Data.Clone();
        _guard = new NonFiniteGuard(options.OnNonFinite);
        _schedule = new LearningRateSchedule(options.Schedule, options.LearningRate);
    }

    /// <summary>The run's settings.</summary>
    public TrainerOptions Options { get; }
    /// <summary>How each update is truncated; TBPTT(15, 29) unless set. Set it before <see cref="Run"/> or <see cref="ImportState"/>.</summary>
    public ITruncationPolicy Policy { get; set; } = new FixedTruncation(15, 29);
    /// <summary>The run's generator: window lengths and probe positions. Its state is part of a checkpoint.</summary>
    public SeededRandom Rng { get; }
    /// <summary>The optimizer built from <see cref="TrainerOptions.Optimizer"/>.</summary>
    public IOptimizer<float> Optimizer => _optimizer;
    /// <summary>Updates taken so far.</summary>
    public long Updates { get; private set; }
    /// <summary>Steps per column of the training stream.</summary>
    public int TrainSteps => _train.Steps;
    /// <summary>Completed passes over the training stream.</summary>
    public int Epoch { get; private set; }
    /// <summary>Next training step of the current epoch.</summary>
    public int Position { get; private set; }
    /// <summary>Training tokens consumed (k1 × B per update).</summary>
    public long TokensSeen { get; private set; }
    /// <summary>Tokens of compute: (forward + backward steps) × B over updates and probes.</summary>
    public long ComputeTokens { get; private set; }
    /// <summary>The part of <see cref="ComputeTokens"/> spent by probes.</summary>
    public long ProbeComputeTokens { get; private set; }
    /// <summary>The lowest validation loss (nats per token) so far.</summary>
    public double BestValidLoss { get; private set; } = double.PositiveInfinity;
    /// <summary>The test loss of <see cref="BestParameters"/>, evaluated at the end of the run (NaN without a test
    /// stream, and until then: a stopped run leaves it to its resumed end).</summary>
    public double TestLossAtBest { get; private set; } = double.NaN;
    /// <summary>Updates at the evaluation round of <see cref="BestValidLoss"/>.</summary>
    public long UpdatesAtBest { get; private set; }
    /// <summary>The parameters at that evaluation.</summary>
    public float[] BestParameters { get; }
    /// <summary>Every evaluation round so far.</summary>
    public IReadOnlyList<EvaluationRecord> Evaluations => _evaluations;
    /// <summary>Set when the run stopped on a non-finite loss, gradient, parameter or evaluation.</summary>
    public Divergence? Divergence => _guard.Divergence;
    /// <summary>The schedule's rate for the next update (before the policy's step scale).</summary>
    public double LearningRate => _schedule.Rate(Updates, Fraction());
    /// <summary>Wall time spent evaluating (validation rounds, the test at the end), time before a resume included.</summary>
    public double EvalSeconds => _evalSeconds;
    /// <summary>Wall time spent in probes, time before a resume included (part of <see cref="WallSeconds"/>, not of <see cref="EvalSeconds"/>).</summary>
    public double ProbeSeconds => _probeSeconds;
    /// <summary>Updates skipped under <see cref="NonFinitePolicy.Skip"/>.</summary>
    public long SkippedUpdates => _guard.Skipped;

    /// <summary>Raised once with a line of advice when the validation loss is finite but absurd (more than ten
    /// times that of a uniform guess): the run is likely diverging, though nothing is NaN yet.</summary>
    public event Action<string>? Warning;

    /// <summary>Raised after every evaluation round.</summary>
    public event Action<EvaluationRecord>? Evaluated;
    /// <summary>
    /// Called after every evaluation round, when a run stops early, and once more after a complete run's test: the
    /// place to write a checkpoint (<see cref="ExportState"/>), so a stopped run loses nothing.
    /// </summary>
    public Action<Trainer>? Checkpoint { get; set; }

    /// <summary>Raised after every update with (fraction of the run done, running train loss).</summary>
    public event Action<double, double>? Progress;

    /// <summary>
    /// A probe callback for <see cref="AdaptiveTruncation"/>: each call measures φ at the current parameters on
    /// S random positions of the training stream (seeded by the run's generator) and counts its compute.
    /// </summary>
    public Func<GradientNormProfile> CreateProbe(ProbeOptions options)
    {
        var probe = new GradientProbe<float>(_model, options);
        int span = options.EffectiveBurnIn + options.Window, steps = _train.Steps;
        if (steps < span)
            throw new ArgumentException($"a probe needs burn-in + W = {span} steps in one column; the training stream has {steps} per column.");
        var offsets = new int[options.Samples];
        return () =>
        {
            long started = Stopwatch.GetTimestamp();
            DrawOffsets(offsets, span);
            var result = probe.Run(_train.Inputs, _train.Targets, _train.Batch, offsets);
            Count(probe, started);
            return new GradientNormProfile(result.Phi, result.MeanGradient);
        };
    }

    /// <summary>
    /// The batched form of <see cref="CreateProbe"/> for <see cref="AdaptiveTruncation"/>: each call measures P φ
    /// tables — the tables P calls of <see cref="CreateProbe"/>'s callback would measure, from the same positions —
    /// running as many probes side by side in one batch as <see cref="MaxBatchedProbeBytes"/> allows (all of them at
    /// the copy task's W 100, S 64, P 5). Compute is counted as for P probes: the same steps are done, in fewer passes.
    /// </summary>
    public Func<int, IReadOnlyList<GradientNormProfile>> CreateProbes(ProbeOptions options)
    {
        int span = options.EffectiveBurnIn + options.Window, steps = _train.Steps;
        if (steps < span)
            throw new ArgumentException($"a probe needs burn-in + W = {span} steps in one column; the training stream has {steps} per column.");
        // A measured bias is one probe's (its ĝ_K sums over the batch): with a grid, one probe per pass.
        int fit = options.BiasGrid.Count > 0 ? 1 : (int)Math.Clamp(MaxBatchedProbeBytes / GradientProbe<float>.EstimateBytes(_model.Config, options), 1, int.MaxValue);
        var passes = new Dictionary<int, GradientProbe<float>>(); // by probes per pass: at most a full and a last, smaller one
        return count =>
        {
            var tables = new List<GradientNormProfile>(count);
            for (int done = 0; done < count;)
            {
                int groups = Math.Min(fit, count - done);
                if (!passes.TryGetValue(groups, out var probe)) passes[groups] = probe = new GradientProbe<float>(_model, options, groups);
                long started = Stopwatch.GetTimestamp();
                var offsets = new int[groups * options.Samples];
                DrawOffsets(offsets, span); // probe by probe, sample by sample: the draws of `groups` single probes
                foreach (var r in probe.RunGroups(_train.Inputs, _train.Targets, _train.Batch, offsets))
                    tables.Add(new GradientNormProfile(r.Phi, r.MeanGradient));
                Count(probe, started);
                done += groups;
            }
            return tables;
        };
    }

    /// <summary>Most memory a batched re-estimate may hold (<see cref="CreateProbes"/>); a single probe larger than this still runs.</summary>
    public const double MaxBatchedProbeBytes = 256e6;

    /// <summary>
    /// Sample positions from the run's generator. Each sample lies within one column (offset = column·steps + step):
    /// no window crosses a boundary, and the probe reads the training stream in place.
    /// </summary>
    private void DrawOffsets(int[] offsets, int span)
    {
        int steps = _train.Steps;
        for (int i = 0; i < offsets.Length; i++) offsets[i] = Rng.Next(_train.Batch) * steps + Rng.Next(steps - span + 1);
    }

    /// <summary>A probe run's compute (its forward and backward steps) and wall time.</summary>
    private void Count(GradientProbe<float> probe, long started)
    {
        ProbeComputeTokens += probe.ComputeSteps;
        ComputeTokens += probe.ComputeSteps;
        _probeSeconds += Stopwatch.GetElapsedTime(started).TotalSeconds;
    }

    /// <summary>Trains until the epochs, the compute budget or the time limit run out, or until cancelled.</summary>
    public TrainingSummary Run(CancellationToken cancel = default)
    {
        using var flush = Denormals.FlushToZero(); // the whole run: steps, optimizer, evaluation, probes
        _clock.Start();
        bool interrupted = false, tested = false;
        try
        {
            interrupted = Loop(cancel);
            // A stop is prompt: the test (minutes on a large corpus) is left to the resumed run's end, and a second
            // Ctrl-C or Slurm's kill after its warning finds the state saved.
            if (!interrupted) tested = TestBestParameters(); // on the clock: part of the wall time and the evaluation share
        }
        finally
        {
            _clock.Stop();
        }
        // A complete run saves its test loss too (its last round's checkpoint came before the test), so a finished
        // run resumed has nothing left to compute.
        if ((interrupted || tested) && Divergence is null) Checkpoint?.Invoke(this);
        return Summary(interrupted);
    }

    private bool Loop(CancellationToken cancel)
    {
        int steps = _train.Steps, b = _train.Batch;
        bool budgetSpent = false;
        while (Epoch < Options.Epochs && !budgetSpent)
        {
            if (Position == 0) _engine.ResetState();
            int nextEval = NextEvaluationStep(Position, steps);
            while (true)
            {
                if (cancel.IsCancellationRequested) return true;
                if (OutOfBudget()) { budgetSpent = true; break; }
                var w = Policy.Next(Rng);
                if (Position + w.K1 > steps) break; // the epoch's tail shorter than a window is dropped
                if (!TrainOne(w, b)) return false;
                if (Position >= nextEval && Position + 1 <= steps)
                {
                    if (!Evaluate()) return false;
                    nextEval = NextEvaluationStep(Position, steps);
                }
            }
            if (budgetSpent) break;
            Epoch++;
            Position = 0;
            if (!Evaluate(final: Epoch >= Options.Epochs || OutOfBudget())) return false;
        }
        // A run cut by its budget ends with an evaluation of where it stopped (unless it just had one).
        if (budgetSpent && (_evaluations.Count == 0 || _evaluations[^1].Updates != Updates) && !Evaluate(final: true)) return false;
        Progress?.Invoke(1.0, _lastTrainLoss);
        return false;
    }

    private bool OutOfBudget() =>
        (Options.ComputeBudget is { } budget && ComputeTokens >= budget)
        || (Options.TimeLimit is { } limit && WallSeconds >= limit.TotalSeconds); // time before a resume counts

    private int NextEvaluationStep(int position, int steps)
    {
        int per = Options.EvaluationsPerEpoch;
        for (int i = 1; i < per; i++)
        {
            int at = (int)((long)steps * i / per);
            if (at > position) return at;
        }
        return int.MaxValue; // the epoch's end evaluates
    }

    /// <summary>
    /// One update on the next window of the training stream, exactly as <see cref="Run"/> makes it, without the
    /// evaluation rounds and budgets around it: what <c>bench charlm</c> times and the allocation guard checks. At the
    /// stream's end a new pass starts from the zero state. False when the update diverged (nothing was stepped).
    /// </summary>
    internal bool TrainStep()
    {
        using var flush = Denormals.FlushToZero(); // for a caller outside Run (bench charlm, the allocation guard)
        var w = Policy.Next(Rng);
        if (Position + w.K1 > _train.Steps) { Epoch++; Position = 0; }
        if (Position == 0) _engine.ResetState();
        return TrainOne(w, _train.Batch);
    }

    /// <summary>
    /// The gradient of the next update exactly as <see cref="Run"/> computes it — zero-grad, then TBPTT(k1, k2) over the
    /// next window with the model's dropout — left in the gradient buffer with the parameters unchanged (no clipping,
    /// no step): what <c>tbptt grad</c> writes. Returns the window's mean loss per token.
    /// </summary>
    internal double GradientStep()
    {
        using var flush = Denormals.FlushToZero();
        var w = Policy.Next(Rng);
        if (Position + w.K1 > _train.Steps) { Epoch++; Position = 0; }
        if (Position == 0) _engine.ResetState();
        double loss = Gradient(w, _train.Batch);
        Advance(w, _train.Batch);
        return loss;
    }

    /// <summary>The engine of the updates (the allocation guard times its pieces one by one).</summary>
    internal TbpttEngine<float> Engine => _engine;
    /// <summary>The loss of the last update (mean per token of its window).</summary>
    internal double LastLoss { get; private set; } = double.NaN;

    /// <summary>One update; false when the run diverged (nothing was stepped, and the run must stop).</summary>
    private bool TrainOne(TruncationWindow w, int b)
    {
        var p = _model.Parameters;
        double loss = Gradient(w, b);
        double clip = Options.ClipSummedLoss ? Options.Clip / w.K1 : Options.Clip;
        LastLoss = loss;
        double norm = clip > 0 ? GradientClipping.ClipGlobalNorm<float>(p.Grad, clip) : GradientClipping.Norm<float>(p.Grad);
        double epochNow = Epoch + (double)Position / _train.Steps;
        var verdict = _guard.Check(loss, norm, Updates + 1, epochNow);
        if (verdict == UpdateVerdict.Stop) return false;
        Advance(w, b);
        if (verdict == UpdateVerdict.Skip)
        {
            // The window's forward states may be the non-finite ones: restart the carried state from zero.
            _engine.ResetState();
            Progress?.Invoke(Fraction(), _lastTrainLoss);
            return true;
        }
        _lastGradNorm = norm;
        _optimizer.LearningRate = _schedule.Rate(Updates, Fraction()) * w.StepScale;
        _optimizer.Step(p.Data, p.Grad);
        Updates++;
        if (!_guard.CheckParameters(p.Data, Updates, epochNow)) return false;
        _trainLossSum += loss;
        _trainLossCount++;
        _lastTrainLoss = _trainLossSum / _trainLossCount;
        Policy.AfterUpdate(Updates);
        Progress?.Invoke(Fraction(), _lastTrainLoss);
        return true;
    }

    /// <summary>Zero-grad, then the window's TBPTT(k1, k2) gradient at the current position; the mean loss.</summary>
    private double Gradient(TruncationWindow w, int b)
    {
        _model.Parameters.ZeroGrad();
        return _engine.Update(w.K1, w.K2, _train.Inputs.Slice(Position * b, w.K1 * b), _train.Targets.Slice(Position * b, w.K1 * b));
    }

    /// <summary>Past the window just computed: position, tokens seen, compute (forward k1 and backward steps × B).</summary>
    private void Advance(TruncationWindow w, int b)
    {
        Position += w.K1;
        TokensSeen += (long)w.K1 * b;
        ComputeTokens += (long)(w.K1 + _engine.LastWindow) * b;
    }

    private double Fraction()
    {
        double byEpoch = (Epoch + (double)Position / _train.Steps) / Options.Epochs;
        double byCompute = Options.ComputeBudget is { } c ? (double)ComputeTokens / c : 0;
        double byTime = Options.TimeLimit is { } t ? WallSeconds / t.TotalSeconds : 0;
        return Math.Min(1, Math.Max(byEpoch, Math.Max(byCompute, byTime)));
    }

    /// <summary>Mean cross-entropy per scored token of the current parameters over a whole stream.</summary>
    public double EvaluateLoss(TokenStream stream) => Evaluation.MeanLoss(_model, stream, Options.EvalChunk);

    /// <param name="final">The run's last evaluation: no re-estimate (its K would never be used, and its probes
    /// would count against the compute budget).</param>
    /// <returns>False when the validation loss is not finite: the run diverged and stops here, unrecorded.</returns>
    private bool Evaluate(bool final = false)
    {
        int trainedK = Policy.K; // the K the updates since the last evaluation used
        long started = Stopwatch.GetTimestamp();
        _evaluator ??= new Evaluator(_model, [_valid], Options.EvalChunk);
        double valid = _evaluator.MeanLosses()[0];
        _evalSeconds += Stopwatch.GetElapsedTime(started).TotalSeconds;
        double epochNow = Epoch + (double)Position / _train.Steps;
        if (!double.IsFinite(valid))
        {
            _guard.Diverge(Updates, epochNow, $"the validation loss is {(double.IsNaN(valid) ? "NaN" : "∞")}");
            return false;
        }
        WarnIfAbsurd(valid);
        _schedule.Observe(valid);
        if (valid < BestValidLoss)
        {
            BestValidLoss = valid;
            TestLossAtBest = double.NaN; // tested when the run stops
            UpdatesAtBest = Updates;
            _model.Parameters.Data.CopyTo(BestParameters, 0);
        }
        if (!final && ProbeWithinBudget())
        {
            long before = ProbeComputeTokens;
            Policy.AfterEvaluation(Updates);
            if (ProbeComputeTokens > before) _probeCostPerEstimate = ProbeComputeTokens - before;
        }
        var estimate = (Policy as AdaptiveTruncation)?.Latest;
        var record = new EvaluationRecord(Updates, epochNow, TokensSeen, ComputeTokens,
            ProbeComputeTokens, WallSeconds, _trainLossCount > 0 ? _trainLossSum / _trainLossCount : double.NaN,
            valid, trainedK, estimate?.LogBeta ?? double.NaN, estimate?.RelativeBiasAtK ?? double.NaN,
            estimate?.KByTrackedDelta ?? [], _lastGradNorm, _guard.Skipped, LearningRate, _evalSeconds, _probeSeconds);
        _trainLossSum = 0;
        _trainLossCount = 0;
        _evaluations.Add(record);
        Evaluated?.Invoke(record);
        Checkpoint?.Invoke(this);
        return true;
    }

    /// <summary>
    /// The test loss of the best parameters, unless there is no test stream, no best yet, or it is known already (a
    /// finished run resumed). NaN marks "not tested", so a test that came out NaN is repeated, which costs time only.
    /// The model's own parameters are put back after. True when it ran.
    /// </summary>
    private bool TestBestParameters()
    {
        if (_test is null || !double.IsFinite(BestValidLoss) || !double.IsNaN(TestLossAtBest)) return false;
        long started = Stopwatch.GetTimestamp();
        var current = _model.Parameters.Data;
        var saved = (float[])current.Clone();
        BestParameters.CopyTo(current, 0);
        try
        {
            TestLossAtBest = Evaluation.MeanLoss(_model, _test, Options.EvalChunk);
        }
        finally
        {
            saved.CopyTo(current, 0);
            _evalSeconds += Stopwatch.GetElapsedTime(started).TotalSeconds;
        }
        return true;
    }

    private void WarnIfAbsurd(double valid)
    {
        var c = _model.Config;
        if (_warnedLoss || c.Loss != LossKind.CrossEntropy || !(valid > 10 * Math.Log(c.OutputSize))) return;
        _warnedLoss = true;
        Warning?.Invoke(string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"warning: at update {Updates} the validation loss is {valid:G4} nats/token, more than 10× that of a uniform guess (log {c.OutputSize} = {Math.Log(c.OutputSize):F3}): training is likely diverging; lower the learning rate or clip the gradient"));
    }

    private double _wallOffset; // seconds spent before a resume
    private long _probeCostPerEstimate; // compute of the last re-estimate (0 until one ran)

    /// <summary>Whether one more re-estimate keeps the probes within <see cref="TrainerOptions.MaxProbeShare"/>.</summary>
    private bool ProbeWithinBudget()
    {
        if (Options.MaxProbeShare is not { } share || _probeCostPerEstimate == 0) return true;
        double probes = ProbeComputeTokens + _probeCostPerEstimate, all = ComputeTokens + _probeCostPerEstimate;
        return probes <= share * all;
    }

    /// <summary>Wall time of the run, time before a resume included.</summary>
    public double WallSeconds => _wallOffset + _clock.Elapsed.TotalSeconds;

    private TrainingSummary Summary(bool interrupted) => new(Policy.Name, Updates,
        Epoch + (double)Position / _train.Steps, ComputeTokens, ProbeComputeTokens, WallSeconds,
        BestValidLoss, TestLossAtBest, UpdatesAtBest, Policy.K, interrupted, _evaluations, Divergence, _guard.Skipped, _evalSeconds, _probeSeconds);
}
