using System.Security.Cryptography;
using System.Text.RegularExpressions;

namespace Tbptt.Tests;

/// <summary>The corpus shipped in datasets/ is the one datasets/README.md describes, byte for byte.</summary>
public class DatasetTests
{
    [Fact]
    public void TinyShakespeareMatchesTheChecksumTheReadmeLists()
    {
        string readme = File.ReadAllText(Path.Combine(RepoPaths.Root, "datasets", "README.md"));
        int section = readme.IndexOf("### tiny-Shakespeare", StringComparison.Ordinal);
        Assert.True(section >= 0, "datasets/README.md has no tiny-Shakespeare section");
        var listed = Regex.Match(readme[section..], "SHA-256 `([0-9a-f]{64})`");
        Assert.True(listed.Success, "the tiny-Shakespeare section lists no SHA-256");

        string path = Path.Combine(RepoPaths.Root, "datasets", "tinyshakespeare", "input.txt");
        using var file = File.OpenRead(path);
        string actual = Convert.ToHexStringLower(SHA256.HashData(file));
        Assert.Equal(listed.Groups[1].Value, actual);
        Assert.Equal(1_115_394, file.Length);

        string script = File.ReadAllText(Path.Combine(RepoPaths.Root, "datasets", "download.sh"));
        Assert.Contains($"SHAKESPEARE_SHA256={actual}", script);
    }
}
