using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Tbptt.Checkpoints;

/// <summary>The safetensors dtype names this library reads and writes, and their element sizes.</summary>
public static class SafetensorsDType
{
    /// <summary>64-bit IEEE float.</summary>
    public const string F64 = "F64";
    /// <summary>32-bit IEEE float.</summary>
    public const string F32 = "F32";
    /// <summary>16-bit IEEE float.</summary>
    public const string F16 = "F16";
    /// <summary>bfloat16.</summary>
    public const string BF16 = "BF16";
    /// <summary>64-bit signed integer.</summary>
    public const string I64 = "I64";
    /// <summary>32-bit signed integer.</summary>
    public const string I32 = "I32";
    /// <summary>16-bit signed integer.</summary>
    public const string I16 = "I16";
    /// <summary>8-bit signed integer.</summary>
    public const string I8 = "I8";
    /// <summary>64-bit unsigned integer.</summary>
    public const string U64 = "U64";
    /// <summary>32-bit unsigned integer.</summary>
    public const string U32 = "U32";
    /// <summary>16-bit unsigned integer.</summary>
    public const string U16 = "U16";
    /// <summary>8-bit unsigned integer.</summary>
    public const string U8 = "U8";
    /// <summary>Boolean, one byte.</summary>
    public const string Bool = "BOOL";

    private static readonly Dictionary<string, int> Sizes = new(StringComparer.Ordinal)
    {
        [F64] = 8, [F32] = 4, [F16] = 2, [BF16] = 2,
        [I64] = 8, [I32] = 4, [I16] = 2, [I8] = 1,
        [U64] = 8, [U32] = 4, [U16] = 2, [U8] = 1, [Bool] = 1,
    };

    /// <summary>Every supported dtype name, largest element first.</summary>
    public static IReadOnlyList<string> All { get; } = [F64, I64, U64, F32, I32, U32, F16, BF16, I16, U16, I8, U8, Bool];

    /// <summary>Whether <paramref name="dtype"/> is a supported dtype name (case-sensitive, as in the format).</summary>
    public static bool IsKnown(string dtype) => Sizes.ContainsKey(dtype);

    /// <summary>Bytes per element of <paramref name="dtype"/>.</summary>
    /// <exception cref="ArgumentException">The dtype is not supported.</exception>
    public static int SizeOf(string dtype) => Sizes.TryGetValue(dtype, out int size)
        ? size
        : throw new ArgumentException($"Unknown safetensors dtype '{dtype}'; supported: {string.Join(", ", All)}.", nameof(dtype));
}

/// <summary>
/// One named tensor of a safetensors file: a dtype, a row-major shape (empty for a scalar) and the raw
/// little-endian bytes. Immutable: constructors and factories copy their inputs.
/// </summary>
public sealed class SafetensorsTensor
{
    private readonly int[] _shape;
    private readonly byte[] _data;

    /// <summary>Creates a tensor from raw little-endian bytes (copied).</summary>
    /// <exception cref="ArgumentException">Empty name, unknown dtype, negative dimension, or a byte count that is
    /// not shape × element size.</exception>
    public SafetensorsTensor(string name, string dtype, ReadOnlySpan<int> shape, ReadOnlySpan<byte> data)
        : this(name, dtype, shape.ToArray(), data.ToArray())
    {
    }

    // Takes ownership of the arrays (the overload chosen for exact array arguments inside this class).
    private SafetensorsTensor(string name, string dtype, int[] shape, byte[] data)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(dtype);
        if (name == Safetensors.MetadataKey)
            throw new ArgumentException($"'{Safetensors.MetadataKey}' is reserved and cannot name a tensor.", nameof(name));
        int size = SafetensorsDType.SizeOf(dtype);
        long count = CountElements(shape, name);
        if (count * size != data.Length)
            throw new ArgumentException(
                $"Tensor '{name}': shape {FormatShape(shape)} of {dtype} needs {count * size} bytes, got {data.Length}.",
                nameof(data));
        Name = name;
        DType = dtype;
        _shape = shape;
        _data = data;
        ElementCount = count;
        Shape = Array.AsReadOnly(_shape);
    }

    /// <summary>The tensor's name, e.g. <c>rnn.weight_ih_l0</c>.</summary>
    public string Name { get; }

    /// <summary>The dtype name, one of <see cref="SafetensorsDType"/>.</summary>
    public string DType { get; }

    /// <summary>Row-major dimensions; empty for a scalar.</summary>
    public IReadOnlyList<int> Shape { get; }

    /// <summary>Product of the dimensions (1 for a scalar, 0 when any dimension is 0).</summary>
    public long ElementCount { get; }

    /// <summary>The raw little-endian bytes.</summary>
    public ReadOnlySpan<byte> Data => _data;

    /// <summary>The shape as text, e.g. <c>[28, 5]</c>.</summary>
    public string ShapeText => FormatShape(_shape);

    /// <summary>Whether the shape equals <paramref name="shape"/> exactly.</summary>
    public bool HasShape(ReadOnlySpan<int> shape) => shape.SequenceEqual(_shape);

    /// <summary>A copy of the shape.</summary>
    public int[] ShapeArray() => (int[])_shape.Clone();

    /// <summary>An F32 tensor holding <paramref name="values"/>.</summary>
    public static SafetensorsTensor FromFloat32(string name, ReadOnlySpan<int> shape, ReadOnlySpan<float> values)
        => new(name, SafetensorsDType.F32, CheckedShape(name, shape, values.Length), ToLittleEndian(values));

    /// <summary>An F64 tensor holding <paramref name="values"/>.</summary>
    public static SafetensorsTensor FromFloat64(string name, ReadOnlySpan<int> shape, ReadOnlySpan<double> values)
        => new(name, SafetensorsDType.F64, CheckedShape(name, shape, values.Length), ToLittleEndian(values));

    /// <summary>An I64 tensor holding <paramref name="values"/>.</summary>
    public static SafetensorsTensor FromInt64(string name, ReadOnlySpan<int> shape, ReadOnlySpan<long> values)
        => new(name, SafetensorsDType.I64, CheckedShape(name, shape, values.Length), ToLittleEndian(values));

    /// <summary>An I32 tensor holding <paramref name="values"/>.</summary>
    public static SafetensorsTensor FromInt32(string name, ReadOnlySpan<int> shape, ReadOnlySpan<int> values)
        => new(name, SafetensorsDType.I32, CheckedShape(name, shape, values.Length), ToLittleEndian(values));

    /// <summary>The values as float32, converting from F32, F64 (rounded), F16 or BF16.</summary>
    /// <exception cref="InvalidOperationException">The dtype is not a floating-point one.</exception>
    public float[] ToFloat32()
    {
        var result = new float[ElementCount];
        switch (DType)
        {
            case SafetensorsDType.F32: FromLittleEndian(_data, result); break;
            case SafetensorsDType.F64:
                for (int i = 0; i < result.Length; i++)
                    result[i] = (float)BinaryPrimitives.ReadDoubleLittleEndian(_data.AsSpan(8 * i));
                break;
            case SafetensorsDType.F16:
                for (int i = 0; i < result.Length; i++)
                    result[i] = (float)BinaryPrimitives.ReadHalfLittleEndian(_data.AsSpan(2 * i));
                break;
            case SafetensorsDType.BF16:
                for (int i = 0; i < result.Length; i++)
                    result[i] = BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(_data.AsSpan(2 * i)) << 16);
                break;
            default: throw NotConvertible("float32");
        }
        return result;
    }

    /// <summary>The values as float64, converting exactly from F64, F32, F16 or BF16.</summary>
    /// <exception cref="InvalidOperationException">The dtype is not a floating-point one.</exception>
    public double[] ToFloat64()
    {
        if (DType == SafetensorsDType.F64)
        {
            var result = new double[ElementCount];
            FromLittleEndian(_data, result);
            return result;
        }
        if (DType is SafetensorsDType.F32 or SafetensorsDType.F16 or SafetensorsDType.BF16)
            return Array.ConvertAll(ToFloat32(), x => (double)x);
        throw NotConvertible("float64");
    }

    /// <summary>The values as int64, converting from any integer dtype (U64 checked for overflow).</summary>
    /// <exception cref="InvalidOperationException">The dtype is not an integer one.</exception>
    /// <exception cref="OverflowException">A U64 value exceeds <see cref="long.MaxValue"/>.</exception>
    public long[] ToInt64()
    {
        var result = new long[ElementCount];
        ReadOnlySpan<byte> d = _data;
        for (int i = 0; i < result.Length; i++)
        {
            result[i] = DType switch
            {
                SafetensorsDType.I64 => BinaryPrimitives.ReadInt64LittleEndian(d[(8 * i)..]),
                SafetensorsDType.U64 => checked((long)BinaryPrimitives.ReadUInt64LittleEndian(d[(8 * i)..])),
                SafetensorsDType.I32 => BinaryPrimitives.ReadInt32LittleEndian(d[(4 * i)..]),
                SafetensorsDType.U32 => BinaryPrimitives.ReadUInt32LittleEndian(d[(4 * i)..]),
                SafetensorsDType.I16 => BinaryPrimitives.ReadInt16LittleEndian(d[(2 * i)..]),
                SafetensorsDType.U16 => BinaryPrimitives.ReadUInt16LittleEndian(d[(2 * i)..]),
                SafetensorsDType.I8 => (sbyte)d[i],
                SafetensorsDType.U8 or SafetensorsDType.Bool => d[i],
                _ => throw NotConvertible("int64"),
            };
        }
        return result;
    }

    /// <summary>The values as int32, converting from any integer dtype (checked for overflow).</summary>
    /// <exception cref="InvalidOperationException">The dtype is not an integer one.</exception>
    /// <exception cref="OverflowException">A value does not fit in an int32.</exception>
    public int[] ToInt32()
    {
        long[] wide = ToInt64();
        var result = new int[wide.Length];
        for (int i = 0; i < wide.Length; i++)
        {
            if (wide[i] is < int.MinValue or > int.MaxValue)
                throw new OverflowException($"Tensor '{Name}': element {i} = {wide[i]} does not fit in an int32.");
            result[i] = (int)wide[i];
        }
        return result;
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Name}: {DType} {ShapeText}";

    internal static SafetensorsTensor FromOwned(string name, string dtype, int[] shape, byte[] data)
        => new(name, dtype, shape, data);

    internal byte[] RawData => _data;

    internal static string FormatShape(ReadOnlySpan<int> shape) => "[" + string.Join(", ", shape.ToArray()) + "]";

    private static long CountElements(ReadOnlySpan<int> shape, string name)
    {
        long count = 1;
        foreach (int d in shape)
        {
            if (d < 0)
                throw new ArgumentException($"Tensor '{name}': shape {FormatShape(shape)} has a negative dimension.", nameof(shape));
            count = d == 0 ? 0 : checked(count * d);
        }
        if (count > Array.MaxLength)
            throw new ArgumentException($"Tensor '{name}': shape {FormatShape(shape)} has too many elements.", nameof(shape));
        return count;
    }

    private static int[] CheckedShape(string name, ReadOnlySpan<int> shape, int valueCount)
    {
        long count = CountElements(shape, name);
        if (count != valueCount)
            throw new ArgumentException(
                $"Tensor '{name}': shape {FormatShape(shape)} holds {count} elements, got {valueCount} values.", nameof(shape));
        return shape.ToArray();
    }

    private InvalidOperationException NotConvertible(string target)
        => new($"Tensor '{Name}' has dtype {DType}, which does not convert to {target}.");

    private static byte[] ToLittleEndian<T>(ReadOnlySpan<T> values) where T : unmanaged
    {
        byte[] bytes = MemoryMarshal.AsBytes(values).ToArray();
        if (!BitConverter.IsLittleEndian)
            ReverseEach(bytes, System.Runtime.CompilerServices.Unsafe.SizeOf<T>());
        return bytes;
    }

    private static void FromLittleEndian<T>(byte[] bytes, T[] destination) where T : unmanaged
    {
        Span<byte> target = MemoryMarshal.AsBytes(destination.AsSpan());
        bytes.AsSpan(0, target.Length).CopyTo(target);
        if (!BitConverter.IsLittleEndian)
            ReverseEach(target, System.Runtime.CompilerServices.Unsafe.SizeOf<T>());
    }

    private static void ReverseEach(Span<byte> bytes, int size)
    {
        for (int i = 0; i + size <= bytes.Length; i += size)
            bytes.Slice(i, size).Reverse();
    }
}
