using System.Text;
using System.Text.RegularExpressions;

namespace Tbptt.Tests;

/// <summary>
/// Every relative link of the repository's Markdown resolves inside a clone — the file or folder exists, and an
/// anchor names a heading of its target — and every section of the design document that the README or a source
/// comment cites exists.
/// </summary>
public partial class LinkTests
{
    /// <summary>The README, everything under docs/, and the other readmes a user meets.</summary>
    public static TheoryData<string> MarkdownFiles()
    {
        string root = RepoPaths.Root;
        var files = new List<string> { "README.md", "datasets/README.md" };
        files.AddRange(Directory.EnumerateFiles(Path.Combine(root, "docs"), "*.md", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(root, f).Replace('\\', '/')));
        foreach (string dir in new[] { "src", "bridges", "tests/reference", "examples" })
            if (Directory.Exists(Path.Combine(root, dir)))
                files.AddRange(Directory.EnumerateFiles(Path.Combine(root, dir), "README.md", SearchOption.AllDirectories)
                    .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}"))
                    .Select(f => Path.GetRelativePath(root, f).Replace('\\', '/')));
        var data = new TheoryData<string>();
        foreach (string f in files.Distinct().Order(StringComparer.Ordinal)) data.Add(f);
        return data;
    }

    [Theory]
    [MemberData(nameof(MarkdownFiles))]
    public void RelativeLinksResolve(string relativePath)
    {
        string path = Path.Combine(RepoPaths.Root, relativePath);
        var broken = new List<string>();
        foreach (string target in Links(File.ReadAllText(path)))
        {
            if (UriScheme().IsMatch(target)) continue;
            string file = target, anchor = "";
            int hash = target.IndexOf('#');
            if (hash >= 0) (file, anchor) = (target[..hash], target[(hash + 1)..]);
            string resolved = file.Length == 0 ? path : Path.GetFullPath(Path.Combine(Path.GetDirectoryName(path)!, Uri.UnescapeDataString(file)));
            if (!resolved.StartsWith(RepoPaths.Root, StringComparison.Ordinal)) broken.Add($"{target}: outside the repository");
            else if (!File.Exists(resolved) && !Directory.Exists(resolved)) broken.Add($"{target}: no such file");
            else if (anchor.Length > 0 && !(resolved.EndsWith(".md", StringComparison.Ordinal) && Anchors(File.ReadAllText(resolved)).Contains(anchor)))
                broken.Add($"{target}: no heading with anchor #{anchor}");
        }
        Assert.True(broken.Count == 0, $"{relativePath}: broken links:\n{string.Join('\n', broken)}");
    }

    [Fact]
    public void TheLinkCheckerSeesLinksAndAnchors()
    {
        // The checker must find what it checks: a link in prose counts, one in code does not.
        string text = "See [a](docs/x.md#y) and ![p](p.svg).\n`[not](a.md)`\n```\n[nor](b.md)\n```\n# Hello, World's (k1, k2)\n";
        Assert.Equal(["docs/x.md#y", "p.svg"], Links(text));
        Assert.Contains("hello-worlds-k1-k2", Anchors(text));
        var files = ((IEnumerable<object[]>)MarkdownFiles()).Select(row => (string)row[0]).ToList();
        Assert.Contains("README.md", files);
        Assert.Contains("docs/adaptive-tbptt.md", files);
        Assert.NotEmpty(Links(File.ReadAllText(Path.Combine(RepoPaths.Root, "README.md"))));
    }

    [Fact]
    public void EverySectionTheCodeAndReadmeCiteExists()
    {
        string root = RepoPaths.Root;
        var sections = DocSection().Matches(File.ReadAllText(Path.Combine(root, "docs", "adaptive-tbptt.md")))
            .Select(m => int.Parse(m.Groups[1].Value)).ToHashSet();
        var missing = new List<string>();
        int citations = 0;
        var sources = Directory.EnumerateFiles(Path.Combine(root, "src"), "*.cs", SearchOption.AllDirectories)
            .Concat(Directory.EnumerateFiles(Path.Combine(root, "benchmarks"), "*.cs", SearchOption.AllDirectories))
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}"));
        foreach (string file in sources.Append(Path.Combine(root, "README.md")))
        {
            string text = File.ReadAllText(file);
            var cites = file.EndsWith(".md", StringComparison.Ordinal) ? ReadmeCitation().Matches(text) : SourceCitation().Matches(text);
            foreach (Match m in cites)
            {
                citations++;
                int from = int.Parse(m.Groups["a"].Value);
                int to = m.Groups["b"].Success ? int.Parse(m.Groups["b"].Value) : from;
                for (int s = from; s <= to; s++)
                    if (!sections.Contains(s)) missing.Add($"{Path.GetRelativePath(root, file)}: §{s} ({m.Value})");
            }
        }
        Assert.True(citations >= 12, $"found only {citations} citations of the design document; the pattern is broken");
        Assert.True(missing.Count == 0, "cited sections missing from docs/adaptive-tbptt.md:\n" + string.Join('\n', missing));
    }

    /// <summary>Link targets of inline links and images, outside code spans and fenced blocks.</summary>
    internal static List<string> Links(string markdown) =>
        InlineLink().Matches(WithoutCode(markdown)).Select(m => m.Groups[1].Value).ToList();

    /// <summary>GitHub's heading anchors: lower case, punctuation dropped, spaces as hyphens, repeats numbered.</summary>
    internal static HashSet<string> Anchors(string markdown)
    {
        var anchors = new HashSet<string>(StringComparer.Ordinal);
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (Match m in Heading().Matches(WithoutFences(markdown)))
        {
            var sb = new StringBuilder();
            foreach (char c in m.Groups[1].Value.Trim().ToLowerInvariant())
                if (char.IsLetterOrDigit(c) || c is '-' or '_') sb.Append(c);
                else if (c == ' ') sb.Append('-');
            string slug = sb.ToString();
            int n = seen.GetValueOrDefault(slug);
            seen[slug] = n + 1;
            anchors.Add(n == 0 ? slug : $"{slug}-{n}");
        }
        return anchors;
    }

    private static string WithoutFences(string markdown) => Fence().Replace(markdown, "");
    private static string WithoutCode(string markdown) => CodeSpan().Replace(WithoutFences(markdown), "");

    [GeneratedRegex(@"^```.*?^```", RegexOptions.Multiline | RegexOptions.Singleline)]
    private static partial Regex Fence();
    [GeneratedRegex(@"`[^`\n]*`")]
    private static partial Regex CodeSpan();
    [GeneratedRegex(@"!?\[[^\]\n]*\]\(([^)\s]+)(?:\s+""[^""]*"")?\)")]
    private static partial Regex InlineLink();
    [GeneratedRegex(@"^#{1,6}\s+(.+?)\s*#*\s*$", RegexOptions.Multiline)]
    private static partial Regex Heading();
    [GeneratedRegex(@"^[a-zA-Z][a-zA-Z0-9+.-]*:")]
    private static partial Regex UriScheme();
    [GeneratedRegex(@"^## (\d+)\. ", RegexOptions.Multiline)]
    private static partial Regex DocSection();
    [GeneratedRegex(@"(?:docs|design doc|adaptive-tbptt\.md(?:</c>)?)\s+§(?<a>\d+)(?:–§?(?<b>\d+))?")]
    private static partial Regex SourceCitation();
    [GeneratedRegex(@"(?<![\d.])§(?<a>\d+)(?![.\d])(?:–§?(?<b>\d+))?")]
    private static partial Regex ReadmeCitation();
}
