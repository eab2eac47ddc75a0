using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using Tbptt.Numerics;

namespace Tbptt.Tests;

/// <summary>
/// The AMX bfloat16 backend: its products are those of the bfloat16-rounded operands summed in float32, its
/// rounding is round-to-nearest-even on every path an operand can take into the tiles, packing and splitting change
/// no number, non-finite values reach C, and a precision scope covers exactly one thread and its GEMM helpers.
/// </summary>
public unsafe class AmxBlasTests
{
    /// <summary>The backend, which every machine with AMX-BF16 and a C compiler at build time must have.</summary>
    private static AmxBlas Backend
    {
        get
        {
            bool cpu = RuntimeInformation.ProcessArchitecture == Architecture.X64 && OperatingSystem.IsLinux()
                && (X86Base.CpuId(7, 0).Edx & (1 << 22)) != 0;
            bool compiler = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Any(d => d.Length > 0 && File.Exists(Path.Combine(d, "cc")));
            if (AmxBlas.Instance is { } amx) return amx;
            Assert.False(cpu && compiler, $"this machine has AMX-BF16 and a C compiler, yet: {AmxBlas.Unavailable}");
            Assert.False(string.IsNullOrWhiteSpace(AmxBlas.Unavailable));
            return null!;
        }
    }

    /// <summary>float32 → bfloat16 → float32 by the rule written out: round to nearest, ties to even; NaN stays NaN;
    /// subnormals to a zero of their sign (as VCVTNEPS2BF16 and the tiles treat them).</summary>
    private static float Bf16(float x)
    {
        if (float.IsNaN(x)) return float.NaN;
        uint u = BitConverter.SingleToUInt32Bits(x);
        if ((u & 0x7f800000u) == 0) return BitConverter.UInt32BitsToSingle(u & 0x80000000u);
        uint lower = u & 0xffffu, upper = u & 0xffff0000u;
        bool up = lower > 0x8000u || (lower == 0x8000u && (upper & 0x10000u) != 0);
        return BitConverter.UInt32BitsToSingle(up ? upper + 0x10000u : upper); // a carry into the exponent is right
    }

    private static float[] Random(int length, int seed)
    {
        var r = new Random(seed);
        var x = new float[length];
        for (int i = 0; i < length; i++) x[i] = (float)(r.NextDouble() * 2 - 1);
        return x;
    }

    public static TheoryData<int, int, int> Shapes => new()
    {
        { 1, 1, 1 }, { 7, 9, 11 }, { 16, 16, 32 }, { 17, 33, 31 }, { 32, 96, 384 }, { 33, 65, 70 }, { 70, 40, 100 },
        { 256, 130, 160 }, // enough work to split by rows (on up to 2 threads; by column blocks on more)
        { 32, 1100, 130 }, // few rows, split by column blocks
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Products_are_those_of_the_bfloat16_operands_summed_in_float32(int m, int n, int k)
    {
        var amx = Backend;
        if (amx is null) return; // the property above held: no kernel on this machine, and it says why
        const int pad = 3;
        const float alpha = 1.5f;
        foreach (bool ta in new[] { false, true })
            foreach (bool tb in new[] { false, true })
                foreach (float beta in new[] { 0f, 0.5f })
                {
                    int lda = (ta ? m : k) + pad, ldb = (tb ? k : n) + pad, ldc = n + pad;
                    var a = Random((ta ? k : m) * lda, 1);
                    var b = Random((tb ? n : k) * ldb, 2);
                    var c0 = Random(m * ldc, 3);
                    var c = beta == 0 ? Enumerable.Repeat(float.NaN, m * ldc).ToArray() : (float[])c0.Clone();
                    amx.Gemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
                    for (int i = 0; i < m; i++)
                        for (int j = 0; j < n; j++)
                        {
                            double sum = 0, magnitude = 0;
                            for (int p = 0; p < k; p++)
                            {
                                double x = Bf16(ta ? a[p * lda + i] : a[i * lda + p]);
                                double y = Bf16(tb ? b[j * ldb + p] : b[p * ldb + j]);
                                sum += x * y;
                                magnitude += Math.Abs(x * y);
                            }
                            double expected = alpha * sum + (beta == 0 ? 0 : beta * c0[i * ldc + j]);
                            // float32 sums of k exact products: at most about k roundings of 2^-24 of the magnitude.
                            double bound = (k + 2) * Math.Pow(2, -23) * (alpha * magnitude + Math.Abs(beta * c0[i * ldc + j])) + 1e-30;
                            double actual = c[i * ldc + j];
                            Assert.True(Math.Abs(actual - expected) <= bound,
                                $"C[{i},{j}] of {m}×{n}×{k} (transA={ta}, transB={tb}, β={beta}) is {actual}, expected {expected} ± {bound}");
                        }
                    // Padding between rows of C is never written.
                    for (int i = 0; i < m; i++)
                        for (int j = n; j < ldc; j++)
                            Assert.Equal(beta == 0 ? float.NaN : c0[i * ldc + j], c[i * ldc + j]);
                }
    }

    [Fact]
    public void Every_path_into_the_tiles_rounds_to_nearest_even()
    {
        var amx = Backend;
        if (amx is null) return;
        var values = new List<float>
        {
            0f, -0f, 1f, -1f, float.MaxValue, float.MinValue, float.PositiveInfinity, float.NegativeInfinity, float.NaN,
            float.Epsilon, -float.Epsilon, 1e-39f, 1.1754944e-38f, 3.3895314e38f,
            1f + MathF.Pow(2, -8), 1f + 3 * MathF.Pow(2, -8), 1f + MathF.Pow(2, -8) + MathF.Pow(2, -20), // ties and past them
        };
        var r = new Random(4);
        while (values.Count < 200) values.Add(BitConverter.Int32BitsToSingle(r.Next(int.MinValue, int.MaxValue)));
        int count = values.Count;
        var x = values.ToArray();
        var one = Enumerable.Repeat(1f, count).ToArray();
        foreach (bool trans in new[] { false, true })
        {
            // Through A (count × 1, or its transpose 1 × count), times a 1 × 1 B of one: C = the rounded value.
            var viaA = new float[count];
            amx.Gemm(trans, false, count, 1, 1, 1f, x, trans ? count : 1, one, 1, 0f, viaA, 1);
            // Through B (1 × count, or its transpose count × 1), after a 1 × 1 A of one.
            var viaB = new float[count];
            amx.Gemm(false, trans, 1, count, 1, 1f, one, 1, x, trans ? 1 : count, 0f, viaB, count);
            for (int i = 0; i < count; i++)
            {
                float expected = Bf16(x[i]);
                foreach (var (path, actual) in new[] { ("A", viaA[i]), ("B", viaB[i]) })
                    Assert.True(float.IsNaN(expected) ? float.IsNaN(actual) : actual == expected,
                        $"{x[i]:R} (0x{BitConverter.SingleToInt32Bits(x[i]):x8}) through {path} (trans={trans}) became {actual:R}, expected {expected:R}");
            }
        }
    }

    [Theory]
    [InlineData(false, 32, 200, 130)]
    [InlineData(true, 5, 64, 40)]
    [InlineData(false, 32, 1536, 384)]
    public void Packed_products_equal_unpacked_ones_bit_for_bit(bool transA, int m, int n, int k)
    {
        var amx = Backend;
        if (amx is null) return;
        foreach (bool transB in new[] { false, true })
        {
            var a = Random(m * k, 5);
            var b = Random(k * n, 6);
            int lda = transA ? m : k, ldb = transB ? k : n;
            var expected = Random(m * n, 7);
            var actual = (float[])expected.Clone();
            amx.Gemm(transA, transB, m, n, k, 0.75f, a, lda, b, ldb, 1f, expected, n);
            var packed = new PackedOperand<float>();
            using (Blas.UsePrecision(MatmulPrecision.Medium))
            {
                Blas.Pack<float>(transB, k, n, b, ldb, packed);
                Assert.True(packed.Bfloat16Tiles);
                Blas.Gemm<float>(transA, m, 0.75f, a, lda, packed, 1f, actual, n);
            }
            Assert.Equal(expected, actual);
        }
    }

    [Fact]
    public void Splitting_a_product_over_threads_changes_no_number()
    {
        var amx = Backend;
        if (amx is null) return;
        // By rows: 128 rows a thread (two 32-row panels each at least) × 160 × 128 is split; each 32-row block alone
        // is too small to be.
        int m = 128 * amx.MaxThreads, n = 160, k = 128;
        var a = Random(m * k, 8);
        var b = Random(k * n, 9);
        var whole = new float[m * n];
        var blocks = new float[m * n];
        amx.Gemm(false, false, m, n, k, 1f, a, k, b, n, 0f, whole, n);
        for (int i = 0; i < m; i += 32)
            amx.Gemm(false, false, 32, n, k, 1f, a.AsSpan(i * k), k, b, n, 0f, blocks.AsSpan(i * n), n);
        Assert.Equal(whole, blocks);
        // By column blocks: 32 × 1536 × 128 is split; 32-column slices alone are not.
        m = 32; n = 1536;
        a = Random(m * k, 10);
        b = Random(k * n, 11);
        whole = new float[m * n];
        blocks = new float[m * n];
        amx.Gemm(false, false, m, n, k, 1f, a, k, b, n, 0f, whole, n);
        for (int j = 0; j < n; j += 32)
            amx.Gemm(false, false, m, 32, k, 1f, a, k, b.AsSpan(j), n, 0f, blocks.AsSpan(j), n);
        Assert.Equal(whole, blocks);
    }

    [Fact]
    public void A_non_finite_operand_reaches_C()
    {
        var amx = Backend;
        if (amx is null) return;
        int m = 40, n = 50, k = 70;
        var a = Random(m * k, 12);
        var b = Random(k * n, 13);
        a[3 * k + 17] = float.NaN;      // row 3 of A
        b[5 * n + 44] = float.PositiveInfinity; // column 44 of B
        var c = new float[m * n];
        amx.Gemm(false, false, m, n, k, 1f, a, k, b, n, 0f, c, n);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                float v = c[i * n + j];
                if (i == 3) Assert.True(float.IsNaN(v), $"C[3,{j}] = {v}");
                else if (j == 44) Assert.False(float.IsFinite(v), $"C[{i},44] = {v}");
                else Assert.True(float.IsFinite(v), $"C[{i},{j}] = {v}");
            }
    }

    [Fact]
    public void Double_products_stay_exact()
    {
        var amx = Backend;
        if (amx is null) return;
        double[] a = [1 + 1e-12, 2], b = [3, 4 + 1e-12];
        var c = new double[1];
        amx.Gemm(false, false, 1, 1, 2, 1.0, a, 2, b, 1, 0.0, c, 1);
        // bfloat16 would lose the 1e-12s (and a 2^-9 of the rest): these are float64 products.
        Assert.True(Math.Abs(c[0] - (11 + 5e-12)) < 1e-14, $"{c[0]:R}");
    }

    [Fact]
    public void A_precision_scope_covers_its_thread_and_its_GEMM_helpers_only()
    {
        var amx = Backend;
        var before = Blas.Active;
        using (var scope = Blas.UsePrecision(MatmulPrecision.Medium))
        {
            var expected = amx ?? before;
            Assert.Same(expected, Blas.Active);
            Assert.Contains(amx is null ? "float32" : "bfloat16", scope.Description);
            // Another thread keeps the process's backend.
            IBlasBackend? other = null;
            var t = new Thread(() => other = Blas.Active);
            t.Start();
            t.Join();
            Assert.Same(before, other);
            // GEMM helpers take their caller's: try until the two parts ran on different threads.
            var seen = new IBlasBackend?[2];
            var threads = new int[2];
            bool parallel = false;
            // Other tests use the team too (a busy team runs both parts here): keep trying for a while.
            for (var clock = System.Diagnostics.Stopwatch.StartNew(); !parallel && clock.Elapsed.TotalSeconds < 20; Thread.Sleep(1))
            {
                var context = (seen, threads);
                var handle = GCHandle.Alloc(context);
                try { GemmThreads.Run(2, &Record, (void*)GCHandle.ToIntPtr(handle)); }
                finally { handle.Free(); }
                Assert.All(seen, s => Assert.Same(expected, s));
                parallel = threads[0] != threads[1];
            }
            Assert.True(parallel, "the GEMM team was never free");
            // Highest inside medium is the process's backend, until it ends.
            using (Blas.UsePrecision(MatmulPrecision.Highest)) Assert.Same(before, Blas.Active);
            Assert.Same(expected, Blas.Active);
        }
        Assert.Same(before, Blas.Active);
        Assert.Throws<ArgumentException>(() => Blas.UsePrecision("low"));
        using (Blas.UsePrecision(MatmulPrecision.Highest)) Assert.Same(before, Blas.Active);
    }

    private static void Record(void* context, int part)
    {
        var (seen, threads) = ((IBlasBackend?[], int[]))GCHandle.FromIntPtr((nint)context).Target!;
        seen[part] = Blas.Active;
        threads[part] = Environment.CurrentManagedThreadId;
    }
}
