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
        var parsed = root.Parse(args);
        // A command line that does not parse is bad input like any other: one line and exit 2, not the parser's
        // default of every error, the whole help text and exit 1. --help is where the help is.
        if (parsed.Errors.Count == 0) return parsed.Invoke();
        var group = parsed.CommandResult.Command;
        string path = CommandPath(parsed.CommandResult);
        // A command that only groups others (charlm, sweep): alone it shows its help; with a word it does not
        // know, that word is the error (not "Required command was not provided" beside it).
        bool grouping = group.Subcommands.Count > 0 && group.Action is null;
        if (grouping && parsed.UnmatchedTokens.Count == 0) return root.Parse([.. args, "--help"]).Invoke();
        string errors = grouping ? $"'{parsed.UnmatchedTokens[0]}' is not a command or option of '{path}'"
            : string.Join(" ", parsed.Errors.Select(e => CliErrors.OneLine(e.Message)).Distinct());
        Console.Error.WriteLine($"tbptt: error: {errors} (see '{path} --help')");
        return CliErrors.UserError;
    }

    /// <summary>"tbptt charlm train" for the command a parse got to.</summary>
    private static string CommandPath(System.CommandLine.Parsing.CommandResult command)
    {
        var names = new List<string>();
        for (var c = command; c.Parent is System.CommandLine.Parsing.CommandResult parent; c = parent) names.Insert(0, c.Command.Name);
        return string.Join(' ', ["tbptt", .. names]);
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
