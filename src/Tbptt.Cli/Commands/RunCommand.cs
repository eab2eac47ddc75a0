using System.CommandLine;
using System.Globalization;
using Tbptt.LanguageModel.Runs;

namespace Tbptt.Cli.Commands;

/// <summary><c>tbptt run --config run.json</c>: one run from its options file alone (any run folder's run.json, or a sweep entry's).</summary>
public static class RunCommand
{
    public static Command Create()
    {
        var config = Opt.Required<string>("--config", "A run.json (written into every run's folder).");
        var output = Opt.Required<string>("--out", "Output folder.");
        var resume = Opt.WithDefault("--resume", "Continue the run in --out from its checkpoint.", false);
        var cmd = new Command("run", "Train one run from its options file: the same numbers, bit for bit, as the command that wrote it.") { config, output, resume };
        cmd.SetAction(r => CliErrors.Run(() => Train(RunOptions.Load(r.GetValue(config)!), r.GetValue(output)!, r.GetValue(resume))));
        return cmd;
    }

    /// <summary>Trains one run with Ctrl-C handling and the closing line; shared with <c>charlm train</c>.</summary>
    public static int Train(RunOptions options, string dir, bool resume)
    {
        using var cancel = Interrupt.OnCtrlC();
        var s = RunExecutor.Execute(options, dir, resume, Console.Out, cancel.Token);
        if (s.Divergence is { } d)
        {
            Console.Error.WriteLine($"tbptt: {d}; the last good checkpoint and model are kept");
            return CliErrors.Diverged;
        }
        string metric = options.Metric; // a resume keeps the task, so the stored options report the same way
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"best valid {RunMetrics.Format(metric, s.BestValidLoss)} {RunMetrics.Unit(metric)} (test {RunMetrics.Format(metric, s.TestLossAtBest)}), {s.Updates} updates, final K {s.FinalK}; wrote {dir}"));
        return s.Interrupted ? CliErrors.Interrupted : 0;
    }
}
