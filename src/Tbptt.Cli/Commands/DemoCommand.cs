using System.CommandLine;
using Tbptt.Cli.Binders;

namespace Tbptt.Cli.Commands;

/// <summary>
/// <c>tbptt demo</c>, the README's first command: what this build runs on, then the paper's copy experiment at
/// a reduced budget (generated data, no files needed, a few minutes on 2 cores). A segment of m = 10
/// symbols must be reproduced 10 steps later: TBPTT with K = 5 cannot assign that credit and stays near the
/// timing-only perplexity 1.866; K = 15 and adaptive δ = 0.5 learn the copy.
/// </summary>
public static class DemoCommand
{
    public static Command Create()
    {
        var epochs = Opt.WithDefault("--epochs", "Epochs per configuration.", 10);
        var output = Opt.WithDefault("--out", "Folder for metrics, table and plots.", "runs/demo");
        var cmd = new Command("demo", "Show 'info', then run a small copy experiment: fixed K = 5 and 15 against adaptive δ = 0.5 (a few minutes).")
            { epochs, output };
        cmd.SetAction(r => CliErrors.Run(() =>
        {
            foreach (var line in InfoCommand.Lines()) Console.WriteLine(line);
            Console.WriteLine();
            // The paper's set-up at 10 epochs: three of the rows of the README's copy table (which ran 50). The demo
            // is the copy command with these flags, parsed by the same binders.
            string[] args = ["copy", "--fixed", "5,15", "--adaptive", "0.5", "--epochs", r.GetValue(epochs).ToString(System.Globalization.CultureInfo.InvariantCulture),
                "--out", r.GetValue(output)!];
            var copy = CopyCommand.Create();
            var root = new RootCommand { copy };
            return root.Parse(args).Invoke();
        }));
        return cmd;
    }
}
