using System.Reflection;

namespace Tbptt.Tests;

/// <summary>
/// Each program of examples/ runs to completion and passes the check it makes of its own result (it returns 1 and
/// prints FAILED otherwise). They run in this process, one at a time, because they write to the console.
/// </summary>
public class ExampleTests
{
    [Theory]
    [InlineData("Estimator", "ok: β̂ within 0.01 of β, and the CSV gives the same K")]
    [InlineData("Controller", "ok: K was re-estimated during training and the loss fell by more than half")]
    [InlineData("LstmResume", "ok: exact resume, and the model learned the stream")]
    [InlineData("GruVectors", "ok: the loss fell tenfold")]
    public void ExampleRunsAndPassesItsOwnCheck(string name, string verdict)
    {
        var (exit, output) = Run(name);
        Assert.True(exit == 0, $"{name} exited with {exit}:\n{output}");
        Assert.Contains(verdict, output);
    }

    internal static (int Exit, string Output) Run(string name)
    {
        var entry = Assembly.Load($"Tbptt.Examples.{name}").EntryPoint ?? throw new InvalidOperationException($"{name} has no entry point");
        var writer = new StringWriter();
        var previous = Console.Out;
        lock (ConsoleGate)
        {
            Console.SetOut(writer);
            try
            {
                object? result = entry.Invoke(null, [Array.Empty<string>()]);
                return ((int)result!, writer.ToString());
            }
            finally
            {
                Console.SetOut(previous);
            }
        }
    }

    private static readonly object ConsoleGate = new();
}
