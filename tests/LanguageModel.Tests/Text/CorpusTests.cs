using System.Text;
using Tbptt.LanguageModel.Text;

namespace Tbptt.Tests;

public sealed class CorpusTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("tbptt-corpus-");

    public void Dispose() => _dir.Delete(recursive: true);

    /// <summary>Deterministic text over <paramref name="alphabet"/> (whose runes may be surrogate pairs).</summary>
    private static string Generate(int length, string alphabet, int seed = 1)
    {
        var runes = alphabet.EnumerateRunes().ToArray();
        var rng = new Random(seed);
        var sb = new StringBuilder();
        for (int i = 0; i < length; i++) sb.Append(runes[rng.Next(runes.Length)].ToString());
        return sb.ToString();
    }

    private string Write(string name, string text)
    {
        string path = Path.Combine(_dir.FullName, name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text, new UTF8Encoding(false));
        return path;
    }

    private string WriteFolder(string train, string valid, string test, string name = "folder")
    {
        Write(Path.Combine(name, "train.txt"), train);
        Write(Path.Combine(name, "valid.txt"), valid);
        Write(Path.Combine(name, "test.txt"), test);
        return Path.Combine(_dir.FullName, name);
    }

    private static string Decode(Corpus c, int[] ids) => string.Concat(ids.Select(c.Vocabulary.Symbol));

    private static string Runes(string text, int start, int count) =>
        string.Concat(text.EnumerateRunes().Skip(start).Take(count).Select(r => r.ToString()));

    [Fact]
    public void OneFileIsSplit90_5_5ByPosition()
    {
        string text = Generate(1000, "abcdefgh \n");
        var c = Corpus.Load(Write("a.txt", text));
        Assert.Equal((900, 50, 50), (c.Train.Length, c.Valid.Length, c.Test.Length));
        Assert.Equal(text[..900], Decode(c, c.Train));
        Assert.Equal(text[900..950], Decode(c, c.Valid));
        Assert.Equal(text[950..], Decode(c, c.Test));
        Assert.Equal(1000, c.Characters);
    }

    [Theory]
    [InlineData(1000, 0.1, 0.2, 700, 100, 200)]
    [InlineData(1003, 0.05, 0.05, 903, 50, 50)]     // 50.15 rounds to 50
    [InlineData(1010, 0.05, 0.05, 908, 51, 51)]     // 50.5 rounds away from zero
    [InlineData(400, 0.0, 0.1, 360, 0, 40)]
    public void FractionsChooseTheSplitSizes(int n, double valid, double test, int nTrain, int nValid, int nTest)
    {
        string text = Generate(n, "xyz");
        var c = Corpus.Load(Write("a.txt", text), valid, test);
        Assert.Equal((nTrain, nValid, nTest), (c.Train.Length, c.Valid.Length, c.Test.Length));
        Assert.Equal(text, Decode(c, [.. c.Train, .. c.Valid, .. c.Test]));
    }

    [Fact]
    public void TheSplitCountsCharactersNotUtf16Units()
    {
        string text = Generate(200, "ab😀é🎵");
        var c = Corpus.Load(Write("a.txt", text), 0.1, 0.1);
        Assert.Equal((160, 20, 20), (c.Train.Length, c.Valid.Length, c.Test.Length));
        Assert.Equal(Runes(text, 0, 160), Decode(c, c.Train));
        Assert.Equal(Runes(text, 160, 20), Decode(c, c.Valid));
        Assert.Equal(Runes(text, 180, 20), Decode(c, c.Test));
    }

    [Fact]
    public void TheVocabularyIsTheSortedTrainingCharactersPlusUnknownLast()
    {
        // 'Z' and 'q' occur only in the last 10 %: they are not in the vocabulary and count as unknown.
        string text = Generate(900, "dcba\n") + Generate(50, "abZ") + Generate(50, "aqq", seed: 2);
        var c = Corpus.Load(Write("a.txt", text));
        Assert.Equal("\nabcd\uFFFD", c.Vocabulary.Symbols);
        Assert.Equal(5, c.UnknownId);
        Assert.Equal(c.UnknownId, c.Vocabulary.UnknownId);
        Assert.False(c.VocabularyGiven);
        Assert.Equal(0, c.UnknownTrain);
        Assert.Equal(text.Skip(900).Take(50).Count(ch => ch == 'Z'), c.UnknownValid);
        Assert.Equal(text.Skip(950).Count(ch => ch == 'q'), c.UnknownTest);
        Assert.True(c.UnknownValid > 0 && c.UnknownTest > 0);
        Assert.Equal(c.UnknownValid, c.Valid.Count(id => id == c.UnknownId));
        // The stored form round-trips with the same unknown id, as a checkpoint needs.
        Assert.Equal(c.UnknownId, Vocabulary.FromSymbols(c.Vocabulary.Symbols).UnknownId);
    }

    [Fact]
    public void AReplacementCharacterInTheTrainingTextIsTheUnknownSymbol()
    {
        string text = "ab\uFFFDba" + Generate(95, "ab") + "zz\uFFFDz" + Generate(1, "a");
        var c = Corpus.Load(Write("a.txt", text), 0.05, 0.0);
        Assert.Equal("ab\uFFFD", c.Vocabulary.Symbols);
        Assert.Equal(2, c.UnknownId);
        Assert.Equal(3, c.UnknownValid);   // the three z; the U+FFFD itself is a known symbol
        Assert.Contains("its U+FFFD is the unknown symbol", c.Describe());
    }

    [Fact]
    public void AFolderHoldsTheThreeSplits()
    {
        string dir = WriteFolder("hello world\nhello\n", "held\nwhy", "lowly ox");
        var c = Corpus.Load(dir, validFraction: 0.3, testFraction: 0.3); // fractions do not apply to a folder
        Assert.Equal("hello world\nhello\n", Decode(c, c.Train));
        Assert.Equal("\n dehlorw\uFFFD", c.Vocabulary.Symbols);
        Assert.Equal("held\nwh\uFFFD", Decode(c, c.Valid));   // 'y' is not in train.txt
        Assert.Equal(1, c.UnknownValid);
        Assert.Equal(2, c.UnknownTest);                          // 'y' and 'x'
        Assert.Equal(8, c.Test.Length);
    }

    [Fact]
    public void AnExistingVocabularyEncodesEverySplitAndCountsUnknownsInTrainToo()
    {
        var model = Vocabulary.FromSymbols("abc\uFFFD");
        string dir = WriteFolder("abcx", "aay", "zzc");
        var c = Corpus.Load(dir, vocabulary: model);
        Assert.Same(model, c.Vocabulary);
        Assert.True(c.VocabularyGiven);
        Assert.Equal(3, c.UnknownId);
        Assert.Equal([0, 1, 2, 3], c.Train);
        Assert.Equal((1, 1, 2), (c.UnknownTrain, c.UnknownValid, c.UnknownTest));
        Assert.Contains("unknown in train: 1, valid: 1, test: 2", c.Describe());
    }

    [Fact]
    public void AnUnknownCharacterWithoutAnUnknownSymbolNamesTheCharacterAndItsFilePosition()
    {
        var model = Vocabulary.FromSymbols("ab");
        string text = Generate(957, "ab") + "é" + Generate(42, "ab");
        string path = Write("a.txt", text);
        var e = Assert.Throws<InvalidDataException>(() => Corpus.Load(path, vocabulary: model));
        Assert.Contains(path, e.Message);
        Assert.Contains("'é' (U+00E9)", e.Message);
        Assert.Contains("position 957", e.Message);
        Assert.Contains("test split", e.Message);
    }

    [Fact]
    public void ThePositionOfAnUnknownCharacterCountsCharactersNotUtf16Units()
    {
        var model = Vocabulary.FromSymbols("ab😀");
        string dir = WriteFolder("ab😀ab", "a😀😀é", "ab");
        var e = Assert.Throws<InvalidDataException>(() => Corpus.Load(dir, vocabulary: model));
        Assert.Contains("valid.txt: character 'é' (U+00E9) at position 3 (valid split)", e.Message);
        Assert.Equal([0, 2, 2], Corpus.Load(WriteFolder("ab", "a😀😀", "b", "h"), vocabulary: model).Valid);
    }

    [Fact]
    public void DescribeSummarisesInPrepareStyle()
    {
        string path = Write("a.txt", Generate(1000, "abcdefgh \n"));
        string d = Corpus.Load(path).Describe();
        Assert.Contains($"{path}: 1,000 characters (one file split 90/5/5 by position)", d);
        Assert.Contains("vocabulary 10 (+1 unknown) from the training split", d);
        Assert.Contains("train 900 / valid 50 / test 50 characters", d);
        Assert.Contains("unknown in valid: 0, test: 0", d);
        Assert.Equal(4, d.Split('\n').Length);
    }

    [Fact]
    public void SplitsCanBeChosenByName()
    {
        var c = Corpus.Load(Write("a.txt", Generate(100, "ab")));
        Assert.Same(c.Valid, c.Split("valid"));
        Assert.Equal(0, c.UnknownCount("test"));
        Assert.Contains("expected train, valid or test", Assert.Throws<ArgumentException>(() => c.Split("dev")).Message);
    }

    [Fact]
    public void EnsureStepsNamesTheSplitItsSizeTheBatchAndTheWindow()
    {
        string dir = WriteFolder(Generate(20000, "abc"), Generate(812, "abc"), Generate(5000, "abc"));
        var c = Corpus.Load(dir);
        var e = Assert.Throws<InvalidDataException>(() => c.EnsureSteps(32, 50));
        Assert.Contains("the valid split has 812 characters: at batch 32 that is 24 steps per column, fewer than one window of 50", e.Message);
        c.EnsureSteps(32, 24);
        c.EnsureSteps("valid", 32, 24);
        // (window + 1) · batch characters is exactly enough.
        c.EnsureSteps("test", 50, 99);
        Assert.Throws<InvalidDataException>(() => c.EnsureSteps("test", 50, 100));
        Assert.Throws<ArgumentException>(() => c.EnsureSteps(0, 10));
    }

    [Fact]
    public void AnEmptySplitIsTooShortForAnyWindow()
    {
        var c = Corpus.Load(Write("a.txt", Generate(100, "ab")), 0.0, 0.5);
        var e = Assert.Throws<InvalidDataException>(() => c.EnsureSteps(1, 1));
        Assert.Contains("the valid split has 0 characters", e.Message);
    }

    [Fact]
    public void AMissingPathIsNamed()
    {
        string path = Path.Combine(_dir.FullName, "nope.txt");
        var e = Assert.Throws<FileNotFoundException>(() => Corpus.Load(path));
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void AFolderMissingAFileNamesIt()
    {
        Write(Path.Combine("f", "train.txt"), "abc");
        Write(Path.Combine("f", "test.txt"), "abc");
        var e = Assert.Throws<FileNotFoundException>(() => Corpus.Load(Path.Combine(_dir.FullName, "f")));
        Assert.Contains("no valid.txt", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void AnEmptyCorpusIsAnError()
    {
        Assert.Contains("the corpus is empty", Assert.Throws<InvalidDataException>(() => Corpus.Load(Write("e.txt", ""))).Message);
        Assert.Contains("the corpus is empty", Assert.Throws<InvalidDataException>(() => Corpus.Load(WriteFolder("", "", ""))).Message);
        var e = Assert.Throws<InvalidDataException>(() => Corpus.Load(WriteFolder("", "ab", "ab", "f2")));
        Assert.Contains("train.txt: the training split is empty", e.Message);
    }

    [Fact]
    public void AOneCharacterCorpusIsAnError()
    {
        var e = Assert.Throws<InvalidDataException>(() => Corpus.Load(Write("one.txt", new string('a', 500))));
        Assert.Contains("one distinct character ('a' (U+0061))", e.Message);
        Assert.Contains("at least 2", e.Message);
    }

    [Fact]
    public void InvalidUtf8IsReportedWithItsByteOffset()
    {
        string path = Path.Combine(_dir.FullName, "bad.txt");
        File.WriteAllBytes(path, [(byte)'a', (byte)'b', (byte)'c', 0xC3, (byte)'d', (byte)'e']);
        var e = Assert.Throws<InvalidDataException>(() => Corpus.Load(path));
        Assert.Contains("byte offset 3", e.Message);

        string dir = WriteFolder("abc", "abc", "abc", "g");
        File.WriteAllBytes(Path.Combine(dir, "valid.txt"), [(byte)'a', 0xFF]);
        e = Assert.Throws<InvalidDataException>(() => Corpus.Load(dir));
        Assert.Contains("valid.txt", e.Message);
        Assert.Contains("byte offset 1", e.Message);
    }

    [Theory]
    [InlineData(-0.1, 0.05, "the valid fraction")]
    [InlineData(0.05, 1.0, "the test fraction")]
    [InlineData(double.NaN, 0.05, "the valid fraction")]
    [InlineData(0.5, 0.5, "their sum must be less than 1")]
    [InlineData(0.6, 0.45, "their sum must be less than 1")]
    public void FractionsOutOfRangeAreRejected(double valid, double test, string expected)
    {
        string path = Write("a.txt", Generate(100, "ab"));
        var e = Assert.Throws<ArgumentException>(() => Corpus.Load(path, valid, test));
        Assert.Contains(expected, e.Message);
    }

    /// <summary>The numbers of the README and nanoGPT's prepare.py, on the copy shipped in datasets/.</summary>
    [Fact]
    public void TinyShakespeareHasTheKnownSizes()
    {
        string path = Path.Combine(RepoPaths.Root, "datasets", "tinyshakespeare", "input.txt");
        var c = Corpus.Load(path);
        Assert.Equal(1_115_394, c.Characters);
        Assert.Equal((1_003_854, 55_770, 55_770), (c.Train.Length, c.Valid.Length, c.Test.Length));
        Assert.Equal(66, c.Vocabulary.Count);
        Assert.Equal((0, 0), (c.UnknownValid, c.UnknownTest));
    }
}
