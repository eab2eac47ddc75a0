using System.Runtime.InteropServices;
using Tbptt.Engine;
using Tbptt.Models;
using Tbptt.Numerics;

namespace Tbptt.Tests;

/// <summary>
/// Flush-to-zero: on inside a scope, on the GEMM's helper threads when the caller's is, restored after, and set
/// by the engine for its own work only. Values go through fields so the JIT cannot fold the arithmetic, and results
/// made inside a scope are checked after it, where a subnormal no longer compares equal to 0.
/// </summary>
[CollectionDefinition(nameof(DenormalsTests), DisableParallelization = true)]
public sealed class DenormalsCollection;

[Collection(nameof(DenormalsTests))] // alone: the GEMM test needs the helper team free (a busy team runs serially)
public class DenormalsTests
{
    static float tiny = 1e-20f, subnormal = 1e-39f, big = 1e30f;

    [Fact]
    public void Is_supported_where_glibcs_libm_is_on_x64_or_arm64()
    {
        bool glibc = OperatingSystem.IsLinux() && NativeLibrary.TryLoad("libm.so.6", out _);
        Assert.Equal(glibc && RuntimeInformation.ProcessArchitecture is Architecture.X64 or Architecture.Arm64,
            Denormals.IsSupported);
        Assert.True(float.IsSubnormal(subnormal));
    }

    [Fact]
    public void A_scope_flushes_results_and_inputs_and_restores_on_dispose()
    {
        if (!Denormals.IsSupported) return;
        Assert.False(Denormals.IsFlushing);
        float made, read, nestedMade, afterNested;
        using (Denormals.FlushToZero())
        {
            Assert.True(Denormals.IsFlushing);
            made = tiny * tiny;      // FTZ: a subnormal result is 0
            read = subnormal * big;  // DAZ: a subnormal input reads as 0 (else 10⁻⁹, a normal number)
            using (Denormals.FlushToZero()) nestedMade = tiny * tiny;
            Assert.True(Denormals.IsFlushing); // an inner scope leaves the outer one's mode alone
            afterNested = tiny * tiny;
        }
        Assert.False(Denormals.IsFlushing);
        Assert.Equal(0f, made);
        Assert.Equal(0f, read);
        Assert.Equal(0f, nestedMade);
        Assert.Equal(0f, afterNested);
        Assert.True(float.IsSubnormal(tiny * tiny));
        Assert.Equal(1e-9f, subnormal * big, 1e-15f);
    }

    [Fact]
    public void A_scope_left_by_an_exception_restores_the_mode()
    {
        if (!Denormals.IsSupported) return;
        Assert.Throws<InvalidOperationException>(FailInsideAScope);
        Assert.False(Denormals.IsFlushing);
        Assert.True(float.IsSubnormal(tiny * tiny));
    }

    static void FailInsideAScope()
    {
        using var flush = Denormals.FlushToZero();
        throw new InvalidOperationException();
    }

    [Fact]
    public void Gemm_helper_threads_follow_the_callers_mode()
    {
        if (!Denormals.IsSupported) return;
        // Every product of the K terms is 10⁻⁴⁰ (subnormal); split over 3 threads, each row block on its own.
        var blas = new ManagedBlas(new ManagedBlasOptions { MaxThreads = 3, ParallelThreshold = 0, Mc = 4 });
        const int m = 24, n = 16, k = 8;
        var a = Enumerable.Repeat(tiny, m * k).ToArray();
        var b = Enumerable.Repeat(tiny, k * n).ToArray();
        var c = new float[m * n];
        for (int round = 0; round < 2; round++) // flushing, then not: a helper must also turn it off again
        {
            bool flush = round == 0;
            using (flush ? Denormals.FlushToZero() : default)
                blas.Gemm(false, false, m, n, k, 1f, a, k, b, n, 0f, c, n);
            Assert.All(c, x => Assert.True(flush ? x == 0f : float.IsSubnormal(x), $"round {round}: {x}"));
        }
    }

    [Fact]
    public void An_engine_update_computes_flushed_and_leaves_the_callers_mode_as_it_was()
    {
        if (!Denormals.IsSupported) return;
        // A linear Elman cell whose every weight and input is 10⁻²⁰ and whose biases are 0: each pre-activation is a
        // sum of 10⁻⁴⁰ terms, so h and the decoder's weight gradient (dy ⊗ h) are subnormal in IEEE arithmetic and
        // exactly 0 when flushed. The decoder bias's gradient (dy = z − y, about −1) shows the update ran.
        var config = TestModels.Vectors(CellKind.Elman, 1, LossKind.SquaredError, Nonlinearity.Identity);
        var model = new SequenceModel<float>(config);
        Array.Fill(model.Parameters.Data, tiny);
        foreach (var bias in model.Parameters.Slices.Where(s => s.Name.Contains("bias"))) model.Parameters.Values(bias).Clear();
        var engine = new TbpttEngine<float>(model, batch: 2);
        const int k = 3;
        var inputs = Enumerable.Repeat(tiny, k * 2 * config.InputSize).ToArray();
        var targets = Enumerable.Repeat(1f, k * 2 * config.OutputSize).ToArray();
        Assert.False(Denormals.IsFlushing);
        engine.Update(k, k, inputs, targets);
        Assert.False(Denormals.IsFlushing);
        Assert.True(float.IsSubnormal(tiny * tiny));
        Assert.All(model.Parameters.Gradient(model.DecoderBias).ToArray(), g => Assert.True(g < -0.1f, $"{g}"));
        Assert.All(model.Parameters.Gradient(model.DecoderWeight).ToArray(), g => Assert.Equal(0f, g));
    }
}
