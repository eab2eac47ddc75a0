using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using Tbptt.Checkpoints;

namespace Tbptt.Reporting;

/// <summary>
/// Appends one CSV row per evaluation to a metrics file, flushing after every row so that a run stopped with
/// Ctrl-C (or killed) keeps every row it reported. The columns are fixed at construction; the header is written
/// once, when the file is new or empty.
/// </summary>
/// <remarks>
/// Cells: doubles and floats in round-trip form ("R", invariant culture), so the file parses back to the same
/// bits; null and NaN as an empty cell (pandas reads it as NaN); ±∞ as <c>Infinity</c>/<c>-Infinity</c>, which
/// .NET, Python and pandas all parse; integers invariant; booleans <c>true</c>/<c>false</c>; text quoted only
/// when it holds a comma, quote or line break. Appending to an existing file checks that its header matches the
/// columns, because silently mixing two layouts in one file corrupts every later analysis. One writer per file,
/// used from one thread.
/// </remarks>
internal sealed class CsvMetricsWriter : IDisposable
{
    private readonly StreamWriter _writer;
    private readonly Dictionary<string, int> _index;
    private readonly string[] _cells;

    /// <summary>Opens <paramref name="path"/> (creating its directory) and writes the header if the file is new.</summary>
    /// <param name="path">The CSV file.</param>
    /// <param name="columns">Column names, in order; unique, non-empty.</param>
    /// <param name="append">Keep existing rows (the header must match); otherwise the file is replaced.</param>
    /// <exception cref="InvalidDataException">Appending to a file whose header differs from <paramref name="columns"/>.</exception>
    public CsvMetricsWriter(string path, IReadOnlyList<string> columns, bool append = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(columns);
        if (columns.Count == 0) throw new ArgumentException("a metrics file needs at least one column.", nameof(columns));
        _index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < columns.Count; i++)
        {
            if (string.IsNullOrEmpty(columns[i])) throw new ArgumentException($"column {i} has an empty name.", nameof(columns));
            if (!_index.TryAdd(columns[i], i)) throw new ArgumentException($"column '{columns[i]}' appears twice.", nameof(columns));
        }
        Columns = [.. columns];
        Path = System.IO.Path.GetFullPath(path);
        _cells = new string[columns.Count];
        string header = string.Join(',', Columns.Select(Quote));

        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
        bool hasContent = append && File.Exists(Path) && new FileInfo(Path).Length > 0;
        if (hasContent)
        {
            string? existing;
            using (var reader = new StreamReader(Path)) existing = reader.ReadLine();
            if (existing?.TrimStart('\uFEFF') != header)
                throw new InvalidDataException(
                    $"{Path}: existing header '{existing}' differs from the columns '{header}'; write to a new file instead.");
        }
        var stream = new FileStream(Path, append ? FileMode.Append : FileMode.Create, FileAccess.Write, FileShare.Read);
        _writer = new StreamWriter(stream, new UTF8Encoding(false)) { NewLine = "\n" };
        if (hasContent && LastByte(Path) != (byte)'\n')
            _writer.Write('\n'); // a row cut short by a crash must not swallow the next one
        if (!hasContent)
        {
            _writer.WriteLine(header);
            _writer.Flush();
        }
    }

    /// <summary>The full path of the file.</summary>
    public string Path { get; }

    /// <summary>The column names, in file order.</summary>
    public IReadOnlyList<string> Columns { get; }

    /// <summary>Rows written by this writer (not counting rows already in an appended file).</summary>
    public int RowsWritten { get; private set; }

    /// <summary>Writes one row, values in column order, and flushes it to the operating system.</summary>
    /// <exception cref="ArgumentException">The number of values differs from the number of columns.</exception>
    public void WriteRow(params ReadOnlySpan<object?> values)
    {
        if (values.Length != Columns.Count)
            throw new ArgumentException($"{values.Length} values for {Columns.Count} columns ({string.Join(", ", Columns)}).", nameof(values));
        for (int i = 0; i < values.Length; i++) _cells[i] = FormatCell(values[i]);
        Emit();
    }

    /// <summary>Writes one row by column name; columns not mentioned are left empty.</summary>
    /// <exception cref="ArgumentException">A name is not one of the columns (a typo would otherwise lose the value).</exception>
    public void WriteNamedRow(IReadOnlyDictionary<string, object?> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        Array.Fill(_cells, "");
        foreach (var (name, value) in values)
        {
            if (!_index.TryGetValue(name, out int i))
                throw new ArgumentException($"'{name}' is not a column; the columns are {string.Join(", ", Columns)}.", nameof(values));
            _cells[i] = FormatCell(value);
        }
        Emit();
    }

    /// <summary>Closes the file.</summary>
    public void Dispose() => _writer.Dispose();

    /// <summary>The cell text for one value, by the rules in the class remarks.</summary>
    public static string FormatCell(object? value) => value switch
    {
        null => "",
        double d => double.IsNaN(d) ? "" : d.ToString("R", CultureInfo.InvariantCulture),
        float f => float.IsNaN(f) ? "" : f.ToString("R", CultureInfo.InvariantCulture),
        bool b => b ? "true" : "false",
        string s => Quote(s),
        IFormattable x => Quote(x.ToString(null, CultureInfo.InvariantCulture)),
        _ => Quote(value.ToString() ?? ""),
    };

    private void Emit()
    {
        ObjectDisposedException.ThrowIf(!_writer.BaseStream.CanWrite, this);
        for (int i = 0; i < _cells.Length; i++)
        {
            if (i > 0) _writer.Write(',');
            _writer.Write(_cells[i]);
        }
        _writer.WriteLine();
        _writer.Flush();
        RowsWritten++;
    }

    private static int LastByte(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        stream.Seek(-1, SeekOrigin.End);
        return stream.ReadByte();
    }

    private static string Quote(string s) =>
        s.AsSpan().IndexOfAny(",\"\r\n") < 0 ? s : "\"" + s.Replace("\"", "\"\"") + "\"";
}

/// <summary>
/// Writes a run's JSON summary: indented, camelCase property names (dictionary keys kept as given), and
/// non-finite floating-point values written as <c>null</c>, since JSON has no NaN or ∞ and a diverged run must
/// still produce a readable summary. The file is replaced atomically.
/// </summary>
internal static class JsonSummary
{
    /// <summary>The serializer options used; read-only, shared.</summary>
    public static JsonSerializerOptions Options { get; } = CreateOptions();

    /// <summary>Serializes <paramref name="value"/> (an object, record, anonymous type or dictionary) to JSON text.</summary>
    public static string Serialize<T>(T value) => JsonSerializer.Serialize(value, Options);

    /// <summary>Writes <paramref name="value"/> as JSON to <paramref name="path"/> atomically, with a final newline.</summary>
    public static void Write<T>(string path, T value) => AtomicFile.WriteAllText(path, Serialize(value) + "\n");

    private static JsonSerializerOptions CreateOptions()
    {
        var options = new JsonSerializerOptions
        {
            WriteIndented = true,
            PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
            // Keeps "<", ">", "&" and non-ASCII names readable in the file; the output is never embedded in HTML.
            Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
            Converters = { new FiniteDoubleOrNull(), new FiniteSingleOrNull() },
        };
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }

    // Registered for double and float, they also apply to double?, arrays, dictionary values and object-typed
    // members that hold a double at run time. Reading null back gives NaN, the inverse of writing.
    private sealed class FiniteDoubleOrNull : JsonConverter<double>
    {
        public override bool HandleNull => true;

        public override double Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            reader.TokenType == JsonTokenType.Null ? double.NaN : reader.GetDouble();

        public override void Write(Utf8JsonWriter writer, double value, JsonSerializerOptions options)
        {
            if (double.IsFinite(value)) writer.WriteNumberValue(value);
            else writer.WriteNullValue();
        }
    }

    private sealed class FiniteSingleOrNull : JsonConverter<float>
    {
        public override bool HandleNull => true;

        public override float Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            reader.TokenType == JsonTokenType.Null ? float.NaN : reader.GetSingle();

        public override void Write(Utf8JsonWriter writer, float value, JsonSerializerOptions options)
        {
            if (float.IsFinite(value)) writer.WriteNumberValue(value);
            else writer.WriteNullValue();
        }
    }
}
