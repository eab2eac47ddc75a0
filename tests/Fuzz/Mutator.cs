using System.Text;
using System.Text.RegularExpressions;

namespace Tbptt.Tests.Fuzz;

/// <summary>
/// A small seeded mutator for the loader fuzz tests (issue 11 §3): the same seed gives the same inputs on every
/// machine. Byte-level mutations (truncation, flips, inserted and deleted ranges) for any input; text edits that
/// aim at what parsers trust (numbers, dtypes, strings, nesting); and for safetensors, header edits that keep the
/// length prefix right so that they reach the validation behind it.
/// </summary>
internal sealed class Mutator(int seed)
{
    private readonly Random _rng = new(seed);

    /// <summary>Numbers a parser must not trust: int and long edges, huge, negative, fractional, not finite.</summary>
    public static readonly string[] Numbers =
    [
        "0", "1", "-1", "2", "7", "255", "65536", "2147483647", "2147483648", "-2147483649", "4294967296", "100000000", "1e8",
        "9223372036854775807", "9223372036854775808", "-9223372036854775808", "18446744073709551616", "1e308", "1e309",
        "-1e309", "1.5", "-0", "NaN", "Infinity", "0x10", "00012", "1" + new string('0', 40),
    ];

    /// <summary>Text that breaks naive handling: escapes, control characters, surrogates, quotes, nesting.</summary>
    public static readonly string[] Fragments =
    [
        "\\ud800", "\\udfff", "\\ud800\\u0041", "\\u0000", "\u0000", "\u001b[31m", "\u0007", "\r", "\n", "\t", "\"", "\\",
        ",", ",,,", "{", "}", "[", "]", ":", "null", "true", "[]", "{}", "\uFEFF", "\uFFFD", "é", "😀",
        new string('[', 200) + new string(']', 200), new string('{', 64), "{\"a\":" + new string('[', 40) + "1" + new string(']', 40) + "}",
    ];

    public static readonly string[] DTypes = ["F32", "F64", "F16", "BF16", "I64", "I32", "I16", "I8", "U8", "BOOL", "U64", "F8", "f32", "", "F32\\u0000"];

    public int Next(int max) => _rng.Next(max);

    public T Pick<T>(IReadOnlyList<T> items) => items[_rng.Next(items.Count)];

    /// <summary>One to three mutations of any byte string.</summary>
    public byte[] MutateBytes(byte[] input)
    {
        var data = new List<byte>(input);
        int count = 1 + _rng.Next(3);
        for (int i = 0; i < count; i++)
        {
            switch (_rng.Next(6))
            {
                case 0: // truncate
                    data = data.Take(_rng.Next(data.Count + 1)).ToList();
                    break;
                case 1: // flip bytes
                    for (int f = 1 + _rng.Next(8); f > 0 && data.Count > 0; f--) data[_rng.Next(data.Count)] ^= (byte)(1 << _rng.Next(8));
                    break;
                case 2: // random bytes inserted
                    data.InsertRange(_rng.Next(data.Count + 1), Enumerable.Range(0, 1 + _rng.Next(16)).Select(_ => (byte)_rng.Next(256)));
                    break;
                case 3: // a range deleted
                    if (data.Count > 0) { int at = _rng.Next(data.Count); data.RemoveRange(at, _rng.Next(Math.Min(64, data.Count - at) + 1)); }
                    break;
                case 4: // a range duplicated
                    if (data.Count > 0) { int at = _rng.Next(data.Count), n = _rng.Next(Math.Min(64, data.Count - at) + 1); data.InsertRange(at, data.GetRange(at, n)); }
                    break;
                default: // an interesting fragment or number inserted
                    var text = Encoding.UTF8.GetBytes(_rng.Next(2) == 0 ? Pick(Fragments) : Pick(Numbers));
                    data.InsertRange(_rng.Next(data.Count + 1), text);
                    break;
            }
        }
        return data.ToArray();
    }

    /// <summary>Edits of a text: a number replaced by an interesting one, a fragment inserted, a line dropped or
    /// repeated, a line made very long; or a byte-level mutation of its UTF-8.</summary>
    public byte[] MutateText(string text)
    {
        switch (_rng.Next(6))
        {
            case 0: return Encoding.UTF8.GetBytes(ReplaceMatch(text, NumberPattern, _ => Pick(Numbers)));
            case 1: return Encoding.UTF8.GetBytes(text.Insert(_rng.Next(text.Length + 1), Pick(Fragments)));
            case 2:
            {
                var lines = text.Split('\n').ToList();
                int at = _rng.Next(lines.Count);
                if (_rng.Next(2) == 0) lines.RemoveAt(at); else lines.Insert(at, lines[at]);
                return Encoding.UTF8.GetBytes(string.Join('\n', lines));
            }
            case 3:
            {
                var lines = text.Split('\n');
                int at = _rng.Next(lines.Length);
                lines[at] = string.Concat(Enumerable.Repeat(lines[at] + ",", 50 + _rng.Next(200)));
                return Encoding.UTF8.GetBytes(string.Join('\n', lines));
            }
            default: return MutateBytes(Encoding.UTF8.GetBytes(text));
        }
    }

    private static readonly Regex NumberPattern = new(@"-?\d+(\.\d+)?([eE][-+]?\d+)?", RegexOptions.Compiled);
    private static readonly Regex DTypePattern = new("\"dtype\":\"[^\"]*\"", RegexOptions.Compiled);
    private static readonly Regex StringPattern = new("\"[^\"\\\\]*\"", RegexOptions.Compiled);

    private string ReplaceMatch(string text, Regex pattern, Func<Match, string> by)
    {
        var matches = pattern.Matches(text);
        if (matches.Count == 0) return text;
        var m = matches[_rng.Next(matches.Count)];
        return text[..m.Index] + by(m) + text[(m.Index + m.Length)..];
    }

    /// <summary>
    /// A safetensors file mutated: mostly a header edit (dtype, a shape or offset number, a string, an injected
    /// fragment, deep nesting, a duplicated entry) with the length prefix fixed up; sometimes a wrong length
    /// prefix or a byte-level mutation of the whole file.
    /// </summary>
    public byte[] MutateSafetensors(byte[] file)
    {
        int choice = _rng.Next(10);
        if (choice >= 8 || file.Length < 8) return MutateBytes(file);
        long headerLength = BitConverter.ToInt64(file, 0);
        if (headerLength < 0 || 8 + headerLength > file.Length) return MutateBytes(file);
        string header = Encoding.UTF8.GetString(file, 8, (int)headerLength);
        byte[] data = file[(8 + (int)headerLength)..];
        if (choice == 7)
        {
            var copy = (byte[])file.Clone();
            BitConverter.TryWriteBytes(copy.AsSpan(0, 8), ulong.Parse(Pick(["0", "1", "7", "100000001", "18446744073709551615", "9223372036854775808",
                (headerLength + 1).ToString(), (headerLength - 1).ToString(), (file.Length - 8).ToString()])));
            return copy;
        }
        header = choice switch
        {
            0 => ReplaceMatch(header, DTypePattern, _ => $"\"dtype\":\"{Pick(DTypes)}\""),
            1 or 2 => ReplaceMatch(header, NumberPattern, _ => Pick(Numbers)),
            3 => ReplaceMatch(header, StringPattern, m => m.Value.Insert(1 + _rng.Next(m.Length - 1), Pick(Fragments))),
            4 => header.Insert(_rng.Next(header.Length + 1), Pick(Fragments)),
            5 => ReplaceMatch(header, NumberPattern, m => new string('[', 30 + _rng.Next(300)) + m.Value + new string(']', 30 + _rng.Next(300))),
            _ => ReplaceMatch(header, StringPattern, m => m.Value), // a duplicated key when it hits a name: the header must refuse it
        };
        if (choice == 6 && header.IndexOf("\"data_offsets\"", StringComparison.Ordinal) is > 0 and var at)
            header = header.Insert(header.LastIndexOf('}'), "," + ExtractEntry(header, at));
        var headerBytes = Encoding.UTF8.GetBytes(header);
        var result = new byte[8 + headerBytes.Length + data.Length];
        BitConverter.TryWriteBytes(result.AsSpan(0, 8), (ulong)headerBytes.Length);
        headerBytes.CopyTo(result, 8);
        data.CopyTo(result, 8 + headerBytes.Length);
        return result;
    }

    /// <summary>The "name":{...} entry around position <paramref name="at"/> of a header (for duplicating it).</summary>
    private static string ExtractEntry(string header, int at)
    {
        int open = header.LastIndexOf('{', at), close = header.IndexOf('}', at);
        int nameStart = header.LastIndexOf('"', header.LastIndexOf('"', open - 2) - 1);
        return nameStart < 0 || close < 0 ? "\"x\":{}" : header[nameStart..(close + 1)];
    }
}

/// <summary>Runs a loader over seeded mutated inputs and fails with every input that broke the contract.</summary>
internal static class FuzzRunner
{
    /// <summary>
    /// Case i uses <c>new Mutator(seed + i)</c>, so a failure is replayed from its index alone. Each case must end in a
    /// valid result or a <paramref name="documented"/> exception with a one-line message, and allocate at most
    /// <paramref name="bytesPerInputByte"/> × its length + <paramref name="fixedBytes"/>. A failing input is written
    /// to a temporary file named in the failure message.
    /// </summary>
    public static (int Valid, int Rejected) Run(string target, int cases, int seed, Func<Mutator, byte[]> make, Action<byte[]> load,
        Func<Exception, bool> documented, long bytesPerInputByte, long fixedBytes)
    {
        var failures = new List<string>();
        int valid = 0, rejected = 0;
        string? dir = null;
        for (int i = 0; i < cases && failures.Count < 10; i++)
        {
            byte[] input = make(new Mutator(seed + i));
            string? problem = null;
            long before = GC.GetAllocatedBytesForCurrentThread();
            try
            {
                load(input);
                valid++;
            }
            catch (Exception e) when (documented(e))
            {
                rejected++;
                if (string.IsNullOrWhiteSpace(e.Message) || e.Message.Contains('\n') || e.Message.Contains('\r'))
                    problem = $"{e.GetType().Name} without a one-line message: '{e.Message}'";
            }
            catch (Exception e)
            {
                problem = $"{e.GetType().Name}: {e.Message.Split('\n')[0]}";
            }
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before, limit = bytesPerInputByte * input.Length + fixedBytes;
            if (problem is null && allocated > limit) problem = $"allocated {allocated:N0} bytes for {input.Length:N0} input bytes (limit {limit:N0})";
            if (problem is null) continue;
            dir ??= Directory.CreateTempSubdirectory($"tbptt-fuzz-{target}-").FullName;
            string saved = Path.Combine(dir, $"case{i}.bin");
            File.WriteAllBytes(saved, input);
            failures.Add($"case {i} (seed {seed + i}, {saved}): {problem}");
        }
        Assert.True(failures.Count == 0, $"{target}: {failures.Count} case(s) broke the contract:\n" + string.Join('\n', failures));
        return (valid, rejected);
    }
}
