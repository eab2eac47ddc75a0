using System.CommandLine;
using Tbptt.Cli.Binders;

namespace Tbptt.Cli.Commands;

/// <summary>
/// <c>tbptt copy</c>: the paper's synthetic copy experiment (Table C.1) — fixed TBPTT(K, 2K−1) against adaptive
/// TBPTT at tolerances δ, every configuration from the same initial weights per seed. Defaults are the paper's
/// set-up except the number of epochs (the paper ran 200). It is <c>sweep plan copy</c> + <c>sweep local</c> +
/// <c>sweep aggregate</c> in one command: rerun it after a stop and it continues.
/// </summary>
public static class CopyCommand
{
    public static Command Create() => SweepCommand.Comparison("copy",
        "Reproduce the paper's copy experiment: fixed K against adaptive δ, with a table shaped like Table C.1 and SVG plots.",
        SweepBinder.Copy());
}
