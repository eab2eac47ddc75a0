using Tbptt.Truncation;
using System.Globalization;
using Tbptt.BiasEstimation;
using Tbptt.LanguageModel.Sweeps;
using Tbptt.LanguageModel.Synthetic;
using Tbptt.Probes;
using Tbptt.Training;

namespace Tbptt.LanguageModel.Runs;

/// <summary>
/// The defaults of each kind of run, in one place: the CLI's binders show them in <c>--help</c> and start from
/// them, so a flag's default is said here and nowhere else.
/// </summary>
public static class RunDefaults
{
    /// <summary>Epochs of a run bounded by time or compute instead (it ends when the budget is spent).</summary>
    public const int UnlimitedEpochs = 1_000_000;

    /// <summary>
    /// The paper's copy experiment (Table C.1) and its copy script: LSTM 2×50, batch 64, 4000 training and 1000
    /// evaluation steps per column, SGD lr 1.0·√K, weight decay 1e-5, clip 1.0 on the window's summed loss;
    /// adaptive K0 15, W 100, Kmin 2, Kmax 100, P 5, exact C_K, probe burn-in 20. Only the epochs differ (the paper
    /// ran 200).
    /// </summary>
    public static RunOptions Copy { get; } = new()
    {
        Copy = new CopyDataOptions(),
        Model = new ModelOptions { Cell = "lstm", Layers = 2, Hidden = 50, Embed = null, Dropout = 0, Init = "pytorch" },
        Training = new TrainerOptions
        {
            Optimizer = "sgd", LearningRate = 1.0, WeightDecay = 1e-5, Clip = 1.0, ClipSummedLoss = true, Epochs = 10,
            EvaluationsPerEpoch = 1,
        },
        Truncation = new TruncationOptions { K = 15, K2 = 29 },
        Adaptive = new AdaptiveOptions
        {
            Delta = 0.1, K0 = 15, KMin = 2, KMax = 100, Probes = 5, ScaleBySqrtK = true,
            Estimator = new BiasEstimatorOptions { Cumulative = CumulativeNorm.Exact },
        },
        Probe = new ProbeOptions { Window = 100, BurnIn = 20, Samples = 64 },
    };

    /// <summary>The character model: LSTM 2×384, embedding 64, dropout 0.1, AdamW (decoupled weight decay 0.1) peaking
    /// at 8e-3 after 100 updates of warm-up and falling along a cosine to 1e-4 at the end of the budget, clip 5, batch
    /// 32, TBPTT(100, 100), matmul precision medium (bfloat16 products on AMX tiles where the CPU has them: twice the
    /// training in the same time, the same loss per update), two validation rounds per epoch over 32 columns, each
    /// warmed by the 100 characters before it (within 0.001 bits of the loss at any width; a wider batch is no cheaper
    /// per character), the test split the same way once at the end; adaptive K0 50 within [10, 300], W 400, probes at
    /// most 10 % of compute. Chosen by a screening of 10-minute runs on 2 cores for the best validation loss
    /// (docs/results/ten-minutes): 2×256 stops improving after about eight epochs (it overfits), 2×512 sees fewer than
    /// three in float32; 2×384 with a little dropout is between, and AdamW's decay took it from 1.960 to 1.946
    /// bits/char (test 2.173 to 2.149) on the same arithmetic.</summary>
    public static RunOptions CharLm { get; } = new()
    {
        Corpus = new CorpusOptions { Batch = 32, EvalBatch = 32, EvalContext = 100 },
        Model = new ModelOptions { Cell = "lstm", Layers = 2, Hidden = 384, Embed = 64, Dropout = 0.1 },
        Training = new TrainerOptions
        {
            Optimizer = "adamw", LearningRate = 8e-3, WeightDecay = 0.1, Clip = 5.0, Epochs = 1, EvaluationsPerEpoch = 2,
            MaxProbeShare = 0.1, MatmulPrecision = Numerics.MatmulPrecision.Medium,
            Schedule = new ScheduleOptions { Kind = ScheduleKind.Cosine, Warmup = 100, MinLearningRate = 1e-4 },
        },
        Truncation = new TruncationOptions { K = 100 },
        Adaptive = new AdaptiveOptions { Delta = 0.1, K0 = 50, KMin = 10, KMax = 300, Probes = 5, ScaleBySqrtK = false },
        Probe = new ProbeOptions { Window = 400, Samples = 64 },
    };

    /// <summary><c>charlm compare</c>: the character model at an equal budget of 20 M tokens of compute per run, with
    /// the set-up of its published table (dropout 0.2, constant step, four evaluations per epoch, K 50).</summary>
    public static RunOptions CharLmCompare { get; } = CharLm with
    {
        // Pinned, not inherited: the published table's model and evaluation stay what they were when train's defaults move.
        Corpus = CharLm.Corpus! with { EvalBatch = 10, EvalContext = 0 },
        Model = CharLm.Model with { Layers = 2, Hidden = 512, Dropout = 0.2 },
        Training = CharLm.Training with
        {
            Optimizer = "adam", WeightDecay = 0, LearningRate = 2e-3, ComputeBudget = 20_000_000, Epochs = UnlimitedEpochs,
            MatmulPrecision = Numerics.MatmulPrecision.Highest,
            EvaluationsPerEpoch = 4, Schedule = new ScheduleOptions(),
        },
        Truncation = CharLm.Truncation with { K = 50 },
    };

    /// <summary>
    /// <c>bench charlm</c>: the throughput benchmark's model and update, the set-up <c>benchmarks/compare.sh</c> runs
    /// beside its PyTorch twin (<c>benchmarks/pytorch/charlm_bench.py</c>, which keeps the same defaults): one LSTM
    /// layer of 512 with embedding 64, no dropout, batch 32, TBPTT(50, 50), SGD at lr 1 with the gradient norm clipped
    /// to 0.25, no weight decay, seed 1. A rate depends on the shapes, not on these numbers.
    /// </summary>
    public static RunOptions Bench { get; } = CharLm with
    {
        Corpus = CharLm.Corpus! with { Batch = 32 },
        Model = CharLm.Model with { Layers = 1, Hidden = 512, Dropout = 0 },
        Training = new TrainerOptions { Optimizer = "sgd", LearningRate = 1.0, WeightDecay = 0, Clip = 0.25, Seed = 1 },
        Truncation = new TruncationOptions { K = 50 },
    };

    /// <summary>The tolerated biases δ the paper's tables compare (and every run records κ̂ for).</summary>
    public static IReadOnlyList<double> Deltas { get; } = [0.9, 0.5, 0.1];

    /// <summary><c>copy</c>'s grid: Table C.1's fixed K = 5, 10, 15, 20, 30 and δ = 0.9, 0.5, 0.1, at one seed (the
    /// paper ran three: <c>--seeds 1,2,3</c>).</summary>
    public static GridOptions CopyGrid { get; } = new([5, 10, 15, 20, 30], Deltas, [1]);

    /// <summary><c>charlm compare</c>'s grid: fixed K = 10, 50, 100, 200 and δ = 0.9, 0.5, 0.1, at one seed.</summary>
    public static GridOptions CharLmGrid { get; } = new([10, 50, 100, 200], Deltas, [1]);

    /// <summary><c>demo</c>'s grid: three rows of the copy table — K = 5 (cannot learn the copy), K = 15 and δ = 0.5 (both
    /// do) — on <see cref="Copy"/>'s set-up and 10 epochs.</summary>
    public static GridOptions DemoGrid { get; } = new([5, 15], [0.5], [1]);

    /// <summary>Step sizes of the character model by optimizer when none is given. SGD's is 0.3: at 1.0 the 2 × 512
    /// model's loss climbs far above a uniform guess within 100 updates (it diverges), at 0.3 it falls fastest of
    /// 1.0, 0.3 and 0.1 (docs/results/ten-minutes). Adam's is the run's own default (<paramref name="d"/>: 8e-3 for
    /// <c>charlm train</c>, 2e-3 for <c>charlm compare</c>).</summary>
    public static double LearningRate(string optimizer, TrainerOptions d) => optimizer == "sgd" ? 0.3 : d.LearningRate;

    /// <summary>Weight decay when none is given: the run's own (<paramref name="d"/>) for the run's own optimizer; for
    /// adamw otherwise PyTorch's <c>torch.optim.AdamW</c> default, 0.01 (a run's L2 penalty, 0 or 1e-5, would make it
    /// Adam); for sgd or adam in a run whose default is adamw, none (AdamW's 0.1 as an L2 penalty would be another
    /// recipe altogether).</summary>
    public static double WeightDecay(string optimizer, TrainerOptions d) =>
        optimizer == d.Optimizer ? d.WeightDecay : optimizer == "adamw" ? 0.01 : d.Optimizer == "adamw" ? 0 : d.WeightDecay;

    /// <summary>The line above a copy comparison's table: the whole set-up, so a table file says what it shows.</summary>
    public static string DescribeCopy(RunOptions o)
    {
        var c = o.Copy!;
        var t = o.Training;
        var task = new CopyTask(c.M, c.MMin);
        string m = task.VariableLength ? $"[{task.MMin}, {task.M}]" : task.M.ToString(CultureInfo.InvariantCulture);
        string budget = t.ComputeBudget is { } b ? $"{b / 1e6} M tokens of compute" : $"{t.Epochs} epochs";
        return string.Create(CultureInfo.InvariantCulture,
            $"Copy task, m = {m}{(c.Data is null ? "" : $" (data: {Path.GetFileName(c.Data)} files)")}: LSTM {o.Model.Layers}×{o.Model.Hidden}, batch {c.Batch}, {c.TrainSteps} train / {c.EvalSteps} eval steps per column, {budget}, {t.Optimizer.ToUpperInvariant()} lr {t.LearningRate}{(o.Adaptive.ScaleBySqrtK ? "·√K" : "")}, clip {t.Clip} on the window's {(t.ClipSummedLoss ? "summed" : "mean")} loss, {o.Model.Init.ToLowerInvariant()} init; adaptive: K0 {o.Adaptive.K0}, W {o.Probe.Window}, P {o.Adaptive.Probes}, S {o.Probe.Samples}, {(o.Adaptive.Estimator.Cumulative == CumulativeNorm.Exact ? "exact" : "approximate")} C_K; timing-only reference PPL {task.ReferencePerplexity:F3}.");
    }

    /// <summary>The line above a character-model comparison's table.</summary>
    public static string DescribeCharLm(RunOptions o)
    {
        var t = o.Training;
        string budget = t.TimeLimit is { } time ? $"{time.TotalMinutes} min" : t.ComputeBudget is { } b ? $"{b / 1e6} M tokens of compute" : $"{t.Epochs} epochs";
        return string.Create(CultureInfo.InvariantCulture,
            $"Character LM on {Path.GetFileName(o.Corpus!.Path)}: {o.Model.Cell} {o.Model.Layers}×{o.Model.Hidden}, embed {o.Model.Embed ?? o.Model.Hidden}, batch {o.Corpus.Batch}, {t.Optimizer} lr {t.LearningRate}, budget {budget} per run.");
    }
}
