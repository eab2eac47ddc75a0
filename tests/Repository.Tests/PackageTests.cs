using System.Diagnostics;
using System.IO.Compression;
using System.Xml.Linq;

namespace Tbptt.Tests;

/// <summary>
/// What a user of the packages gets: the four libraries pack with their metadata, and each example builds and runs
/// as a console program outside this repository that references them by package name only, restored from a local
/// folder feed (no project references, no Directory.Build.props, no network: the other packages come from the
/// machine's NuGet cache used as a second local feed).
/// </summary>
public class PackageTests
{
    /// <summary>Example → the packages it needs. The controller example takes only Tbptt.Truncation: no engine.</summary>
    private static readonly (string Example, string[] Packages)[] Consumers =
    [
        ("Estimator", ["Tbptt.BiasEstimation"]),
        ("Controller", ["Tbptt.Truncation"]),
        ("LstmResume", ["Tbptt"]),
        ("GruVectors", ["Tbptt"]),
    ];

    private static readonly (string Id, string Project)[] Libraries =
    [
        ("Tbptt.BiasEstimation", "src/BiasEstimation/BiasEstimation.csproj"),
        ("Tbptt.Truncation", "src/Truncation/Truncation.csproj"),
        ("Tbptt", "src/AdaptiveTbptt/AdaptiveTbptt.csproj"),
        ("Tbptt.LanguageModel", "src/LanguageModel/LanguageModel.csproj"),
    ];

    [Fact]
    public void PackagesCarryTheirMetadataAndExamplesRunFromThemByName()
    {
        string root = RepoPaths.Root;
        string version = XDocument.Load(Path.Combine(root, "Directory.Build.props")).Descendants("Version").Single().Value;
        string work = Directory.CreateTempSubdirectory("tbptt-packages-").FullName;
        try
        {
            string feed = Path.Combine(work, "feed");
            // One pack of the four, as built for these tests (no build here: a second build could race with them).
            string libraries = Path.Combine(work, "libraries.slnx");
            File.WriteAllLines(libraries, ["<Solution>", .. Libraries.Select(l => $"""  <Project Path="{Path.Combine(root, l.Project)}" />"""), "</Solution>"]);
            Dotnet(work, "pack", libraries, "--no-build", "-c", RepoPaths.Configuration, "-o", feed, "-nologo");
            foreach (var (id, _) in Libraries) CheckPackage(Path.Combine(feed, $"{id}.{version}.nupkg"), id, version);

            WriteConsumers(root, work, feed, version);
            Dotnet(work, "build", Path.Combine(work, "consumers.slnx"), "-c", "Release", "-nologo", "-nodeReuse:false");
            foreach (var (example, _) in Consumers)
            {
                string dll = Path.Combine(work, example, "bin", "Release", "net10.0", $"Consumer.{example}.dll");
                string output = Dotnet(work, dll);
                Assert.Contains("ok: ", output);
            }
        }
        finally
        {
            try { Directory.Delete(work, recursive: true); } catch (IOException) { } // a leftover temp folder is harmless
        }
    }

    private static void CheckPackage(string path, string id, string version)
    {
        Assert.True(File.Exists(path), $"dotnet pack wrote no {Path.GetFileName(path)}");
        using var zip = ZipFile.OpenRead(path);
        var names = zip.Entries.Select(e => e.FullName).ToHashSet();
        Assert.Contains("README.md", names);
        Assert.Contains("LICENSE", names);
        Assert.Contains(names, n => n.StartsWith("lib/net10.0/", StringComparison.Ordinal) && n.EndsWith(".xml", StringComparison.Ordinal));
        using var nuspec = zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal)).Open();
        var meta = XDocument.Load(nuspec).Root!.Elements().Single(e => e.Name.LocalName == "metadata");
        string Field(string name) => meta.Elements().SingleOrDefault(e => e.Name.LocalName == name)?.Value ?? "";
        Assert.Equal(id, Field("id"));
        Assert.Equal(version, Field("version"));
        Assert.Equal("MIT", Field("license"));
        Assert.Equal("README.md", Field("readme"));
        Assert.Equal("git", meta.Elements().Single(e => e.Name.LocalName == "repository").Attribute("type")?.Value);
        Assert.Contains("tbptt", Field("tags"));
        Assert.DoesNotContain("Package Description", Field("description"));
        Assert.True(Field("description").Length > 80, $"{id}: the description is too thin: {Field("description")}");
        Assert.NotEqual(id, Field("authors"));
    }

    /// <summary>One project per example, outside the repository, with a nuget.config of two local feeds.</summary>
    private static void WriteConsumers(string root, string work, string feed, string version)
    {
        string cache = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        File.WriteAllText(Path.Combine(work, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <config><add key="globalPackagesFolder" value="{Path.Combine(work, "packages")}" /></config>
              <packageSources>
                <clear />
                <add key="tbptt" value="{feed}" />
                <add key="machine-cache" value="{cache}" />
              </packageSources>
            </configuration>
            """);
        var solution = new List<string> { "<Solution>" };
        foreach (var (example, packages) in Consumers)
        {
            string dir = Path.Combine(work, example);
            Directory.CreateDirectory(dir);
            File.Copy(Path.Combine(root, "examples", example, "Program.cs"), Path.Combine(dir, "Program.cs"));
            string references = string.Join("\n", packages.Select(p => $"""    <PackageReference Include="{p}" Version="{version}" />"""));
            File.WriteAllText(Path.Combine(dir, $"Consumer.{example}.csproj"), $"""
                <Project Sdk="Microsoft.NET.Sdk">
                  <PropertyGroup>
                    <OutputType>Exe</OutputType>
                    <TargetFramework>net10.0</TargetFramework>
                    <ImplicitUsings>enable</ImplicitUsings>
                    <Nullable>enable</Nullable>
                    <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
                  </PropertyGroup>
                  <ItemGroup>
                {references}
                  </ItemGroup>
                </Project>
                """);
            solution.Add($"""  <Project Path="{example}/Consumer.{example}.csproj" />""");
        }
        solution.Add("</Solution>");
        File.WriteAllLines(Path.Combine(work, "consumers.slnx"), solution);
    }

    /// <summary>Runs the dotnet host that runs these tests; returns its output, failing the test on a non-zero exit.</summary>
    private static string Dotnet(string workingDirectory, params string[] args)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (string a in args) start.ArgumentList.Add(a);
        // The test host's MSBuild settings must not leak into the child builds.
        foreach (string v in new[] { "MSBuildSDKsPath", "MSBUILD_EXE_PATH", "MSBuildExtensionsPath", "MSBuildLoadMicrosoftTargetsReadOnly" })
            start.Environment.Remove(v);
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["TBPTT_BLAS"] = "managed"; // no start-up measurement in the child programs
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"dotnet {string.Join(' ', args)} exited with {process.ExitCode}:\n{stdout}\n{stderr.Result}");
        return stdout;
    }
}
