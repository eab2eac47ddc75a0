using System.CommandLine;
using System.Globalization;
using Tbptt.Cli.Binders;
using Tbptt.LanguageModel.Runs;
using Tbptt.LanguageModel.Synthetic;

namespace Tbptt.Cli.Commands;

/// <summary>
/// <c>tbptt copy-data</c>: what a copy data set is made of, beside our generator's data of the same shape — whether
/// the paper's files (<c>--data</c>) pose the problem our generator does.
/// </summary>
public static class CopyDataCommand
{
    public static Command Create()
    {
        var data = new CopyDataBinder(RunDefaults.Copy.Copy!);
        var seed = Opt.WithDefault("--seed", "Seed of the generated data compared with.", 1L);
        var cmd = new Command("copy-data", "Describe copy-task data (the paper's files with --data) beside our generator's: segment runs, overlapping copies, timing-only perplexity.") { seed };
        data.AddTo(cmd);
        cmd.SetAction(r => CliErrors.Run(() =>
        {
            var o = data.Read(r);
            var task = new CopyTask(o.M, o.MMin);
            var sources = new List<(string Name, CopySplits Splits)>();
            if (o.Data is { } dir) sources.Add((Path.GetFileName(dir) + " files", CopyDataFiles.Load(dir, o.Batch, o.TrainSteps, o.EvalSteps)));
            sources.Add(($"generator (seed {r.GetValue(seed)})", task.GenerateSplits((int)r.GetValue(seed), o.Batch, o.TrainSteps, o.EvalSteps)));
            var inv = CultureInfo.InvariantCulture;
            Console.WriteLine(string.Create(inv, $"m = {(task.VariableLength ? $"[{task.MMin}, {task.M}]" : task.M.ToString(inv))}: analytic timing-only perplexity {task.ReferencePerplexity:F3}"));
            Console.WriteLine($"| data | split | timing-only PPL | copy targets with a non-blank input | input runs longer than m | input runs shorter than mmin |");
            Console.WriteLine("|---|---|--:|--:|--:|--:|");
            foreach (var (name, splits) in sources)
                foreach (var (split, stream) in new[] { ("train", splits.Train), ("valid", splits.Valid), ("test", splits.Test) })
                {
                    var s = CopyDataStatistics.Of(stream);
                    Console.WriteLine(string.Create(inv,
                        $"| {name} | {split} | {s.TimingOnlyPerplexity:F3} | {s.OverlapShare:P1} | {s.LongRunShare(task.M):P1} | {s.ShortRunShare(task.MMin):P1} |"));
                }
            return 0;
        }));
        return cmd;
    }
}
