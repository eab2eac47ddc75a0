using System.CommandLine;
using Tbptt.Cli.Commands;

namespace Tbptt.Cli;

public static class Program
{
    public static int Main(string[] args)
    {
        var root = new RootCommand(
            "tbptt — train recurrent networks with truncated backpropagation through time, and choose the truncation "
            + "length adaptively from the gradient bias you tolerate (Aicher, Foti & Fox, UAI 2019).");
        foreach (var command in Commands()) root.Subcommands.Add(command);
        return root.Parse(args).Invoke();
    }

    public static IEnumerable<Command> Commands() =>
    [
        InfoCommand.Create(),
        InitCommand.Create(),
        GradCommand.Create(),
        ProbeCommand.Create(),
        BiasStudyCommand.Create(),
        EstimateKCommand.Create(),
        CopyCommand.Create(),
        CopyDataCommand.Create(),
        SweepCommand.Create(),
        RunCommand.Create(),
        CharLmCommand.Create(),
        DemoCommand.Create(),
        BenchCommand.Create(),
    ];
}
