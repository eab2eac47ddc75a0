namespace Tbptt.Tests;

/// <summary>Finds files of the repository from the test binaries: walks up to the folder holding Tbptt.sln.</summary>
internal static class RepoPaths
{
    public static string Root
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "Tbptt.sln"))) return dir.FullName;
            throw new DirectoryNotFoundException($"no Tbptt.sln above {AppContext.BaseDirectory}");
        }
    }

    public static string Fixtures => Path.Combine(Root, "tests", "reference", "fixtures");
}
