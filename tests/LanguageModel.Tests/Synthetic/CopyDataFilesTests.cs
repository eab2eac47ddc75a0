using System.Security.Cryptography;
using Tbptt.LanguageModel.Synthetic;

namespace Tbptt.Tests;

/// <summary>The paper's own copy data, shipped in datasets/aicherc-copy, and the reader of such folders.</summary>
public class CopyDataFilesTests
{
    private static string Data(string set) => Path.Combine(RepoPaths.Root, "datasets", "aicherc-copy", set);

    [Fact]
    public void TheShippedFilesMatchTheirChecksums()
    {
        string root = Path.Combine(RepoPaths.Root, "datasets", "aicherc-copy");
        var lines = File.ReadAllLines(Path.Combine(root, "SHA256SUMS"));
        Assert.Equal(12, lines.Length);
        foreach (var line in lines)
        {
            var (hash, file) = (line[..64], line[66..]);
            Assert.Equal(hash, Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(Path.Combine(root, file)))));
        }
        Assert.Contains("MIT License", File.ReadAllText(Path.Combine(root, "README.md"))); // the notice travels with the data
    }

    [Fact]
    public void ThePapersFixedSetIsTheCopyTaskWithMTen()
    {
        var s = CopyDataFiles.Load(Data("fixed"), batch: 64, trainSteps: 4000, evalSteps: 1000);
        Assert.Equal((4000, 64), (s.Train.Steps, s.Train.Batch));
        Assert.Equal(1000, s.Test.Steps);
        foreach (var stream in new[] { s.Train, s.Valid, s.Test })
        {
            // Every target that is not blank repeats the input m = 10 steps earlier (the copy), and after a marker
            // come m − 1 payload symbols.
            int copies = 0;
            for (int t = 10; t < stream.Steps; t++)
                for (int b = 0; b < stream.Batch; b++)
                    if (stream.Target(t, b) != CopyTask.Blank)
                    {
                        Assert.Equal(stream.Input(t - 10, b), stream.Target(t, b));
                        copies++;
                    }
            Assert.True(copies > stream.Steps * stream.Batch / 3, $"{copies} copies");
        }
    }

    [Fact]
    public void ARunMayUseFewerStepsAndColumnsButNotMore()
    {
        var s = CopyDataFiles.Load(Data("variable"), batch: 8, trainSteps: 100, evalSteps: 50);
        var full = CopyDataFiles.Load(Data("variable"), batch: 64, trainSteps: 4000, evalSteps: 1000);
        Assert.Equal(full.Train.Input(99, 7), s.Train.Input(99, 7));
        Assert.Equal(full.Valid.Target(49, 3), s.Valid.Target(49, 3));
        var e = Assert.Throws<InvalidDataException>(() => CopyDataFiles.Load(Data("fixed"), 64, 4001, 1000));
        Assert.Contains("train.x.txt: 4000 lines; the run needs 4001 steps", e.Message);
        e = Assert.Throws<InvalidDataException>(() => CopyDataFiles.Load(Data("fixed"), 65, 4000, 1000));
        Assert.Contains("line 1 has 64 columns; the run needs 65", e.Message);
    }

    [Fact]
    public void DamagedFilesNameTheFileAndLine()
    {
        string dir = Directory.CreateTempSubdirectory("tbptt-copydata-").FullName;
        foreach (var f in Directory.GetFiles(Data("fixed"))) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        var lines = File.ReadAllLines(Path.Combine(dir, "valid.y.txt"));
        lines[6] = "7" + lines[6][1..];
        File.WriteAllLines(Path.Combine(dir, "valid.y.txt"), lines);
        var e = Assert.Throws<InvalidDataException>(() => CopyDataFiles.Load(dir, 64, 4000, 1000));
        Assert.Contains("valid.y.txt: line 7, column 1: '7' is not a symbol 0..5", e.Message);
        File.Delete(Path.Combine(dir, "train.x.txt")); // read first
        Assert.Throws<FileNotFoundException>(() => CopyDataFiles.Load(dir, 64, 4000, 1000));
        Assert.Throws<DirectoryNotFoundException>(() => CopyDataFiles.Load(Path.Combine(dir, "nope"), 64, 4000, 1000));
    }
}
