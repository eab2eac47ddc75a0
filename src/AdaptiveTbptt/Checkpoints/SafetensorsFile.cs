using System.Diagnostics.CodeAnalysis;

namespace Tbptt.Checkpoints;

/// <summary>
/// The content of a safetensors file as <see cref="Safetensors.Read(string)"/> returns it: the <c>__metadata__</c> strings
/// and the tensors in file order (by data offset). Lookups that fail throw <see cref="InvalidDataException"/>
/// naming the file and what is missing, so a command-line tool can print the message as its one error line.
/// </summary>
public sealed class SafetensorsFile
{
    private readonly Dictionary<string, SafetensorsTensor> _byName;

    internal SafetensorsFile(string path, IReadOnlyDictionary<string, string> metadata, IReadOnlyList<SafetensorsTensor> tensors)
    {
        Path = path;
        Metadata = metadata;
        Tensors = tensors;
        _byName = tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
    }

    /// <summary>The path the file was read from, as given.</summary>
    public string Path { get; }

    /// <summary>The <c>__metadata__</c> entries (empty when the file has none).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>The tensors in file order.</summary>
    public IReadOnlyList<SafetensorsTensor> Tensors { get; }

    /// <summary>Whether a tensor named <paramref name="name"/> exists.</summary>
    public bool Contains(string name) => _byName.ContainsKey(name);

    /// <summary>Looks up a tensor without throwing.</summary>
    public bool TryGet(string name, [NotNullWhen(true)] out SafetensorsTensor? tensor) => _byName.TryGetValue(name, out tensor);

    /// <summary>The tensor named <paramref name="name"/>.</summary>
    /// <exception cref="InvalidDataException">No such tensor; the message names it and the file.</exception>
    public SafetensorsTensor Get(string name)
    {
        if (_byName.TryGetValue(name, out var tensor))
            return tensor;
        const int shown = 8;
        string listed = string.Join(", ", Tensors.Take(shown).Select(t => Safetensors.Quote(t.Name)))
            + (Tensors.Count > shown ? $", … ({Tensors.Count - shown} more)" : "");
        throw new InvalidDataException(
            $"{Path}: no tensor named {Safetensors.Quote(name)} "
            + (Tensors.Count == 0 ? "(the file holds no tensors)" : $"(the file holds {Tensors.Count}: {listed})"));
    }

    /// <summary>The tensor named <paramref name="name"/>, which must have exactly <paramref name="expectedShape"/>.</summary>
    /// <exception cref="InvalidDataException">No such tensor, or its shape differs; the message names the file,
    /// the tensor and both shapes.</exception>
    public SafetensorsTensor Get(string name, ReadOnlySpan<int> expectedShape)
    {
        var tensor = Get(name);
        if (!tensor.HasShape(expectedShape))
            throw new InvalidDataException(
                $"{Path}: tensor {Safetensors.Quote(name)} has shape {tensor.ShapeText}, expected {SafetensorsTensor.FormatShape(expectedShape)}");
        return tensor;
    }

    /// <summary>The values of tensor <paramref name="name"/> as float32, checking its shape.</summary>
    /// <exception cref="InvalidDataException">Missing tensor, wrong shape, or a non-floating-point dtype.</exception>
    public float[] GetFloat32(string name, ReadOnlySpan<int> expectedShape)
    {
        var tensor = Get(name, expectedShape);
        if (tensor.DType is not (SafetensorsDType.F32 or SafetensorsDType.F64 or SafetensorsDType.F16 or SafetensorsDType.BF16))
            throw new InvalidDataException($"{Path}: tensor {Safetensors.Quote(name)} has dtype {tensor.DType}, expected a floating-point one");
        return tensor.ToFloat32();
    }

    /// <summary>The metadata value for <paramref name="key"/>.</summary>
    /// <exception cref="InvalidDataException">The key is absent; the message names it and the file.</exception>
    public string GetMetadata(string key) => Metadata.TryGetValue(key, out var value)
        ? value
        : throw new InvalidDataException(
            $"{Path}: {Safetensors.MetadataKey} has no {Safetensors.Quote(key)}"
            + (Metadata.Count == 0 ? " (it is empty)" : $" (it has {string.Join(", ", Metadata.Keys.Order(StringComparer.Ordinal).Select(Safetensors.Quote))})"));

    /// <summary>Looks up a metadata value without throwing.</summary>
    public bool TryGetMetadata(string key, [NotNullWhen(true)] out string? value) => Metadata.TryGetValue(key, out value);
}
