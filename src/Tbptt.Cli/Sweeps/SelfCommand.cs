using System.Diagnostics;
using System.Reflection;

namespace Tbptt.Cli.Sweeps;

/// <summary>How this tool starts itself as a worker process: the same binary, whether run as an app host or through dotnet.</summary>
public static class SelfCommand
{
    /// <summary>The executable and leading arguments that run this tool (e.g. <c>dotnet /path/tbptt.dll</c>).</summary>
    public static IReadOnlyList<string> Prefix()
    {
        string process = Environment.ProcessPath ?? "dotnet";
        string entry = Assembly.GetEntryAssembly()?.Location ?? "";
        // Run as the app host (tbptt), the process is the tool; under `dotnet tbptt.dll` it is the dotnet host, which
        // needs the dll.
        return Path.GetFileNameWithoutExtension(process) == Path.GetFileNameWithoutExtension(entry) ? [process] : [process, entry];
    }

    public static ProcessStartInfo StartInfo(IEnumerable<string> args)
    {
        var prefix = Prefix();
        var psi = new ProcessStartInfo(prefix[0]) { UseShellExecute = false };
        foreach (var a in prefix.Skip(1).Concat(args)) psi.ArgumentList.Add(a);
        return psi;
    }

    /// <summary>The command as one shell line (for a batch script), every word single-quoted.</summary>
    public static string ShellLine(IEnumerable<string> args) => string.Join(' ', Prefix().Concat(args).Select(ShellQuote));

    public static string ShellQuote(string s) => s.Length > 0 && s.All(c => char.IsAsciiLetterOrDigit(c) || "/._-=:,+@%".Contains(c))
        ? s : "'" + s.Replace("'", "'\\''") + "'";
}
