namespace Tbptt.Numerics;

// Placeholder selection until the backend helper lands: the reference kernel is always correct.
// The real selection (TBPTT_BLAS, native probing, self-test) replaces this file.
public static partial class Blas
{
    public static IBlasBackend Active { get; set; } = ReferenceBlas.Instance;
    public static string Describe() => $"{Active.Name} (built-in reference kernel)";
}
