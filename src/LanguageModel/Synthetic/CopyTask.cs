using System.Globalization;

namespace Tbptt.LanguageModel.Synthetic;

/// <summary>
/// The synthetic copy task of Aicher, Foti &amp; Fox (UAI 2019, Table C.1): the model must reproduce a segment of
/// symbols it saw m steps earlier, so a truncation K &lt; m cannot assign credit for it.
/// </summary>
/// <remarks>
/// <para>Alphabet of <see cref="Symbols"/> = 6: 0 = blank, 1 = start marker, 2..5 = payload. The stream is a
/// sequence of periods. A period with segment length L (L = m, or drawn uniformly from [mMin, m] per period) is
/// 2L steps long:</para>
/// <list type="bullet">
/// <item>steps 0..L−1 (segment phase): the input is the segment s = (1, p₁, …, p_{L−1}), each pᵢ uniform on
/// 2..5; the target is blank (0);</item>
/// <item>steps L..2L−1 (copy phase): the input is blank (0); the target at the j-th blank (j = 0..L−1) is sⱼ,
/// the j-th symbol of the segment, marker included.</item>
/// </list>
/// <para>Example with L = 4 (segment 1 3 5 2), two periods:</para>
/// <code>
/// step     0 1 2 3 4 5 6 7 | 8 9 10 11 12 13 14 15
/// input    1 3 5 2 0 0 0 0 | 1 4 4  2  0  0  0  0
/// target   0 0 0 0 1 3 5 2 | 0 0 0  0  1  4  4  2
/// </code>
/// <para>Each of the B batch columns is its own stream, cut at a random offset into its first period(s) (a shift
/// uniform on [0, 2m)), so the columns are out of phase and a window of the engine holds every phase. Streams are
/// step-major: <c>Inputs[t·B + b]</c> is column b at step t, the layout <c>TbpttEngine.Update</c> takes.</para>
/// <para>Every step of the timing is visible in the input (a marker starts the segment; the first blank after a
/// payload symbol starts the copy), so only the payload is hard: see <see cref="ReferenceCrossEntropy"/>.</para>
/// </remarks>
public sealed class CopyTask
{
    /// <summary>Vocabulary size: blank, marker and four payload symbols.</summary>
    public const int Symbols = 6;

    /// <summary>The blank symbol: the input in the copy phase, the target in the segment phase.</summary>
    public const int Blank = 0;

    /// <summary>The start marker, the first symbol of every segment.</summary>
    public const int Marker = 1;

    /// <summary>The smallest payload symbol; payload symbols are <see cref="FirstPayload"/>..<see cref="Symbols"/>−1.</summary>
    public const int FirstPayload = 2;

    /// <summary>How many payload symbols there are (2, 3, 4, 5).</summary>
    public const int PayloadSymbols = Symbols - FirstPayload;

    /// <summary>Creates the task with segment length <paramref name="m"/>, or lengths drawn from [<paramref name="mMin"/>, m].</summary>
    /// <param name="m">The (maximum) segment length, marker included; at least 2 so that there is a payload.</param>
    /// <param name="mMin">The minimum segment length; null or equal to <paramref name="m"/> for fixed length.</param>
    public CopyTask(int m = 10, int? mMin = null)
    {
        if (m < 2) throw new ArgumentOutOfRangeException(nameof(m), m, "m must be at least 2 (the marker and one payload symbol).");
        int min = mMin ?? m;
        if (min < 2 || min > m)
            throw new ArgumentOutOfRangeException(nameof(mMin), mMin, $"mMin must lie in [2, m = {m}].");
        M = m;
        MMin = min;
    }

    /// <summary>The segment length, or the largest one when lengths vary.</summary>
    public int M { get; }

    /// <summary>The smallest segment length (equal to <see cref="M"/> when fixed).</summary>
    public int MMin { get; }

    /// <summary>True when each period draws its segment length from [<see cref="MMin"/>, <see cref="M"/>].</summary>
    public bool VariableLength => MMin < M;

    /// <summary>
    /// Mean cross-entropy per step (nats) of a model that knows the timing but not the payload: it predicts every
    /// blank target, and the marker, with certainty and each payload symbol as uniform over 4, paying ln 4 for
    /// each of the L−1 payload targets of a 2L-step period. Over a long stream this is E[L−1]·ln 4 / E[2L]
    /// (renewal–reward), i.e. (m−1)/(2m)·ln 4 for fixed m.
    /// </summary>
    public double ReferenceCrossEntropy
    {
        get
        {
            double meanLength = (MMin + M) / 2.0; // uniform on the integers MMin..M
            return (meanLength - 1) / (2 * meanLength) * Math.Log(PayloadSymbols);
        }
    }

    /// <summary>
    /// <see cref="ReferenceCrossEntropy"/> as a perplexity: about 1.866 for m = 10. A model below it has learned to
    /// copy; PPL 1 copies perfectly.
    /// </summary>
    public double ReferencePerplexity => Math.Exp(ReferenceCrossEntropy);

    /// <summary>Generates <paramref name="steps"/> steps of <paramref name="batch"/> independent columns from <paramref name="seed"/>.</summary>
    /// <remarks>One <see cref="Random"/>(seed) draws, column by column, the column's shift, then each period's
    /// length (only when variable) and payload; the same seed always gives the same stream.</remarks>
    public CopyStream Generate(int steps, int batch, int seed)
    {
        if (steps < 1) throw new ArgumentOutOfRangeException(nameof(steps), steps, "steps must be at least 1.");
        if (batch < 1) throw new ArgumentOutOfRangeException(nameof(batch), batch, "batch must be at least 1.");
        long size = (long)steps * batch;
        if (size > Array.MaxLength)
            throw new ArgumentOutOfRangeException(nameof(steps), steps, $"steps × batch = {size} is more than an array holds.");

        var rng = new Random(seed);
        var inputs = new int[size];
        var targets = new int[size];
        var shifts = new int[batch];
        Span<int> segment = stackalloc int[M];
        for (int b = 0; b < batch; b++)
        {
            int shift = rng.Next(2 * M);
            shifts[b] = shift;
            // position of the current period's first step in the column; negative until the shift is consumed
            for (long start = -shift; start < steps;)
            {
                int length = VariableLength ? rng.Next(MMin, M + 1) : M;
                segment[0] = Marker;
                for (int i = 1; i < length; i++) segment[i] = FirstPayload + rng.Next(PayloadSymbols);
                for (int j = 0; j < 2 * length; j++)
                {
                    long t = start + j;
                    if (t < 0 || t >= steps) continue;
                    bool copy = j >= length;
                    inputs[t * batch + b] = copy ? Blank : segment[j];
                    targets[t * batch + b] = copy ? segment[j - length] : Blank;
                }
                start += 2 * length;
            }
        }
        return new CopyStream(steps, batch, inputs, targets, shifts);
    }

    /// <summary>
    /// The train, validation and test streams of one run (paper: batch 64, 4000 training and 1000 evaluation steps
    /// per column). Each split gets its own seed, drawn in that order from <see cref="Random"/>(seed), so changing
    /// the training length does not change the evaluation streams.
    /// </summary>
    public CopySplits GenerateSplits(int seed, int batch = 64, int trainSteps = 4000, int evalSteps = 1000)
    {
        var seeds = new Random(seed);
        int trainSeed = seeds.Next(), validSeed = seeds.Next(), testSeed = seeds.Next();
        return new CopySplits(
            Generate(trainSteps, batch, trainSeed),
            Generate(evalSteps, batch, validSeed),
            Generate(evalSteps, batch, testSeed));
    }

    /// <summary>One line saying what was built, for the run log (data preparation should show its numbers).</summary>
    public string Describe(CopySplits splits)
    {
        ArgumentNullException.ThrowIfNull(splits);
        string m = VariableLength ? $"m ∈ [{MMin}, {M}]" : $"m = {M}";
        return string.Create(CultureInfo.InvariantCulture,
            $"copy task: {m}, {Symbols} symbols, batch {splits.Train.Batch}, steps per column train {splits.Train.Steps} / " +
            $"valid {splits.Valid.Steps} / test {splits.Test.Steps}; timing-only reference PPL {ReferencePerplexity:0.000}");
    }
}

/// <summary>One generated stream: step-major inputs and targets, each [Steps, Batch].</summary>
public sealed class CopyStream
{
    internal CopyStream(int steps, int batch, int[] inputs, int[] targets, int[] shifts)
    {
        Steps = steps;
        Batch = batch;
        Inputs = inputs;
        Targets = targets;
        Shifts = shifts;
    }

    /// <summary>Steps per column (rows).</summary>
    public int Steps { get; }

    /// <summary>Columns (the batch size B).</summary>
    public int Batch { get; }

    /// <summary>Input symbols, <c>[t·B + b]</c> for step t of column b.</summary>
    public int[] Inputs { get; }

    /// <summary>Target symbols, same layout as <see cref="Inputs"/>.</summary>
    public int[] Targets { get; }

    /// <summary>Each column's offset into its own period sequence (uniform on [0, 2m)), kept for tests and logs.</summary>
    public IReadOnlyList<int> Shifts { get; }

    /// <summary>Rows <paramref name="step"/>..step+count−1 of the inputs: what one engine update of k1 = count consumes.</summary>
    public ReadOnlySpan<int> InputRows(int step, int count) => Inputs.AsSpan(Offset(step, count), count * Batch);

    /// <summary>Rows <paramref name="step"/>..step+count−1 of the targets.</summary>
    public ReadOnlySpan<int> TargetRows(int step, int count) => Targets.AsSpan(Offset(step, count), count * Batch);

    /// <summary>The input of column <paramref name="column"/> at step <paramref name="step"/>.</summary>
    public int Input(int step, int column) => Inputs[Index(step, column)];

    /// <summary>The target of column <paramref name="column"/> at step <paramref name="step"/>.</summary>
    public int Target(int step, int column) => Targets[Index(step, column)];

    private int Index(int step, int column)
    {
        if ((uint)step >= (uint)Steps) throw new ArgumentOutOfRangeException(nameof(step), step, $"step must be in [0, {Steps}).");
        if ((uint)column >= (uint)Batch) throw new ArgumentOutOfRangeException(nameof(column), column, $"column must be in [0, {Batch}).");
        return step * Batch + column;
    }

    private int Offset(int step, int count)
    {
        if (step < 0 || count < 0 || step > Steps - count)
            throw new ArgumentOutOfRangeException(nameof(step), $"rows [{step}, {step + count}) are outside [0, {Steps}).");
        return step * Batch;
    }
}

/// <summary>The three streams of one copy-task run.</summary>
/// <param name="Train">Training stream.</param>
/// <param name="Valid">Validation stream (model selection).</param>
/// <param name="Test">Test stream (reported at the best validation point).</param>
public sealed record CopySplits(CopyStream Train, CopyStream Valid, CopyStream Test);
