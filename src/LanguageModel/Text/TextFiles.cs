using System.Text;

namespace Tbptt.LanguageModel.Text;

/// <summary>Reads corpora strictly: a missing file, empty text or invalid UTF-8 is an error that says where.</summary>
public static class TextFiles
{
    private static readonly UTF8Encoding Strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The whole file as text. Invalid UTF-8 → <see cref="InvalidDataException"/> naming the byte offset.</summary>
    public static string ReadUtf8(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such file.", path);
        var bytes = File.ReadAllBytes(path);
        int start = bytes.AsSpan().StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]) ? 3 : 0;
        try
        {
            return Strict.GetString(bytes, start, bytes.Length - start);
        }
        catch (DecoderFallbackException e)
        {
            throw new InvalidDataException($"{path}: invalid UTF-8 at byte offset {start + e.Index}.");
        }
    }
}
