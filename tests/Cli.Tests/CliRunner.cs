using System.Diagnostics;

namespace Tbptt.Tests;

/// <summary>Runs the built <c>tbptt</c> in a child process, as a user would, capturing both streams.</summary>
internal static class CliRunner
{
    public sealed record Result(int ExitCode, string Out, string Err)
    {
        public string[] ErrLines => Err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    public static Result Run(params string[] args) => RunWith(null, args);

    /// <summary>Runs with PATH set to <paramref name="path"/> (e.g. to hide sbatch).</summary>
    public static Result RunWithPath(string path, params string[] args) => RunWith(new() { ["PATH"] = path }, args);

    /// <summary>Runs in the folder <paramref name="workingDirectory"/> (relative paths in the arguments are relative to it).</summary>
    public static Result RunIn(string workingDirectory, params string[] args) => RunWith(null, args, workingDirectory);

    /// <summary>Runs with extra environment variables.</summary>
    public static Result RunWith(Dictionary<string, string>? environment, params string[] args) => RunWith(environment, args, null);

    private static Result RunWith(Dictionary<string, string>? environment, string[] args, string? workingDirectory)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (workingDirectory is not null) psi.WorkingDirectory = workingDirectory;
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "tbptt.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["TBPTT_DEBUG"] = "0";
        // One backend for every process a test compares (runs, resumes, sweeps): backends round differently, and a
        // start-up measurement could pick another one in another process.
        psi.Environment["TBPTT_BLAS"] = "managed";
        foreach (var (k, v) in environment ?? []) psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        string err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        return new Result(p.ExitCode, stdout.Result, err);
    }

    /// <summary>A user error: non-zero exit, exactly one line on stderr containing <paramref name="expected"/>, no trace.</summary>
    public static void AssertOneLineError(Result r, string expected)
    {
        Assert.NotEqual(0, r.ExitCode);
        Assert.True(r.ErrLines.Length == 1, $"expected one error line, got:\n{r.Err}");
        Assert.Contains(expected, r.Err);
        Assert.StartsWith("tbptt: error:", r.Err);
        Assert.DoesNotContain("   at ", r.Err);
    }

    public static string Root
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "Tbptt.sln"))) return dir.FullName;
            throw new DirectoryNotFoundException("no Tbptt.sln above the test binaries");
        }
    }

    public static string Fixtures => Path.Combine(Root, "tests", "reference", "fixtures");

    public static string TempDir()
    {
        string d = Path.Combine(Path.GetTempPath(), "tbptt-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(d);
        return d;
    }
}
