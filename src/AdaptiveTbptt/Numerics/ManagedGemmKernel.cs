using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Tbptt.Numerics;

/// <summary>
/// The few vector operations the GEMM microkernel needs, abstracted over the register width so one kernel
/// source serves Vector512, Vector256 and Vector&lt;T&gt;. Implementations are structs: the JIT specialises
/// every generic instantiation over them and inlines the calls, so the abstraction costs nothing.
/// </summary>
internal unsafe interface ISimd<TV, T> where TV : struct where T : unmanaged
{
    static abstract int Count { get; }
    static abstract TV Load(T* p);
    static abstract void Store(T* p, TV v);
    static abstract TV Splat(T x);
    static abstract TV Mul(TV a, TV b);
    /// <summary><c>a·b + c</c>, one FMA where the hardware has it.</summary>
    static abstract TV MulAdd(TV a, TV b, TV c);
}

internal unsafe struct Simd512<T> : ISimd<Vector512<T>, T> where T : unmanaged
{
    public static int Count => Vector512<T>.Count;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> Load(T* p) => Vector512.Load(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(T* p, Vector512<T> v) => v.Store(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> Splat(T x) => Vector512.Create(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> Mul(Vector512<T> a, Vector512<T> b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> MulAdd(Vector512<T> a, Vector512<T> b, Vector512<T> c) =>
        typeof(T) == typeof(float)
            ? Vector512.MultiplyAddEstimate(a.AsSingle(), b.AsSingle(), c.AsSingle()).As<float, T>()
            : Vector512.MultiplyAddEstimate(a.AsDouble(), b.AsDouble(), c.AsDouble()).As<double, T>();
}

internal unsafe struct Simd256<T> : ISimd<Vector256<T>, T> where T : unmanaged
{
    public static int Count => Vector256<T>.Count;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> Load(T* p) => Vector256.Load(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(T* p, Vector256<T> v) => v.Store(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> Splat(T x) => Vector256.Create(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> Mul(Vector256<T> a, Vector256<T> b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> MulAdd(Vector256<T> a, Vector256<T> b, Vector256<T> c) =>
        typeof(T) == typeof(float)
            ? Vector256.MultiplyAddEstimate(a.AsSingle(), b.AsSingle(), c.AsSingle()).As<float, T>()
            : Vector256.MultiplyAddEstimate(a.AsDouble(), b.AsDouble(), c.AsDouble()).As<double, T>();
}

/// <summary>Portable fallback (e.g. 128-bit NEON on Arm64), whatever width <see cref="Vector{T}"/> has.</summary>
internal unsafe struct SimdVector<T> : ISimd<Vector<T>, T> where T : unmanaged
{
    public static int Count => Vector<T>.Count;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector<T> Load(T* p) => Unsafe.ReadUnaligned<Vector<T>>(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(T* p, Vector<T> v) => Unsafe.WriteUnaligned(p, v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector<T> Splat(T x) => new(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector<T> Mul(Vector<T> a, Vector<T> b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> MulAdd(Vector<T> a, Vector<T> b, Vector<T> c) =>
        typeof(T) == typeof(float)
            ? Vector.As<float, T>(Vector.MultiplyAddEstimate(Vector.As<T, float>(a), Vector.As<T, float>(b), Vector.As<T, float>(c)))
            : Vector.As<double, T>(Vector.MultiplyAddEstimate(Vector.As<T, double>(a), Vector.As<T, double>(b), Vector.As<T, double>(c)));
}

/// <summary>
/// The register-blocked inner kernel: a <c>Mr × Nr</c> tile of C (Mr = 6 rows, Nr = 2 vectors) from packed
/// slivers of A (<c>kc × Mr</c>, row index fastest) and B (<c>kc × Nr</c>, column index fastest).
/// 12 accumulators + 2 B vectors + 1 broadcast fit the 16 architectural vector registers of AVX2, so nothing
/// spills; each step does 2 loads and 6 broadcasts for 12 FMAs.
/// </summary>
internal static unsafe class GemmMicroKernel<TS, TV, T>
    where TS : struct, ISimd<TV, T> where TV : struct where T : unmanaged, IFloatingPointIeee754<T>
{
    public const int Mr = 6;
    public static int Nr => 2 * TS.Count;

    /// <summary>How the finished tile combines with C.</summary>
    public enum Update { Overwrite, Accumulate, Scale }

    /// <summary>
    /// C[0..6, 0..Nr) = α·acc (Overwrite: C is never read, so NaN garbage cannot leak in),
    /// C += α·acc (Accumulate, also every k block after the first) or C = α·acc + β·C (Scale).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Tile(int kc, T* a, T* b, T* c, int ldc, T alpha, T beta, Update update)
    {
        int w = TS.Count;
        TV c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        TV c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (int p = 0; p < kc; p++)
        {
            TV b0 = TS.Load(b), b1 = TS.Load(b + w);
            TV x = TS.Splat(a[0]); c00 = TS.MulAdd(x, b0, c00); c01 = TS.MulAdd(x, b1, c01);
            x = TS.Splat(a[1]); c10 = TS.MulAdd(x, b0, c10); c11 = TS.MulAdd(x, b1, c11);
            x = TS.Splat(a[2]); c20 = TS.MulAdd(x, b0, c20); c21 = TS.MulAdd(x, b1, c21);
            x = TS.Splat(a[3]); c30 = TS.MulAdd(x, b0, c30); c31 = TS.MulAdd(x, b1, c31);
            x = TS.Splat(a[4]); c40 = TS.MulAdd(x, b0, c40); c41 = TS.MulAdd(x, b1, c41);
            x = TS.Splat(a[5]); c50 = TS.MulAdd(x, b0, c50); c51 = TS.MulAdd(x, b1, c51);
            a += Mr;
            b += 2 * w;
        }
        TV av = TS.Splat(alpha), bv = TS.Splat(beta);
        StoreRow(c, w, c00, c01, av, bv, update); c += ldc;
        StoreRow(c, w, c10, c11, av, bv, update); c += ldc;
        StoreRow(c, w, c20, c21, av, bv, update); c += ldc;
        StoreRow(c, w, c30, c31, av, bv, update); c += ldc;
        StoreRow(c, w, c40, c41, av, bv, update); c += ldc;
        StoreRow(c, w, c50, c51, av, bv, update);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void StoreRow(T* c, int w, TV x0, TV x1, TV alpha, TV beta, Update update)
    {
        switch (update)
        {
            case Update.Overwrite:
                TS.Store(c, TS.Mul(alpha, x0));
                TS.Store(c + w, TS.Mul(alpha, x1));
                break;
            case Update.Accumulate:
                TS.Store(c, TS.MulAdd(alpha, x0, TS.Load(c)));
                TS.Store(c + w, TS.MulAdd(alpha, x1, TS.Load(c + w)));
                break;
            default:
                TS.Store(c, TS.MulAdd(alpha, x0, TS.Mul(beta, TS.Load(c))));
                TS.Store(c + w, TS.MulAdd(alpha, x1, TS.Mul(beta, TS.Load(c + w))));
                break;
        }
    }

    /// <summary>
    /// A partial tile at the bottom or right edge: the kernel runs on the zero-padded slivers into a scratch
    /// tile, and only the <paramref name="rows"/> × <paramref name="cols"/> that exist are merged into C.
    /// </summary>
    public static void EdgeTile(int kc, T* a, T* b, T* c, int ldc, int rows, int cols, T alpha, T beta, Update update)
    {
        int nr = Nr;
        T* tile = stackalloc T[Mr * 2 * 64 / sizeof(T)]; // Mr × Nr for the widest vector (64 bytes)
        Tile(kc, a, b, tile, nr, alpha, T.Zero, Update.Overwrite);
        for (int i = 0; i < rows; i++)
        {
            T* src = tile + i * nr, dst = c + (long)i * ldc;
            for (int j = 0; j < cols; j++)
                dst[j] = update switch
                {
                    Update.Overwrite => src[j],
                    Update.Accumulate => dst[j] + src[j],
                    _ => src[j] + beta * dst[j],
                };
        }
    }
}
