using System.Runtime.InteropServices;

namespace Tbptt.Numerics;

/// <summary>
/// Thin interop to a native CBLAS (<c>cblas_sgemm</c> / <c>cblas_dgemm</c>) loaded at run time, so a machine
/// without the library still runs everything on the managed backend. Intel MKL's single dynamic library
/// (<c>mkl_rt</c>) and OpenBLAS both export the standard CBLAS symbols with 32-bit integers (LP64).
/// </summary>
internal sealed unsafe class NativeBlas : IBlasBackend
{
    const int RowMajor = 101, NoTrans = 111, Trans = 112;

    /// <summary>Names tried for MKL, most specific first (Linux, then Windows and macOS spellings).</summary>
    public static readonly IReadOnlyList<string> MklNames =
        ["libmkl_rt.so", "libmkl_rt.so.2", "libmkl_rt.so.1", "mkl_rt.2.dll", "mkl_rt.dll", "libmkl_rt.2.dylib", "libmkl_rt.dylib"];

    /// <summary>Names tried for OpenBLAS: Debian's <c>libopenblas0-pthread</c> provides the first.</summary>
    public static readonly IReadOnlyList<string> OpenBlasNames =
        ["libopenblas.so.0", "libopenblas.so", "libopenblas.dll", "libopenblas.dylib", "/opt/homebrew/opt/openblas/lib/libopenblas.dylib"];

    readonly delegate* unmanaged[Cdecl]<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void> sgemm;
    readonly delegate* unmanaged[Cdecl]<int, int, int, int, int, int, double, double*, int, double*, int, double, double*, int, void> dgemm;

    NativeBlas(string name, string libraryName, string? path, int? threads, nint s, nint d)
    {
        Name = name;
        LibraryName = libraryName;
        LibraryPath = path;
        Threads = threads;
        sgemm = (delegate* unmanaged[Cdecl]<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void>)s;
        dgemm = (delegate* unmanaged[Cdecl]<int, int, int, int, int, int, double, double*, int, double*, int, double, double*, int, void>)d;
    }

    /// <summary><c>mkl</c> or <c>openblas</c>.</summary>
    public string Name { get; }

    /// <summary>The name the library was loaded by, e.g. <c>libopenblas.so.0</c>.</summary>
    public string LibraryName { get; }

    /// <summary>The file the loader resolved it to, when the platform can tell (Linux/macOS via dladdr).</summary>
    public string? LibraryPath { get; }

    /// <summary>The thread count set in the library, or null when it exports no setter.</summary>
    public int? Threads { get; }

    /// <summary>E.g. <c>libopenblas.so.0 at /usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblasp-r0.3.21.so, 2 threads</c>.</summary>
    public string Describe() =>
        $"{LibraryName}{(LibraryPath is null || LibraryPath == LibraryName ? "" : $" at {LibraryPath}")}" +
        (Threads is int t ? $", {t} thread{(t == 1 ? "" : "s")}" : "");

    /// <summary>Loads MKL (<c>mkl</c>) or OpenBLAS (<c>openblas</c>); null when no candidate loads and exports both GEMMs.</summary>
    public static NativeBlas? TryLoad(string kind)
    {
        var (names, setters) = kind switch
        {
            "mkl" => (MklNames, new[] { "MKL_Set_Num_Threads", "mkl_set_num_threads" }),
            "openblas" => (OpenBlasNames, new[] { "openblas_set_num_threads" }),
            _ => throw new ArgumentException($"Unknown native BLAS '{kind}': expected 'mkl' or 'openblas'.", nameof(kind)),
        };
        foreach (string name in names)
        {
            if (!NativeLibrary.TryLoad(name, typeof(NativeBlas).Assembly, null, out nint handle)) continue;
            if (!NativeLibrary.TryGetExport(handle, "cblas_sgemm", out nint s) ||
                !NativeLibrary.TryGetExport(handle, "cblas_dgemm", out nint d))
                continue; // some other library answering to the name; keep looking
            int? threads = null;
            foreach (string setter in setters)
            {
                if (!NativeLibrary.TryGetExport(handle, setter, out nint f)) continue;
                // Both setters take a C int. One library thread per core: the managed code runs no competing loops.
                ((delegate* unmanaged[Cdecl]<int, void>)f)(BlasThreads.Count);
                threads = BlasThreads.Count;
                break;
            }
            return new NativeBlas(kind, name, PathOf(s), threads, s, d);
        }
        return null;
    }

    public void Gemm(bool transA, bool transB, int m, int n, int k, float alpha, ReadOnlySpan<float> a, int lda,
        ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc)
    {
        Blas.Validate(transA, transB, m, n, k, a.Length, lda, b.Length, ldb, c.Length, ldc);
        if (m == 0 || n == 0) return;
        if (k == 0)
        {
            // CBLAS rejects lda < 1 even when k = 0; C = β·C needs no library call.
            ManagedBlas.Instance.Gemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
            return;
        }
        fixed (float* pa = a, pb = b, pc = c)
            sgemm(RowMajor, transA ? Trans : NoTrans, transB ? Trans : NoTrans, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc);
    }

    public void Gemm(bool transA, bool transB, int m, int n, int k, double alpha, ReadOnlySpan<double> a, int lda,
        ReadOnlySpan<double> b, int ldb, double beta, Span<double> c, int ldc)
    {
        Blas.Validate(transA, transB, m, n, k, a.Length, lda, b.Length, ldb, c.Length, ldc);
        if (m == 0 || n == 0) return;
        if (k == 0)
        {
            ManagedBlas.Instance.Gemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
            return;
        }
        fixed (double* pa = a, pb = b, pc = c)
            dgemm(RowMajor, transA ? Trans : NoTrans, transB ? Trans : NoTrans, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc);
    }

    /// <summary>The file a symbol lives in, via dladdr (glibc ≥ 2.34 exports it from libc.so.6; older from libdl).</summary>
    static string? PathOf(nint symbol)
    {
        if (OperatingSystem.IsWindows()) return null;
        foreach (string lib in new[] { "libc.so.6", "libdl.so.2", "libSystem.dylib" })
        {
            if (!NativeLibrary.TryLoad(lib, out nint h)) continue;
            if (!NativeLibrary.TryGetExport(h, "dladdr", out nint f)) continue;
            DlInfo info;
            if (((delegate* unmanaged[Cdecl]<nint, DlInfo*, int>)f)(symbol, &info) == 0 || info.FileName == 0) return null;
            string? path = Marshal.PtrToStringUTF8(info.FileName);
            if (path is null) return null;
            // Debian reaches OpenBLAS through alternatives symlinks; the final file names the variant and version.
            try { return File.ResolveLinkTarget(path, returnFinalTarget: true)?.FullName ?? path; }
            catch (IOException) { return path; }
            catch (UnauthorizedAccessException) { return path; }
        }
        return null;
    }

    /// <summary>glibc/macOS <c>Dl_info</c>: file name, base, symbol name, symbol address.</summary>
    [StructLayout(LayoutKind.Sequential)]
    struct DlInfo
    {
        public nint FileName, FileBase, SymbolName, SymbolAddress;
    }
}
