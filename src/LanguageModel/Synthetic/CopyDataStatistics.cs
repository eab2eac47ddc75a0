namespace Tbptt.LanguageModel.Synthetic;

/// <summary>
/// What a copy-task stream is made of, measured rather than assumed: the lengths of its non-blank input runs (a
/// segment, or several segments back to back), how often a copy phase overlaps a new segment, and the perplexity
/// of a model that knows the timing but not the payload. It tells whether two data sets (the paper's files and
/// our generator) pose the same problem.
/// </summary>
/// <param name="Steps">Steps per column.</param>
/// <param name="Batch">Columns.</param>
/// <param name="SegmentRuns">How many maximal non-blank input runs there are of each length (interior runs only:
/// a run cut by the start or end of a column is not counted).</param>
/// <param name="CopyTargets">Steps whose target is not blank (the copy phase).</param>
/// <param name="OverlappedCopies">Copy-phase steps whose input is not blank: the model must write out one segment
/// while a new one arrives. Our generator never does this; a stream stitched from separately generated pieces does.</param>
/// <param name="TimingOnlyPerplexity">exp of the mean loss of a model that predicts every blank target, and every
/// marker, with certainty and each payload target as uniform over the payload symbols.</param>
public sealed record CopyDataStatistics(int Steps, int Batch, IReadOnlyDictionary<int, int> SegmentRuns, long CopyTargets,
    long OverlappedCopies, double TimingOnlyPerplexity)
{
    /// <summary>Measures one stream.</summary>
    public static CopyDataStatistics Of(CopyStream s)
    {
        ArgumentNullException.ThrowIfNull(s);
        var runs = new SortedDictionary<int, int>();
        long copies = 0, overlapped = 0, payloadTargets = 0;
        for (int b = 0; b < s.Batch; b++)
        {
            int runStart = -1;
            bool first = true;
            for (int t = 0; t < s.Steps; t++)
            {
                int x = s.Input(t, b), y = s.Target(t, b);
                if (x != CopyTask.Blank && runStart < 0) runStart = t;
                if (x == CopyTask.Blank && runStart >= 0)
                {
                    if (!first) runs[t - runStart] = runs.GetValueOrDefault(t - runStart) + 1;
                    runStart = -1;
                }
                if (x == CopyTask.Blank) first = false;
                if (y == CopyTask.Blank) continue;
                copies++;
                if (y >= CopyTask.FirstPayload) payloadTargets++;
                if (x != CopyTask.Blank) overlapped++;
            }
        }
        double ce = payloadTargets * Math.Log(CopyTask.PayloadSymbols) / ((double)s.Steps * s.Batch);
        return new CopyDataStatistics(s.Steps, s.Batch, runs, copies, overlapped, Math.Exp(ce));
    }

    /// <summary>The share of copy targets whose input is not blank.</summary>
    public double OverlapShare => CopyTargets == 0 ? 0 : (double)OverlappedCopies / CopyTargets;

    /// <summary>The share of non-blank input runs longer than <paramref name="m"/>: segments with no blank phase between them.</summary>
    public double LongRunShare(int m)
    {
        long all = SegmentRuns.Values.Sum(v => (long)v);
        return all == 0 ? 0 : (double)SegmentRuns.Where(kv => kv.Key > m).Sum(kv => (long)kv.Value) / all;
    }

    /// <summary>The share of non-blank input runs shorter than <paramref name="mMin"/>: segments cut short.</summary>
    public double ShortRunShare(int mMin)
    {
        long all = SegmentRuns.Values.Sum(v => (long)v);
        return all == 0 ? 0 : (double)SegmentRuns.Where(kv => kv.Key < mMin).Sum(kv => (long)kv.Value) / all;
    }
}
