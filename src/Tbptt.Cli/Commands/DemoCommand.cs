using System.CommandLine;
using Tbptt.Cli.Binders;
using Tbptt.LanguageModel.Runs;

namespace Tbptt.Cli.Commands;

/// <summary>
/// <c>tbptt demo</c>, the README's first command: what this build runs on, then the paper's copy experiment at
/// a reduced budget (generated data, no files needed, a few minutes on 2 cores). A segment of m = 10
/// symbols must be reproduced 10 steps later: TBPTT with K = 5 cannot assign that credit and stays near the
/// timing-only perplexity 1.866; K = 15 and adaptive δ = 0.5 learn the copy. It is <c>copy</c> with the demo's grid
/// (<see cref="RunDefaults.DemoGrid"/>): every copy flag works here too, with the same defaults.
/// </summary>
public static class DemoCommand
{
    public static Command Create() => SweepCommand.Comparison("demo",
        "Show 'info', then run a small copy experiment: fixed K = 5 and 15 against adaptive δ = 0.5 (a few minutes).",
        SweepBinder.Demo(), before: () =>
        {
            foreach (var line in InfoCommand.Lines()) Console.WriteLine(line);
            Console.WriteLine();
        });
}
