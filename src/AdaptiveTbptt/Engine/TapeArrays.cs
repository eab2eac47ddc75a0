namespace Tbptt.Engine;

/// <summary>Tape buffers grow only when a window gets longer; their contents (retained steps) are kept.</summary>
internal static class TapeArrays
{
    public static T[] Grow<T>(T[] old, int length)
    {
        if (old.Length >= length) return old;
        var a = new T[length];
        old.AsSpan().CopyTo(a);
        return a;
    }
}
