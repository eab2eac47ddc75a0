using System.Text;

namespace Tbptt.LanguageModel.Text;

/// <summary>
/// A character vocabulary: the distinct Unicode scalar values of a text, sorted by code point — exactly
/// Python's <c>sorted(set(text))</c>, so ids agree with a PyTorch script over the same file. Stored in a
/// checkpoint's metadata as one string of the symbols in id order.
/// </summary>
public sealed class Vocabulary
{
    private readonly Dictionary<int, int> _ids = new();
    private readonly int[] _symbols;

    private Vocabulary(IEnumerable<int> codePoints)
    {
        _symbols = codePoints.ToArray();
        for (int i = 0; i < _symbols.Length; i++) _ids[_symbols[i]] = i;
    }

    /// <summary>The sorted distinct characters of <paramref name="text"/>.</summary>
    public static Vocabulary FromText(string text) => FromText(text.AsSpan());

    /// <summary>The sorted distinct characters of <paramref name="text"/> (a span, so a split needs no copy).</summary>
    public static Vocabulary FromText(ReadOnlySpan<char> text)
    {
        // A flag per BMP code point, not a hash set: text8 and enwik8 are 10^8 characters.
        var bmp = new bool[0x10000];
        var astral = new HashSet<int>();
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (!char.IsSurrogate(c)) { bmp[c] = true; continue; }
            // A lone surrogate decodes to U+FFFD, as EnumerateRunes would give.
            Rune.DecodeFromUtf16(text[i..], out var r, out int used);
            if (r.IsBmp) bmp[r.Value] = true;
            else astral.Add(r.Value);
            i += used - 1;
        }
        return new Vocabulary(Enumerable.Range(0, bmp.Length).Where(cp => bmp[cp]).Concat(astral.Order()));
    }

    /// <summary>The vocabulary stored as a string of symbols in id order (a checkpoint's <c>vocab</c> entry).</summary>
    public static Vocabulary FromSymbols(string symbols)
    {
        var cps = symbols.EnumerateRunes().Select(r => r.Value).ToArray();
        if (cps.Distinct().Count() != cps.Length)
            throw new InvalidDataException("the stored vocabulary repeats a symbol.");
        return new Vocabulary(cps);
    }

    /// <summary>
    /// The symbol a character outside the vocabulary is mapped to: U+FFFD, Unicode's own replacement character,
    /// which real text rarely holds (when a training text does, its U+FFFD doubles as the unknown symbol) and
    /// which survives the checkpoint's string round trip.
    /// </summary>
    public static readonly Rune UnknownSymbol = new('\uFFFD');

    /// <summary>
    /// This vocabulary with <paramref name="symbol"/> appended as the last id, or this vocabulary itself when it
    /// already holds the symbol (its id is then unchanged).
    /// </summary>
    public Vocabulary WithSymbol(Rune symbol) =>
        _ids.ContainsKey(symbol.Value) ? this : new Vocabulary(_symbols.Append(symbol.Value));

    /// <summary>The id of <see cref="UnknownSymbol"/>, or −1 when the vocabulary has none.</summary>
    public int UnknownId => _ids.TryGetValue(UnknownSymbol.Value, out int id) ? id : -1;

    /// <summary>Symbols, the unknown symbol included.</summary>
    public int Count => _symbols.Length;

    /// <summary>The symbols in id order, as stored.</summary>
    public string Symbols
    {
        get
        {
            var sb = new StringBuilder();
            foreach (int cp in _symbols) sb.Append(new Rune(cp).ToString());
            return sb.ToString();
        }
    }

    /// <summary>The id of <paramref name="symbol"/>, if the vocabulary holds it.</summary>
    public bool TryGetId(Rune symbol, out int id) => _ids.TryGetValue(symbol.Value, out id);

    /// <summary>The symbol of <paramref name="id"/>, as a string (one or two UTF-16 units).</summary>
    public string Symbol(int id) => new Rune(_symbols[id]).ToString();

    /// <summary>
    /// Ids of every character of <paramref name="text"/>. A character outside the vocabulary maps to
    /// <paramref name="unknownId"/> and is counted; with <paramref name="unknownId"/> = −1 it is an error that
    /// names the character and its position instead.
    /// </summary>
    public int[] Encode(string text, int unknownId, out int unknownCount)
    {
        var ids = new List<int>(text.Length);
        unknownCount = 0;
        int position = 0;
        foreach (var r in text.EnumerateRunes())
        {
            if (_ids.TryGetValue(r.Value, out int id)) ids.Add(id);
            else if (unknownId >= 0) { ids.Add(unknownId); unknownCount++; }
            else throw new FormatException($"character {Describe(r)} at position {position} is not in the model's vocabulary of {Count} symbols.");
            position++;
        }
        return ids.ToArray();
    }

    /// <summary>Ids of <paramref name="text"/>; any character outside the vocabulary is an error.</summary>
    public int[] Encode(string text) => Encode(text, -1, out _);

    /// <summary>A character as an error message names it: quoted with its code point, or the code point alone when invisible.</summary>
    public static string Describe(Rune r) => Rune.IsControl(r) || Rune.IsWhiteSpace(r)
        ? $"U+{r.Value:X4}"
        : $"'{r}' (U+{r.Value:X4})";
}
