using System.Globalization;
using System.Text;

namespace Tbptt.LanguageModel.Text;

/// <summary>
/// A character corpus as token ids, split into train / valid / test. The corpus is either ONE UTF-8 file, split
/// by position (the first 90 % of its characters train, the next 5 % validate, the last 5 % test, as nanoGPT's
/// shakespeare_char and the text8/enwik8 benchmarks do), or a FOLDER holding <c>train.txt</c>, <c>valid.txt</c>
/// and <c>test.txt</c> (the PTB-char and WikiText layout). Characters are Unicode scalar values.
/// <para>
/// The vocabulary comes from the training split only, so validation and test measure what a model trained on
/// this text would meet; <see cref="Vocabulary.UnknownSymbol"/> (U+FFFD) is appended as the last id unless the
/// training text already holds it. A valid or test character outside the vocabulary maps to that id and is
/// counted, never a crash. With a model's vocabulary (<c>charlm eval</c> on another corpus) the same holds
/// when the vocabulary has U+FFFD; without it an unknown character is an error naming it and its position.
/// </para>
/// Every error is one printable line: <see cref="FileNotFoundException"/>, <see cref="InvalidDataException"/>
/// or <see cref="ArgumentException"/>.
/// </summary>
public sealed class Corpus
{
    /// <summary>The split names, in corpus order; also the folder layout's file names without <c>.txt</c>.</summary>
    public static readonly IReadOnlyList<string> SplitNames = ["train", "valid", "test"];

    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    private readonly string _layout;

    private Corpus(string source, string layout, Vocabulary vocabulary, string vocabularyNote, bool given, int[][] splits, int[] unknown)
    {
        VocabularyGiven = given;
        Source = source;
        _layout = layout;
        Vocabulary = vocabulary;
        VocabularyNote = vocabularyNote;
        UnknownId = vocabulary.UnknownId;
        (Train, Valid, Test) = (splits[0], splits[1], splits[2]);
        (UnknownTrain, UnknownValid, UnknownTest) = (unknown[0], unknown[1], unknown[2]);
    }

    /// <summary>The path the corpus was loaded from, as given.</summary>
    public string Source { get; }

    /// <summary>The vocabulary the ids index: the training split's characters plus U+FFFD, or the one given.</summary>
    public Vocabulary Vocabulary { get; }

    /// <summary>Where the vocabulary came from, for <see cref="Describe"/>.</summary>
    public string VocabularyNote { get; }

    /// <summary>True when the vocabulary was passed to <see cref="Load"/> (a model's) rather than built here.</summary>
    public bool VocabularyGiven { get; }

    /// <summary>The id unknown characters map to; −1 when a given vocabulary has no U+FFFD.</summary>
    public int UnknownId { get; }

    /// <summary>Token ids of each split.</summary>
    public int[] Train { get; }

    /// <inheritdoc cref="Train"/>
    public int[] Valid { get; }

    /// <inheritdoc cref="Train"/>
    public int[] Test { get; }

    /// <summary>Characters of each split that were outside the vocabulary (always 0 for train unless the
    /// vocabulary was given).</summary>
    public int UnknownTrain { get; }

    /// <inheritdoc cref="UnknownTrain"/>
    public int UnknownValid { get; }

    /// <inheritdoc cref="UnknownTrain"/>
    public int UnknownTest { get; }

    /// <summary>Characters in all three splits.</summary>
    public long Characters => (long)Train.Length + Valid.Length + Test.Length;

    /// <summary>
    /// Loads a corpus file or folder. <paramref name="validFraction"/> and <paramref name="testFraction"/> split a
    /// single file by position (each rounded to whole characters, the rest is train) and are ignored for a folder.
    /// With <paramref name="vocabulary"/> the ids follow it (a trained model's) instead of the training split's.
    /// </summary>
    public static Corpus Load(string path, double validFraction = 0.05, double testFraction = 0.05, Vocabulary? vocabulary = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        CheckFraction("valid", validFraction);
        CheckFraction("test", testFraction);
        if (validFraction + testFraction >= 1)
            throw new ArgumentException(string.Create(Inv,
                $"the valid and test fractions ({validFraction} + {testFraction}) leave nothing to train on: their sum must be less than 1."));

        if (Directory.Exists(path)) return LoadFolder(path, vocabulary);
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such file or folder.", path);
        return LoadFile(path, validFraction, testFraction, vocabulary);
    }

    private static Corpus LoadFile(string path, double validFraction, double testFraction, Vocabulary? given)
    {
        string text = TextFiles.ReadUtf8(path);
        if (text.Length == 0) throw new InvalidDataException($"{path}: the corpus is empty.");

        int n = CountRunes(text);
        int nValid = (int)Math.Round(n * validFraction, MidpointRounding.AwayFromZero);
        int nTest = (int)Math.Round(n * testFraction, MidpointRounding.AwayFromZero);
        int nTrain = Math.Max(0, n - nValid - nTest);
        int cut1 = CharIndex(text, n, nTrain), cut2 = CharIndex(text, n, nTrain + nValid);
        // Memory slices, not substrings: enwik8 is 100M characters.
        var parts = new[] { text.AsMemory(0, cut1), text.AsMemory(cut1, cut2 - cut1), text.AsMemory(cut2) };

        string layout = string.Create(Inv,
            $"one file split {100 * (1 - validFraction - testFraction):0.##}/{100 * validFraction:0.##}/{100 * testFraction:0.##} by position");
        return Build(path, layout, parts, [path, path, path], [0, nTrain, nTrain + nValid], given);
    }

    private static Corpus LoadFolder(string path, Vocabulary? given)
    {
        var files = SplitNames.Select(s => Path.Combine(path, s + ".txt")).ToArray();
        var missing = SplitNames.Where((_, i) => !File.Exists(files[i])).Select(s => s + ".txt").ToArray();
        if (missing.Length > 0)
            throw new FileNotFoundException(
                $"{path}: the corpus folder has no {string.Join(" or ", missing)}; a folder corpus holds train.txt, valid.txt and test.txt.",
                Path.Combine(path, missing[0]));
        var parts = files.Select(f => TextFiles.ReadUtf8(f).AsMemory()).ToArray();
        if (parts.All(p => p.Length == 0)) throw new InvalidDataException($"{path}: the corpus is empty (train.txt, valid.txt and test.txt hold no text).");
        return Build(path, "train.txt, valid.txt, test.txt", parts, files, [0, 0, 0], given);
    }

    /// <summary>Builds or checks the vocabulary, then encodes the three parts. <paramref name="offsets"/> are
    /// each part's first character within its file, so error positions are file positions.</summary>
    private static Corpus Build(string source, string layout, ReadOnlyMemory<char>[] parts, string[] files, int[] offsets, Vocabulary? given)
    {
        Vocabulary vocabulary;
        string note;
        if (given is null)
        {
            var seen = Vocabulary.FromText(parts[0].Span);
            if (seen.Count < 2)
                throw new InvalidDataException(seen.Count == 0
                    ? $"{files[0]}: the training split is empty."
                    : $"{files[0]}: the training split has one distinct character ({Vocabulary.Describe(Rune.GetRuneAt(seen.Symbols, 0))}); a language model needs at least 2.");
            vocabulary = seen.WithSymbol(Vocabulary.UnknownSymbol);
            note = ReferenceEquals(vocabulary, seen)
                ? $"vocabulary {seen.Count} from the training split (its U+FFFD is the unknown symbol)"
                : $"vocabulary {seen.Count} (+1 unknown) from the training split";
        }
        else
        {
            vocabulary = given;
            note = given.UnknownId >= 0
                ? $"vocabulary {given.Count} given (unknown symbol U+FFFD is id {given.UnknownId})"
                : $"vocabulary {given.Count} given (no unknown symbol: every character must be in it)";
        }

        var ids = new int[3][];
        var unknown = new int[3];
        for (int s = 0; s < 3; s++)
            ids[s] = Encode(parts[s].Span, vocabulary, files[s], SplitNames[s], offsets[s], out unknown[s]);
        return new Corpus(source, layout, vocabulary, note, given is not null, ids, unknown);
    }

    /// <summary>The ids of the split called <paramref name="name"/> (train, valid or test).</summary>
    public int[] Split(string name) => name switch
    {
        "train" => Train,
        "valid" => Valid,
        "test" => Test,
        _ => throw new ArgumentException($"unknown split '{name}': expected train, valid or test."),
    };

    /// <summary>Unknown characters counted in the split called <paramref name="name"/>.</summary>
    public int UnknownCount(string name) => name switch
    {
        "train" => UnknownTrain,
        "valid" => UnknownValid,
        "test" => UnknownTest,
        _ => throw new ArgumentException($"unknown split '{name}': expected train, valid or test."),
    };

    /// <summary>Checks that every split gives at least one window of steps per column (see the overload).</summary>
    public void EnsureSteps(int batch, int window)
    {
        foreach (var name in SplitNames) EnsureSteps(name, batch, window);
    }

    /// <summary>
    /// Checks that the split, cut into <paramref name="batch"/> columns as <see cref="Batchify.Columns"/> does, has
    /// at least <paramref name="window"/> steps per column: N characters give N / batch rows and one step fewer.
    /// Otherwise <see cref="InvalidDataException"/> naming the split, its size, the batch and the window.
    /// </summary>
    public void EnsureSteps(string split, int batch, int window)
    {
        if (batch < 1) throw new ArgumentException($"the batch must be at least 1 (got {batch}).");
        if (window < 1) throw new ArgumentException($"the window must be at least 1 (got {window}).");
        int n = Split(split).Length;
        int steps = Math.Max(0, n / batch - 1);
        if (steps < window)
            throw new InvalidDataException(string.Create(Inv,
                $"{Source}: the {split} split has {n:N0} characters: at batch {batch} that is {steps:N0} steps per column, fewer than one window of {window} (it needs at least {(long)(window + 1) * batch:N0} characters)."));
    }

    /// <summary>
    /// A few lines in the manner of nanoGPT's prepare.py: source and size, vocabulary, split sizes, unknown counts.
    /// </summary>
    public string Describe()
    {
        // Train can only hold unknown characters when the vocabulary came from elsewhere.
        string unknownTrain = VocabularyGiven
            ? string.Create(Inv, $"train: {UnknownTrain:N0}, ")
            : "";
        return string.Create(Inv, $"""
            {Source}: {Characters:N0} characters ({_layout})
            {VocabularyNote}
            train {Train.Length:N0} / valid {Valid.Length:N0} / test {Test.Length:N0} characters
            unknown in {unknownTrain}valid: {UnknownValid:N0}, test: {UnknownTest:N0}
            """);
    }

    private static void CheckFraction(string name, double value)
    {
        if (!(value >= 0 && value < 1))
            throw new ArgumentException(string.Create(Inv, $"the {name} fraction must be at least 0 and less than 1 (got {value})."));
    }

    /// <summary>Unicode scalar values in <paramref name="text"/>: the text is well-formed (strictly decoded), so
    /// every low surrogate is the second half of a pair.</summary>
    private static int CountRunes(ReadOnlySpan<char> text)
    {
        int lows = 0;
        foreach (char c in text) if (char.IsLowSurrogate(c)) lows++;
        return text.Length - lows;
    }

    /// <summary>The UTF-16 index of the <paramref name="runeIndex"/>-th character (a pure-BMP text needs no walk).</summary>
    private static int CharIndex(string text, int runeCount, int runeIndex)
    {
        if (runeCount == text.Length) return runeIndex;
        int i = 0;
        for (int r = 0; r < runeIndex; r++) i += char.IsHighSurrogate(text[i]) ? 2 : 1;
        return i;
    }

    private static int[] Encode(ReadOnlySpan<char> text, Vocabulary vocabulary, string file, string split, int offset, out int unknown)
    {
        int unknownId = vocabulary.UnknownId;
        // A table for BMP characters instead of a dictionary lookup per character: ~10x faster on enwik8.
        var bmp = new int[0x10000];
        Array.Fill(bmp, -1);
        for (int v = 0; v < vocabulary.Count; v++)
            if (Rune.GetRuneAt(vocabulary.Symbol(v), 0) is { IsBmp: true } s) bmp[s.Value] = v;
        var ids = new int[CountRunes(text)];
        unknown = 0;
        // i counts characters (the position in messages), j walks UTF-16 units; the text is well-formed.
        for (int i = 0, j = 0; j < text.Length; i++, j++)
        {
            char c = text[j];
            int id;
            Rune r;
            if (!char.IsSurrogate(c)) (r, id) = (new Rune(c), bmp[c]);
            else
            {
                r = new Rune(c, text[++j]);
                id = vocabulary.TryGetId(r, out int a) ? a : -1;
            }
            if (id >= 0) ids[i] = id;
            else if (unknownId >= 0) { ids[i] = unknownId; unknown++; }
            else
                throw new InvalidDataException(string.Create(Inv,
                    $"{file}: character {Vocabulary.Describe(r)} at position {offset + i} ({split} split) is not in the vocabulary of {vocabulary.Count} symbols, which has no unknown symbol (U+FFFD)."));
        }
        return ids;
    }
}
