using System.Runtime.InteropServices;

namespace Tbptt.Numerics;

/// <summary>
/// Flush-to-zero for subnormal floats (|x| &lt; 2⁻¹²⁶ ≈ 1.2·10⁻³⁸) on the calling thread, as
/// <c>torch.set_flush_denormal(True)</c> does: results that would be subnormal become 0 (FTZ) and subnormal
/// inputs read as 0 (DAZ).
/// </summary>
/// <remarks>
/// Why: a saturated gate (σ(−90) ≈ 10⁻³⁹), its derivative and the gradients carried back through it are
/// subnormal, and on many x86 processors every arithmetic operation touching one takes a microcode assist of
/// about a hundred cycles. In a GEMM each such element is read by every column, so a few percent of subnormal
/// activations slowed a saturated character model's training step five-fold on the project's 2-core Xeon.
/// Changing a value below 10⁻³⁸ to 0 changes no loss or gradient a float can tell from it.
/// <para>The mode is per thread. The engine, the evaluator, the probes, the sampler and the trainer set it for
/// their own duration and restore the caller's bits after (a trainer's callbacks run inside); the managed GEMM's
/// helper threads take the mode of the thread that hands them work. A native BLAS library's own threads do not:
/// they keep the mode of the thread that loaded the library. Supported where glibc's floating-point environment
/// exposes it: Linux on x64 (tested) and arm64 (FPCR.FZ; untested); elsewhere <see cref="IsSupported"/> is false and every call here does nothing.</para>
/// </remarks>
public static unsafe class Denormals
{
    // x64: MXCSR's DAZ (bit 6) and FTZ (bit 15), at byte 28 of glibc's 32-byte fenv_t.
    // arm64: FPCR's FZ (bit 24, both directions), the first of glibc's two 32-bit words.
    const uint MxcsrFlush = 0x8040, FpcrFlush = 1u << 24;
    const int EnvBytes = 32;

    static readonly (int Offset, uint Bits)? Control = Probe();

    [ThreadStatic] static bool flushing;

    /// <summary>Whether this platform lets us set the mode.</summary>
    public static bool IsSupported => Control is not null;

    /// <summary>Whether the calling thread flushes, as this class last set it (a mode set natively, outside this
    /// class, is not seen).</summary>
    public static bool IsFlushing => flushing;

    /// <summary>
    /// Turns flush-to-zero on for the calling thread until the returned scope is disposed, which puts back the
    /// two bits as it found them. Nested scopes cost nothing: only the outermost one changes the mode.
    /// </summary>
    public static Scope FlushToZero()
    {
        if (flushing || Control is null) return default;
        return new Scope(Set(Control.Value.Bits), active: true);
    }

    /// <summary>Puts the calling thread in <paramref name="flush"/> mode (a GEMM helper following its caller).</summary>
    internal static void Match(bool flush)
    {
        if (flush != flushing && Control is not null) Set(flush ? Control.Value.Bits : 0);
    }

    /// <summary>Sets the control word's flush bits to <paramref name="bits"/>; returns the bits it replaced.</summary>
    static uint Set(uint bits)
    {
        var (offset, mask) = Control!.Value;
        byte* env = stackalloc byte[EnvBytes];
        if (Native.fegetenv(env) != 0) return bits;
        ref uint word = ref *(uint*)(env + offset);
        uint was = word & mask;
        word = (word & ~mask) | bits;
        if (Native.fesetenv(env) == 0) flushing = bits == mask;
        return was;
    }

    static (int, uint)? Probe()
    {
        if (!OperatingSystem.IsLinux()) return null;
        (int, uint)? control = RuntimeInformation.ProcessArchitecture switch
        {
            Architecture.X64 => (28, MxcsrFlush),
            Architecture.Arm64 => (0, FpcrFlush),
            _ => null,
        };
        if (control is null) return null;
        try
        {
            // Reading the environment proves the library and its entry points are there.
            byte* env = stackalloc byte[EnvBytes];
            return Native.fegetenv(env) == 0 ? control : null;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return null;
        }
    }

    /// <summary>An open <see cref="FlushToZero"/> call; disposing it restores the mode it found.</summary>
    public readonly struct Scope : IDisposable
    {
        readonly uint previous;
        readonly bool active;

        internal Scope(uint previous, bool active) => (this.previous, this.active) = (previous, active);

        /// <summary>Puts back the flush bits the scope found (nothing, for a nested or unsupported scope).</summary>
        public void Dispose()
        {
            if (active && flushing) Set(previous);
        }
    }

    static class Native
    {
        // The C library's fenv.h; glibc keeps these in libm.
        [DllImport("libm.so.6", CallingConvention = CallingConvention.Cdecl)]
        public static extern int fegetenv(byte* env);

        [DllImport("libm.so.6", CallingConvention = CallingConvention.Cdecl)]
        public static extern int fesetenv(byte* env);
    }
}
