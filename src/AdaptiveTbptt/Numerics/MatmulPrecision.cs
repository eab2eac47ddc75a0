namespace Tbptt.Numerics;

/// <summary>
/// How float32 matrix products are computed, by PyTorch's names (<c>torch.set_float32_matmul_precision</c>):
/// <c>highest</c>, float32 throughout; <c>medium</c>, operands rounded to bfloat16 and sums kept in float32, on AMX
/// tiles where the CPU has them (<see cref="AmxBlas"/>) and in float32 where it does not — a permission, as in
/// PyTorch, not a demand. Double-precision products are never affected.
/// </summary>
public static class MatmulPrecision
{
    /// <summary>float32 products.</summary>
    public const string Highest = "highest";
    /// <summary>bfloat16 operands and float32 sums where the CPU has AMX tiles; float32 elsewhere.</summary>
    public const string Medium = "medium";

    /// <summary>The accepted names, for messages and help.</summary>
    public const string Names = "highest or medium";

    /// <summary>Whether <paramref name="name"/> is one of <see cref="Names"/> (as written: lower case).</summary>
    public static bool IsKnown(string? name) => name is Highest or Medium;
}

/// <summary>The products of one thread, and of the GEMM helpers it hands parts to, at a matmul precision until
/// disposed; other threads keep the process's backend.</summary>
public sealed class PrecisionScope : IDisposable
{
    readonly IBlasBackend? previous;
    bool disposed;

    internal PrecisionScope(string precision, string description)
    {
        previous = Blas.ThreadBackend;
        if (precision == MatmulPrecision.Medium && AmxBlas.Instance is { } amx) Blas.ThreadBackend = amx;
        // Highest inside medium goes back to the process's backend; a backend the thread has for another reason (one
        // being measured) stays.
        else if (precision == MatmulPrecision.Highest && previous is AmxBlas) Blas.ThreadBackend = null;
        Description = description;
    }

    /// <summary>One line for a run's log: what the products run on, and why.</summary>
    public string Description { get; }

    /// <summary>Gives the thread back the backend it had before the scope.</summary>
    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        Blas.ThreadBackend = previous;
    }
}

public static partial class Blas
{
    /// <summary>
    /// Runs this thread's products at <paramref name="precision"/> (<see cref="MatmulPrecision"/>) until the scope is
    /// disposed: <c>medium</c> moves them to <see cref="AmxBlas"/> when this machine can run it; <c>highest</c> puts
    /// them back on the process's backend.
    /// </summary>
    public static PrecisionScope UsePrecision(string precision)
    {
        if (!MatmulPrecision.IsKnown(precision))
            throw new ArgumentException($"matmul precision '{precision}' is not {MatmulPrecision.Names}.", nameof(precision));
        return new PrecisionScope(precision, precision == MatmulPrecision.Highest ? "matmul precision highest: float32 products"
            : AmxBlas.Instance is not null ? "matmul precision medium: bfloat16 products with float32 sums, on AMX tiles"
            : $"matmul precision medium: float32 products ({AmxBlas.Unavailable})");
    }
}
