using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Text;
using Tbptt.Checkpoints;

namespace Tbptt.Tests;

/// <summary>The safetensors reader/writer and atomic file writes, including the PyTorch-written fixtures.</summary>
public sealed class SafetensorsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tbptt-safetensors-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string PathOf(string name) => Path.Combine(_dir, name);

    private static SafetensorsFile RoundTrip(string path, IEnumerable<SafetensorsTensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        Safetensors.Write(path, tensors, metadata);
        return Safetensors.Read(path);
    }

    // ---- round trips --------------------------------------------------------------------------------------------

    [Fact]
    public void Float32_round_trips_with_metadata()
    {
        float[] values = [1.5f, -2.25f, float.MaxValue, float.Epsilon, -0f, float.NaN];
        var metadata = new Dictionary<string, string> { ["cell"] = "lstm", ["layers"] = "2" };
        var file = RoundTrip(PathOf("f32.safetensors"), [SafetensorsTensor.FromFloat32("w", [2, 3], values)], metadata);

        var t = file.Get("w");
        Assert.Equal(SafetensorsDType.F32, t.DType);
        Assert.Equal([2, 3], t.Shape);
        Assert.Equal(6, t.ElementCount);
        Assert.Equal(values.Select(BitConverter.SingleToInt32Bits), t.ToFloat32().Select(BitConverter.SingleToInt32Bits));
        Assert.Equal(metadata, file.Metadata);
    }

    [Fact]
    public void Float64_round_trips_and_converts_to_float32()
    {
        double[] values = [Math.PI, -1e-300, 1e300, 0.1];
        var t = RoundTrip(PathOf("f64.safetensors"), [SafetensorsTensor.FromFloat64("x", [4], values)]).Get("x");
        Assert.Equal(SafetensorsDType.F64, t.DType);
        Assert.Equal(values, t.ToFloat64());
        Assert.Equal(values.Select(v => (float)v), t.ToFloat32());
    }

    [Fact]
    public void Int64_and_int32_round_trip()
    {
        long[] longs = [long.MinValue, -1, 0, long.MaxValue];
        int[] ints = [int.MinValue, -7, 0, int.MaxValue, 3, 4];
        var file = RoundTrip(PathOf("int.safetensors"),
            [SafetensorsTensor.FromInt64("step", [4], longs), SafetensorsTensor.FromInt32("tokens", [3, 2], ints)]);
        Assert.Equal(longs, file.Get("step").ToInt64());
        Assert.Equal(ints, file.Get("tokens").ToInt32());
        Assert.Equal(ints.Select(i => (long)i), file.Get("tokens").ToInt64());
        Assert.Throws<OverflowException>(() => file.Get("step").ToInt32());
        Assert.Throws<InvalidOperationException>(() => file.Get("step").ToFloat32());
        Assert.Throws<InvalidOperationException>(() => SafetensorsTensor.FromFloat32("f", [1], [1f]).ToInt64());
    }

    public static TheoryData<string> AllDTypes() => new(SafetensorsDType.All);

    [Theory]
    [MemberData(nameof(AllDTypes))]
    public void Every_dtype_round_trips_its_bytes(string dtype)
    {
        int size = SafetensorsDType.SizeOf(dtype);
        byte[] data = Enumerable.Range(0, 3 * size).Select(i => (byte)(i * 37 + 1)).ToArray();
        var t = RoundTrip(PathOf("raw.safetensors"), [new SafetensorsTensor("t", dtype, [3], data)]).Get("t");
        Assert.Equal(dtype, t.DType);
        Assert.Equal(data, t.Data.ToArray());
    }

    [Fact]
    public void Half_precision_types_convert_to_float32()
    {
        byte[] f16 = new byte[4];
        BinaryPrimitives.WriteHalfLittleEndian(f16, (Half)1.5f);
        BinaryPrimitives.WriteHalfLittleEndian(f16.AsSpan(2), (Half)(-0.25f));
        Assert.Equal([1.5f, -0.25f], new SafetensorsTensor("h", SafetensorsDType.F16, [2], f16).ToFloat32());

        byte[] bf16 = new byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(bf16, (ushort)(BitConverter.SingleToUInt32Bits(-3.5f) >> 16));
        Assert.Equal([-3.5], new SafetensorsTensor("b", SafetensorsDType.BF16, [1], bf16).ToFloat64());
    }

    [Fact]
    public void Metadata_strings_survive_any_characters()
    {
        var metadata = new Dictionary<string, string>
        {
            ["vocab"] = "\n \"',.;\\abcé€😀\t",
            ["empty"] = "",
            ["json-looking"] = "{\"a\": [1, 2]}",
        };
        var file = RoundTrip(PathOf("meta.safetensors"), [SafetensorsTensor.FromFloat32("w", [1], [1f])], metadata);
        Assert.Equal(metadata.OrderBy(kv => kv.Key), file.Metadata.OrderBy(kv => kv.Key));
        Assert.Equal("", file.GetMetadata("empty"));
    }

    [Fact]
    public void No_metadata_reads_as_empty()
    {
        var file = RoundTrip(PathOf("nometa.safetensors"), [SafetensorsTensor.FromFloat32("w", [1], [1f])]);
        Assert.Empty(file.Metadata);
        Assert.DoesNotContain("__metadata__", HeaderJson(file.Path));
    }

    [Fact]
    public void Scalar_tensor_has_empty_shape_and_one_element()
    {
        var file = RoundTrip(PathOf("scalar.safetensors"),
            [SafetensorsTensor.FromFloat64("loss", [], [2.5]), SafetensorsTensor.FromInt64("step", [], [42])]);
        Assert.Empty(file.Get("loss").Shape);
        Assert.Equal(1, file.Get("loss").ElementCount);
        Assert.Equal([2.5], file.Get("loss").ToFloat64());
        Assert.Equal([42L], file.Get("step").ToInt64());
        Assert.Contains("\"shape\":[]", HeaderJson(file.Path));
    }

    [Fact]
    public void Empty_tensors_and_empty_files_round_trip()
    {
        var file = RoundTrip(PathOf("empty.safetensors"),
        [
            SafetensorsTensor.FromFloat32("a", [0], []),
            SafetensorsTensor.FromFloat32("b", [3, 0, 2], []),
            SafetensorsTensor.FromFloat32("c", [2], [1f, 2f]),
        ]);
        Assert.Equal(0, file.Get("a").ElementCount);
        Assert.Equal([3, 0, 2], file.Get("b").Shape);
        Assert.Empty(file.Get("b").ToFloat32());
        Assert.Equal([1f, 2f], file.Get("c").ToFloat32());

        var none = RoundTrip(PathOf("none.safetensors"), [], new Dictionary<string, string> { ["k"] = "v" });
        Assert.Empty(none.Tensors);
        Assert.Equal("v", none.GetMetadata("k"));
    }

    [Fact]
    public void Writes_tensors_sorted_by_name_with_a_padded_header_and_contiguous_data()
    {
        string path = PathOf("sorted.safetensors");
        Safetensors.Write(path,
        [
            SafetensorsTensor.FromFloat32("rnn.weight_hh_l0", [1], [3f]),
            SafetensorsTensor.FromFloat32("decoder.bias", [2], [1f, 2f]),
            SafetensorsTensor.FromFloat32("embedding.weight", [1], [4f]),
        ], new Dictionary<string, string> { ["z"] = "1", ["a"] = "2" });

        byte[] bytes = File.ReadAllBytes(path);
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        Assert.Equal(0UL, n % 8);
        Assert.Equal((long)(8 + n + 16), bytes.LongLength);
        Assert.Equal(
            "{\"__metadata__\":{\"a\":\"2\",\"z\":\"1\"},"
            + "\"decoder.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
            + "\"embedding.weight\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]},"
            + "\"rnn.weight_hh_l0\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[12,16]}}",
            HeaderJson(path).TrimEnd(' '));
        Assert.Equal(["decoder.bias", "embedding.weight", "rnn.weight_hh_l0"], Safetensors.Read(path).Tensors.Select(t => t.Name));
    }

    [Fact]
    public void Mixed_dtypes_are_laid_out_aligned_largest_element_first()
    {
        var file = RoundTrip(PathOf("mixed.safetensors"),
        [
            new SafetensorsTensor("a.mask", SafetensorsDType.U8, [3], [1, 0, 1]),
            SafetensorsTensor.FromFloat32("b.w", [3], [1f, 2f, 3f]),
            SafetensorsTensor.FromInt64("c.step", [], [7]),
        ]);
        Assert.Equal(["c.step", "b.w", "a.mask"], file.Tensors.Select(t => t.Name));
        string header = HeaderJson(file.Path);
        Assert.Contains("\"c.step\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[0,8]}", header);
        Assert.Contains("\"b.w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[8,20]}", header);
        Assert.Equal([1f, 2f, 3f], file.Get("b.w").ToFloat32());
    }

    [Fact]
    public void Reads_an_unpadded_header()
    {
        string path = PathOf("unpadded.safetensors");
        string json = "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}";
        Assert.NotEqual(0, json.Length % 8);
        File.WriteAllBytes(path, Build(json, BitConverter.GetBytes(6.5f)));
        Assert.Equal([6.5f], Safetensors.Read(path).Get("w").ToFloat32());
    }

    // ---- argument checking and lookups --------------------------------------------------------------------------

    [Fact]
    public void Tensor_construction_validates_its_arguments()
    {
        Assert.Throws<ArgumentException>(() => SafetensorsTensor.FromFloat32("w", [2, 2], [1f, 2f, 3f]));
        Assert.Throws<ArgumentException>(() => SafetensorsTensor.FromFloat32("w", [-1], []));
        Assert.Throws<ArgumentException>(() => SafetensorsTensor.FromFloat32("", [1], [1f]));
        Assert.Throws<ArgumentException>(() => SafetensorsTensor.FromFloat32("__metadata__", [1], [1f]));
        Assert.Throws<ArgumentException>(() => new SafetensorsTensor("w", "F8", [1], [0]));
        Assert.Throws<ArgumentException>(() => new SafetensorsTensor("w", SafetensorsDType.F32, [2], new byte[7]));
    }

    [Fact]
    public void Tensors_copy_their_inputs()
    {
        byte[] data = [1, 2, 3, 4];
        int[] shape = [1];
        var t = new SafetensorsTensor("w", SafetensorsDType.F32, shape, data);
        data[0] = 99;
        shape[0] = 5;
        Assert.Equal(1, t.Data[0]);
        Assert.Equal([1], t.Shape);
    }

    [Fact]
    public void Write_rejects_duplicate_names_without_touching_the_file()
    {
        string path = PathOf("dup.safetensors");
        File.WriteAllText(path, "old");
        var ex = Assert.Throws<ArgumentException>(() => Safetensors.Write(path,
            [SafetensorsTensor.FromFloat32("w", [1], [1f]), SafetensorsTensor.FromFloat32("w", [1], [2f])]));
        Assert.Contains("'w'", ex.Message);
        Assert.Equal("old", File.ReadAllText(path));
        Assert.Single(Directory.GetFiles(_dir));
    }

    [Fact]
    public void Missing_tensor_error_names_the_tensor_and_the_file()
    {
        var file = RoundTrip(PathOf("model.safetensors"), [SafetensorsTensor.FromFloat32("decoder.bias", [2], [1f, 2f])]);
        Assert.True(file.Contains("decoder.bias"));
        Assert.False(file.Contains("decoder.weight"));
        Assert.False(file.TryGet("decoder.weight", out _));

        var ex = Assert.Throws<InvalidDataException>(() => file.Get("decoder.weight"));
        Assert.Contains("'decoder.weight'", ex.Message);
        Assert.Contains(file.Path, ex.Message);
        Assert.Contains("'decoder.bias'", ex.Message);

        var shape = Assert.Throws<InvalidDataException>(() => file.Get("decoder.bias", [3]));
        Assert.Contains("[2]", shape.Message);
        Assert.Contains("expected [3]", shape.Message);
        Assert.Equal([1f, 2f], file.GetFloat32("decoder.bias", [2]));

        var meta = Assert.Throws<InvalidDataException>(() => file.GetMetadata("cell"));
        Assert.Contains("'cell'", meta.Message);
        Assert.Contains(file.Path, meta.Message);
    }

    [Fact]
    public void Missing_file_is_FileNotFoundException_with_the_path()
    {
        string path = PathOf("nope.safetensors");
        var ex = Assert.Throws<FileNotFoundException>(() => Safetensors.Read(path));
        Assert.Equal(path, ex.FileName);
        Assert.Contains(path, ex.Message);
    }

    // ---- malformed files ----------------------------------------------------------------------------------------

    private const string W = "\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}";

    public static TheoryData<string, byte[], string> MalformedFiles() => new()
    {
        { "empty file", [], "too short" },
        { "seven bytes", new byte[7], "too short" },
        { "header length larger than file", Prefix(100, "{}"), "larger than the rest of the file" },
        { "header length 2^64-1", Prefix(ulong.MaxValue, "{}"), "larger than the rest of the file" },
        { "zero-length header", Prefix(0, ""), "not valid JSON" },
        { "invalid JSON", Build("{\"w\":", []), "not valid JSON" },
        { "trailing garbage", Build("{} x", []), "not valid JSON" },
        { "invalid UTF-8", Prefix(4, "").Concat(new byte[] { (byte)'"', 0xFF, 0xFE, (byte)'"' }).ToArray(), "not valid UTF-8" },
        { "header is an array", Build("[]", []), "expected an object" },
        { "entry is a string", Build("{\"w\":\"F32\"}", []), "expected an object" },
        { "unknown dtype", Build("{\"w\":{\"dtype\":\"F8_E4M3\",\"shape\":[2],\"data_offsets\":[0,2]}}", new byte[2]), "unknown dtype 'F8_E4M3'" },
        { "lower-case dtype", Build("{\"w\":{\"dtype\":\"f32\",\"shape\":[2],\"data_offsets\":[0,8]}}", new byte[8]), "unknown dtype" },
        { "missing dtype", Build("{\"w\":{\"shape\":[2],\"data_offsets\":[0,8]}}", new byte[8]), "no \"dtype\"" },
        { "missing shape", Build("{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", new byte[8]), "no \"shape\"" },
        { "missing offsets", Build("{\"w\":{\"dtype\":\"F32\",\"shape\":[2]}}", new byte[8]), "no \"data_offsets\"" },
        { "three offsets", Build("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4,8]}}", new byte[8]), "no \"data_offsets\"" },
        { "negative dimension", Build("{\"w\":{\"dtype\":\"F32\",\"shape\":[2,-1],\"data_offsets\":[0,8]}}", new byte[8]), "negative dimension" },
        { "fractional dimension", Build("{\"w\":{\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,8]}}", new byte[8]), "not an array of integers" },
        { "string dimension", Build("{\"w\":{\"dtype\":\"F32\",\"shape\":[\"2\"],\"data_offsets\":[0,8]}}", new byte[8]), "not an array of integers" },
        { "offsets past the data", Build("{" + W + "}", new byte[4]), "beyond the end of the data section (4 bytes)" },
        { "offsets reversed", Build("{\"w\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,0]}}", new byte[8]), "end before they begin" },
        { "negative offset", Build("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[-8,0]}}", new byte[8]), "negative data_offsets" },
        { "offsets too short for shape", Build("{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", new byte[8]), "needs 12 bytes" },
        { "offsets too long for shape", Build("{\"w\":{\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[0,8]}}", new byte[8]), "needs 16 bytes" },
        { "huge shape", Build("{\"w\":{\"dtype\":\"F64\",\"shape\":[2147483647,2147483647,2147483647,2147483647,2147483647],\"data_offsets\":[0,8]}}", new byte[8]), "spanning 8 bytes" },
        { "overlapping tensors", Build("{" + W + ",\"v\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", new byte[8]), "overlap" },
        { "identical ranges", Build("{" + W + ",\"v\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", new byte[8]), "overlap" },
        { "duplicate tensor name", Build("{" + W + "," + W + "}", new byte[8]), "'w' appears twice" },
        { "metadata not an object", Build("{\"__metadata__\":[\"a\"]}", []), "expected an object of strings" },
        { "metadata value a number", Build("{\"__metadata__\":{\"layers\":2}}", []), "value of 'layers' is a JSON number, expected a string" },
        { "control character in name", Build("{\"a\\nb\":{\"dtype\":\"X\",\"shape\":[],\"data_offsets\":[0,0]}}", []), "'a\\u000ab'" },
    };

    [Theory]
    [MemberData(nameof(MalformedFiles))]
    public void Malformed_input_is_InvalidDataException_naming_the_file_and_the_problem(string what, byte[] bytes, string expected)
    {
        string path = PathOf("bad.safetensors");
        File.WriteAllBytes(path, bytes);
        var ex = Assert.Throws<InvalidDataException>(() => Safetensors.Read(path));
        Assert.StartsWith(path + ": ", ex.Message);
        Assert.Contains(expected, ex.Message);
        Assert.DoesNotContain('\n', ex.Message);
        Assert.DoesNotContain('\r', ex.Message);
        Assert.False(string.IsNullOrEmpty(what));
    }

    [Fact]
    public void Empty_tensors_may_sit_anywhere_inside_the_data()
    {
        string path = PathOf("empties.safetensors");
        File.WriteAllBytes(path, Build("{" + W + ",\"e\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]}}", new byte[8]));
        var file = Safetensors.Read(path);
        Assert.Equal(0, file.Get("e").ElementCount);
        Assert.Equal(2, file.Get("w").ElementCount);
    }

    // ---- atomic writes ------------------------------------------------------------------------------------------

    [Fact]
    public void A_failing_writer_leaves_the_old_file_and_no_temp_file()
    {
        string path = PathOf("ckpt.safetensors");
        Safetensors.Write(path, [SafetensorsTensor.FromFloat32("w", [1], [1f])]);
        byte[] before = File.ReadAllBytes(path);

        var ex = Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(path, stream =>
        {
            stream.Write(new byte[100_000]);
            throw new InvalidOperationException("disk full (simulated)");
        }));
        Assert.Equal("disk full (simulated)", ex.Message);
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Equal([path], Directory.GetFiles(_dir));
        Assert.Equal([1f], Safetensors.Read(path).Get("w").ToFloat32());
    }

    [Fact]
    public void A_failing_first_write_leaves_nothing_behind()
    {
        string path = PathOf("new.txt");
        Assert.Throws<IOException>(() => AtomicFile.Write(path, s => { s.WriteByte(1); throw new IOException("boom"); }));
        Assert.Empty(Directory.GetFiles(_dir));
    }

    [Fact]
    public void Overwriting_replaces_the_content_and_leaves_no_temp_file()
    {
        string path = PathOf("ckpt.safetensors");
        Safetensors.Write(path, [SafetensorsTensor.FromFloat32("w", [3], [1f, 2f, 3f])]);
        Safetensors.Write(path, [SafetensorsTensor.FromFloat32("v", [1], [9f])]);
        var file = Safetensors.Read(path);
        Assert.Equal(["v"], file.Tensors.Select(t => t.Name));
        Assert.Equal([path], Directory.GetFiles(_dir));
    }

    [Fact]
    public void WriteAllText_writes_utf8_creates_directories_and_tolerates_writers_that_close_the_stream()
    {
        string path = Path.Combine(_dir, "sub", "dir", "metrics.json");
        AtomicFile.WriteAllText(path, "{\"loss\": 1.5, \"vocab\": \"é\"}\n");
        Assert.Equal("{\"loss\": 1.5, \"vocab\": \"é\"}\n", File.ReadAllText(path));
        Assert.NotEqual(0xEF, File.ReadAllBytes(path)[0]); // no byte-order mark

        AtomicFile.Write(path, stream =>
        {
            using var writer = new StreamWriter(stream); // disposes the stream
            writer.Write("second");
        });
        Assert.Equal("second", File.ReadAllText(path));
        Assert.Single(Directory.GetFiles(Path.GetDirectoryName(path)!));
    }

    // ---- the PyTorch-written fixtures (tests/reference/make_fixtures.py) ----------------------------------------

    private static readonly string[] Cases = ["lstm_l1", "lstm_l2", "gru_l1", "gru_l2", "elman_l1", "elman_l2", "elman_relu_l1"];
    private static readonly (int K1, int K2)[] Windows = [(4, 4), (3, 5), (5, 2), (2, 7), (6, 6)];

    public static TheoryData<string> CaseNames() => new(Cases);

    [Fact]
    public void Fixture_text_is_small_ascii_and_its_vocabulary_is_in_every_model()
    {
        string text = File.ReadAllText(Path.Combine(FixturesDirectory(), "text.txt"));
        Assert.InRange(text.Length, 150, 200);
        Assert.All(text, c => Assert.True(c < 128, $"non-ASCII character U+{(int)c:X4}"));
        string vocab = new(text.Distinct().Order().ToArray());
        Assert.InRange(vocab.Length, 15, 25);
        foreach (string name in Cases)
            Assert.Equal(vocab, ReadFixture($"{name}.model.safetensors").GetMetadata("vocab"));
    }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Fixture_model_has_the_pytorch_state_dict_layout(string name)
    {
        var file = ReadFixture($"{name}.model.safetensors");
        var (cell, layers, _) = ModelConfig(file);
        Assert.Equal("tbptt", file.GetMetadata("format"));
        Assert.Equal(name.Contains("relu") ? "relu" : "tanh", file.GetMetadata("nonlinearity"));
        Assert.Equal(name.Split('_')[0], cell);
        Assert.Equal(name.EndsWith("l2") ? 2 : 1, layers);
        Assert.Equal("false", file.GetMetadata("tied"));
        Assert.Equal("0", file.GetMetadata("dropout"));

        var expected = ExpectedParameters(file);
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), file.Tensors.Select(t => t.Name));
        foreach (var (param, shape) in expected)
        {
            var t = file.Get(param, shape);
            Assert.Equal(SafetensorsDType.F32, t.DType);
            Assert.All(t.ToFloat32(), v => Assert.True(float.IsFinite(v) && MathF.Abs(v) < 2f, $"{param}: {v}"));
        }
    }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Fixture_gradients_cover_every_parameter_of_every_update(string name)
    {
        foreach (var (k1, k2) in Windows)
        {
            var file = ReadFixture($"{name}.k{k1}_{k2}.grads.safetensors");
            Assert.Equal(k1.ToString(), file.GetMetadata("k1"));
            Assert.Equal(k2.ToString(), file.GetMetadata("k2"));
            Assert.Equal("3", file.GetMetadata("batch"));
            int updates = int.Parse(file.GetMetadata("updates"));
            Assert.Equal(3, updates);
            var model = ReadFixture(file.GetMetadata("model"));
            Assert.Equal($"{name}.model.safetensors", file.GetMetadata("model"));
            var parameters = ExpectedParameters(model);
            int vocab = model.GetMetadata("vocab").Length;

            Assert.Equal(updates * (parameters.Count + 1), file.Tensors.Count);
            for (int i = 1; i <= updates; i++)
            {
                foreach (var (param, shape) in parameters)
                    Assert.All(file.GetFloat32($"update{i}.{param}", shape), v => Assert.True(float.IsFinite(v)));
                float loss = Assert.Single(file.GetFloat32($"update{i}.loss", [1]));
                Assert.InRange(loss, 0.5 * Math.Log(vocab), 2 * Math.Log(vocab));
                // Softmax cross-entropy: the logits' gradient sums to zero over the vocabulary, hence so does
                // the decoder bias's.
                Assert.True(Math.Abs(file.GetFloat32($"update{i}.decoder.bias", [vocab]).Sum()) < 1e-6,
                    $"{file.Path}: update{i}.decoder.bias does not sum to zero");
            }
        }
    }

    [Fact]
    public void Rewriting_a_fixture_reproduces_the_pytorch_bytes_exactly()
    {
        foreach (string fixture in new[] { "lstm_l2.model.safetensors", "gru_l1.k5_2.grads.safetensors" })
        {
            var original = ReadFixture(fixture);
            string copy = PathOf(fixture);
            Safetensors.Write(copy, original.Tensors, original.Metadata);
            Assert.Equal(File.ReadAllBytes(original.Path), File.ReadAllBytes(copy));
        }
    }

    // ---- helpers ------------------------------------------------------------------------------------------------

    private static (string Cell, int Layers, int Gates) ModelConfig(SafetensorsFile model)
    {
        string cell = model.GetMetadata("cell");
        int gates = cell switch { "lstm" => 4, "gru" => 3, "elman" => 1, _ => throw new InvalidDataException($"cell {cell}") };
        return (cell, int.Parse(model.GetMetadata("layers")), gates);
    }

    private static Dictionary<string, int[]> ExpectedParameters(SafetensorsFile model)
    {
        var (_, layers, gates) = ModelConfig(model);
        int vocab = model.GetMetadata("vocab").Length;
        int embed = int.Parse(model.GetMetadata("embed"));
        int hidden = int.Parse(model.GetMetadata("hidden"));
        Assert.Equal((18, 5, 7), (vocab, embed, hidden));
        var shapes = new Dictionary<string, int[]> { ["embedding.weight"] = [vocab, embed] };
        for (int k = 0; k < layers; k++)
        {
            shapes[$"rnn.weight_ih_l{k}"] = [gates * hidden, k == 0 ? embed : hidden];
            shapes[$"rnn.weight_hh_l{k}"] = [gates * hidden, hidden];
            shapes[$"rnn.bias_ih_l{k}"] = [gates * hidden];
            shapes[$"rnn.bias_hh_l{k}"] = [gates * hidden];
        }
        shapes["decoder.weight"] = [vocab, hidden];
        shapes["decoder.bias"] = [vocab];
        return shapes;
    }

    private static SafetensorsFile ReadFixture(string name) => Safetensors.Read(Path.Combine(FixturesDirectory(), name));

    /// <summary>tests/reference/fixtures of the repository: found by walking up from the test binaries to the
    /// folder holding Tbptt.sln, or else from this source file.</summary>
    private static string FixturesDirectory([CallerFilePath] string sourceFile = "")
    {
        foreach (string? start in new[] { AppContext.BaseDirectory, Path.GetDirectoryName(sourceFile) })
        {
            for (var dir = start is null ? null : new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Tbptt.sln")))
                {
                    string fixtures = Path.Combine(dir.FullName, "tests", "reference", "fixtures");
                    Assert.True(Directory.Exists(fixtures), $"{fixtures} is missing: run tests/reference/make_fixtures.py");
                    return fixtures;
                }
            }
        }
        throw new DirectoryNotFoundException($"No Tbptt.sln above {AppContext.BaseDirectory} or {sourceFile}.");
    }

    private static string HeaderJson(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        return Encoding.UTF8.GetString(bytes, 8, (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes));
    }

    private static byte[] Prefix(ulong headerLength, string header)
    {
        byte[] bytes = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, headerLength);
        return [.. bytes, .. Encoding.UTF8.GetBytes(header)];
    }

    private static byte[] Build(string headerJson, byte[] data)
        => [.. Prefix((ulong)Encoding.UTF8.GetByteCount(headerJson), headerJson), .. data];
}
