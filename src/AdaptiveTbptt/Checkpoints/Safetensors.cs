using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.Win32.SafeHandles;

namespace Tbptt.Checkpoints;

/// <summary>
/// Reads and writes the safetensors format, the checkpoint format of this library and of Hugging Face/PyTorch.
/// </summary>
/// <remarks>
/// Layout: an 8-byte little-endian unsigned header length N; N bytes of UTF-8 JSON
/// <c>{"__metadata__": {"key": "value", …}, "name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, …}</c>
/// (metadata values are strings; offsets are relative to the data section); then the raw little-endian data.
/// <para>Writing: the header is compact JSON, <c>__metadata__</c> first (keys sorted), then the tensors ordered by
/// element size (largest first) and, within a size, by name in code-point order, their data contiguous in that
/// order. With the header padded with spaces to a multiple of 8 bytes, as the reference implementation does,
/// every tensor starts at an offset aligned to its element size. A file whose tensors share one dtype is simply
/// sorted by name. Writes are atomic (<see cref="AtomicFile"/>).</para>
/// <para>Reading accepts a padded or unpadded header and validates everything: any malformed input raises an
/// <see cref="InvalidDataException"/> whose single-line message starts with the path and says what is wrong.</para>
/// </remarks>
public static class Safetensors
{
    /// <summary>The reserved header key holding the string-to-string metadata.</summary>
    public const string MetadataKey = "__metadata__";

    /// <summary>Largest header accepted when reading, as in the reference implementation.</summary>
    public const long MaxHeaderLength = 100_000_000;

    private static readonly JsonWriterOptions WriterOptions = new()
    {
        // Escapes only what JSON requires (quotes, backslash, control characters): a vocabulary stays readable.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>Writes <paramref name="tensors"/> and <paramref name="metadata"/> to <paramref name="path"/> atomically.</summary>
    /// <exception cref="ArgumentException">Two tensors share a name, or a metadata key or value is null.</exception>
    public static void Write(string path, IEnumerable<SafetensorsTensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var (header, ordered) = Prepare(tensors, metadata);
        AtomicFile.Write(path, stream => WriteBody(stream, header, ordered));
    }

    /// <summary>Writes <paramref name="tensors"/> and <paramref name="metadata"/> to <paramref name="stream"/>.</summary>
    /// <exception cref="ArgumentException">Two tensors share a name, or a metadata key or value is null.</exception>
    public static void Write(Stream stream, IEnumerable<SafetensorsTensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var (header, ordered) = Prepare(tensors, metadata);
        WriteBody(stream, header, ordered);
    }

    /// <summary>Reads and validates the safetensors file at <paramref name="path"/>.</summary>
    /// <exception cref="FileNotFoundException">No file at <paramref name="path"/>.</exception>
    /// <exception cref="InvalidDataException">The file is not a valid safetensors file; the message says why.</exception>
    public static SafetensorsFile Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
            throw new FileNotFoundException($"Safetensors file not found: {path}", path);
        using SafeFileHandle handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        return ReadCore(path, RandomAccess.GetLength(handle), (destination, offset) => ReadExactly(handle, destination, offset, path));
    }

    /// <summary>Reads and validates safetensors content held in memory, exactly as <see cref="Read(string)"/> reads
    /// a file; <paramref name="name"/> stands for the path in messages.</summary>
    /// <exception cref="InvalidDataException">The content is not valid safetensors; the message says why.</exception>
    public static SafetensorsFile Read(byte[] content, string name)
    {
        ArgumentNullException.ThrowIfNull(content);
        ArgumentException.ThrowIfNullOrEmpty(name);
        return ReadCore(name, content.Length, (destination, offset) => content.AsSpan((int)offset, destination.Length).CopyTo(destination));
    }

    private delegate void ReadAt(Span<byte> destination, long offset);

    /// <summary>The whole reader over any source of <paramref name="length"/> bytes: nothing is allocated before the
    /// size that asks for it has been checked against the length.</summary>
    private static SafetensorsFile ReadCore(string path, long length, ReadAt read)
    {
        if (length < 8)
            throw Invalid(path, $"too short: {length} bytes, but the file must start with an 8-byte header length");

        Span<byte> prefix = stackalloc byte[8];
        read(prefix, 0);
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (headerLength > (ulong)(length - 8))
            throw Invalid(path, $"header length {headerLength} is larger than the rest of the file ({length - 8} bytes)");
        if (headerLength > MaxHeaderLength)
            throw Invalid(path, $"header length {headerLength} exceeds the limit of {MaxHeaderLength} bytes");

        var header = new byte[headerLength];
        read(header, 8);
        long dataStart = 8 + (long)headerLength;
        var (metadata, entries) = ParseHeader(path, header, length - dataStart);

        var tensors = new List<SafetensorsTensor>(entries.Count);
        foreach (var e in entries)
        {
            var data = new byte[e.End - e.Begin];
            read(data, dataStart + e.Begin);
            tensors.Add(SafetensorsTensor.FromOwned(e.Name, e.DType, e.Shape, data));
        }
        return new SafetensorsFile(path, metadata, tensors);
    }

    /// <summary>A name quoted for an error message, control characters escaped so that it stays on one line.</summary>
    internal static string Quote(string name)
    {
        var sb = new StringBuilder(name.Length + 2).Append('\'');
        foreach (char c in name)
        {
            if (char.IsControl(c))
                sb.Append($"\\u{(int)c:x4}");
            else
                sb.Append(c);
        }
        return sb.Append('\'').ToString();
    }

    // ---- writing ------------------------------------------------------------------------------------------------

    private static (byte[] Header, List<SafetensorsTensor> Ordered) Prepare(
        IEnumerable<SafetensorsTensor> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        var list = tensors.ToList();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var t in list)
        {
            if (t is null)
                throw new ArgumentException("The tensor list contains null.", nameof(tensors));
            if (!names.Add(t.Name))
                throw new ArgumentException($"Two tensors are named {Quote(t.Name)}.", nameof(tensors));
        }
        var ordered = list
            .OrderByDescending(t => SafetensorsDType.SizeOf(t.DType))
            .ThenBy(t => t.Name, CodePointComparer.Instance)
            .ToList();

        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer, WriterOptions))
        {
            w.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                w.WriteStartObject(MetadataKey);
                foreach (var (key, value) in metadata.OrderBy(kv => kv.Key, CodePointComparer.Instance))
                {
                    if (key is null || value is null)
                        throw new ArgumentException($"Metadata entry {Quote(key ?? "(null)")} has a null key or value.", nameof(metadata));
                    w.WriteString(key, value);
                }
                w.WriteEndObject();
            }
            long offset = 0;
            foreach (var t in ordered)
            {
                w.WriteStartObject(t.Name);
                w.WriteString("dtype", t.DType);
                w.WriteStartArray("shape");
                foreach (int d in t.Shape)
                    w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(offset);
                offset += t.RawData.Length;
                w.WriteNumberValue(offset);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        int padding = (8 - buffer.WrittenCount % 8) % 8;
        var header = new byte[buffer.WrittenCount + padding];
        buffer.WrittenSpan.CopyTo(header);
        header.AsSpan(buffer.WrittenCount).Fill((byte)' ');
        return (header, ordered);
    }

    private static void WriteBody(Stream stream, byte[] header, List<SafetensorsTensor> ordered)
    {
        Span<byte> prefix = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)header.Length);
        stream.Write(prefix);
        stream.Write(header);
        foreach (var t in ordered)
            stream.Write(t.RawData);
    }

    // ---- reading ------------------------------------------------------------------------------------------------

    private readonly record struct Entry(string Name, string DType, int[] Shape, long Begin, long End);

    private static (IReadOnlyDictionary<string, string> Metadata, List<Entry> Entries) ParseHeader(
        string path, byte[] header, long dataLength)
    {
        if (!System.Text.Unicode.Utf8.IsValid(header))
            throw Invalid(path, "the header is not valid UTF-8");
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(header, new JsonDocumentOptions { MaxDepth = 16 });
        }
        catch (JsonException ex)
        {
            throw Invalid(path, $"the header is not valid JSON ({OneLine(ex.Message)})");
        }
        using (document)
        {
            try
            {
                return ParseRoot(path, document.RootElement, dataLength);
            }
            catch (InvalidOperationException)
            {
                // System.Text.Json refuses to decode an escaped lone surrogate ("\ud800") into a string.
                throw Invalid(path, "a header string holds an unpaired surrogate escape such as \\ud800, which is not Unicode text");
            }
        }
    }

    private static (IReadOnlyDictionary<string, string> Metadata, List<Entry> Entries) ParseRoot(
        string path, JsonElement root, long dataLength)
    {
        if (root.ValueKind != JsonValueKind.Object)
            throw Invalid(path, $"the header is a JSON {Kind(root)}, expected an object");
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        var entries = new List<Entry>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var property in root.EnumerateObject())
        {
            if (!seen.Add(property.Name))
                throw Invalid(path, $"{Quote(property.Name)} appears twice in the header");
            if (property.Name == MetadataKey)
                ReadMetadata(path, property.Value, metadata);
            else
                entries.Add(ReadEntry(path, property.Name, property.Value, dataLength));
        }
        entries.Sort((a, b) => a.Begin != b.Begin ? a.Begin.CompareTo(b.Begin)
            : a.End != b.End ? a.End.CompareTo(b.End) : string.CompareOrdinal(a.Name, b.Name));
        Entry? previous = null;
        foreach (var e in entries)
        {
            if (e.Begin == e.End)
                continue; // an empty tensor occupies no bytes
            if (previous is { } p && e.Begin < p.End)
                throw Invalid(path, $"tensors {Quote(p.Name)} [{p.Begin}, {p.End}] and {Quote(e.Name)} [{e.Begin}, {e.End}] overlap");
            previous = e;
        }
        return (metadata, entries);
    }

    private static void ReadMetadata(string path, JsonElement value, Dictionary<string, string> metadata)
    {
        if (value.ValueKind == JsonValueKind.Null)
            return;
        if (value.ValueKind != JsonValueKind.Object)
            throw Invalid(path, $"{MetadataKey} is a JSON {Kind(value)}, expected an object of strings");
        foreach (var entry in value.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.String)
                throw Invalid(path, $"{MetadataKey} value of {Quote(entry.Name)} is a JSON {Kind(entry.Value)}, expected a string");
            if (!metadata.TryAdd(entry.Name, entry.Value.GetString()!))
                throw Invalid(path, $"{MetadataKey} has {Quote(entry.Name)} twice");
        }
    }

    private static Entry ReadEntry(string path, string name, JsonElement value, long dataLength)
    {
        string what = $"tensor {Quote(name)}";
        if (value.ValueKind != JsonValueKind.Object)
            throw Invalid(path, $"{what} is a JSON {Kind(value)}, expected an object with dtype, shape and data_offsets");

        if (!value.TryGetProperty("dtype", out var dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String)
            throw Invalid(path, $"{what} has no \"dtype\" string");
        string dtype = dtypeElement.GetString()!;
        if (!SafetensorsDType.IsKnown(dtype))
            throw Invalid(path, $"{what} has unknown dtype {Quote(dtype)} (supported: {string.Join(", ", SafetensorsDType.All)})");

        if (!value.TryGetProperty("shape", out var shapeElement) || shapeElement.ValueKind != JsonValueKind.Array)
            throw Invalid(path, $"{what} has no \"shape\" array");
        var dims = new List<long>();
        foreach (var d in shapeElement.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt64(out long dim))
                throw Invalid(path, $"{what} has shape {OneLine(shapeElement.GetRawText())}, which is not an array of integers");
            dims.Add(dim);
        }
        string shapeText = "[" + string.Join(", ", dims) + "]";
        if (dims.Any(d => d < 0))
            throw Invalid(path, $"{what} has a negative dimension in shape {shapeText}");
        if (dims.Any(d => d > int.MaxValue))
            throw Invalid(path, $"{what} has a dimension larger than {int.MaxValue} in shape {shapeText}");

        if (!value.TryGetProperty("data_offsets", out var offsetsElement) || offsetsElement.ValueKind != JsonValueKind.Array
            || offsetsElement.GetArrayLength() != 2
            || !TryGetInteger(offsetsElement[0], out long begin) || !TryGetInteger(offsetsElement[1], out long end))
            throw Invalid(path, $"{what} has no \"data_offsets\" pair of integers");
        if (begin < 0 || end < 0)
            throw Invalid(path, $"{what} has negative data_offsets [{begin}, {end}]");
        if (begin > end)
            throw Invalid(path, $"{what} has data_offsets [{begin}, {end}] that end before they begin");
        if (end > dataLength)
            throw Invalid(path, $"{what} has data_offsets [{begin}, {end}] beyond the end of the data section ({dataLength} bytes)");

        Int128 needed = SafetensorsDType.SizeOf(dtype);
        foreach (long d in dims)
            needed = Int128.Min(needed * d, Int128.MaxValue / int.MaxValue); // saturate: a huge shape just mismatches
        if (needed != end - begin)
            throw Invalid(path, $"{what} has data_offsets [{begin}, {end}] spanning {end - begin} bytes, "
                + $"but shape {shapeText} of {dtype} needs {needed} bytes");
        if (end - begin > Array.MaxLength)
            throw Invalid(path, $"{what} has {end - begin} bytes, more than one array can hold");
        return new Entry(name, dtype, dims.Select(d => (int)d).ToArray(), begin, end);
    }

    private static bool TryGetInteger(JsonElement element, out long value)
    {
        value = 0;
        return element.ValueKind == JsonValueKind.Number && element.TryGetInt64(out value);
    }

    private static void ReadExactly(SafeFileHandle handle, Span<byte> destination, long offset, string path)
    {
        while (!destination.IsEmpty)
        {
            int read = RandomAccess.Read(handle, destination, offset);
            if (read == 0)
                throw Invalid(path, $"the file ended at byte {offset} while {destination.Length} more bytes were expected");
            destination = destination[read..];
            offset += read;
        }
    }

    private static InvalidDataException Invalid(string path, string detail)
        => new($"{path}: not a valid safetensors file: {detail}");

    private static string Kind(JsonElement element) => element.ValueKind.ToString().ToLowerInvariant();

    private static string OneLine(string text) => string.Join(' ', text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries));

    /// <summary>Orders strings by Unicode code point, as Python's <c>sorted</c> and Rust's <c>str</c> ordering do.</summary>
    private sealed class CodePointComparer : IComparer<string>
    {
        public static readonly CodePointComparer Instance = new();

        public int Compare(string? x, string? y)
        {
            if (ReferenceEquals(x, y))
                return 0;
            if (x is null)
                return -1;
            if (y is null)
                return 1;
            var a = x.EnumerateRunes();
            var b = y.EnumerateRunes();
            while (true)
            {
                bool hasA = a.MoveNext(), hasB = b.MoveNext();
                if (!hasA || !hasB)
                    return hasA.CompareTo(hasB);
                int c = a.Current.Value.CompareTo(b.Current.Value);
                if (c != 0)
                    return c;
            }
        }
    }
}
