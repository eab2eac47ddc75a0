namespace Tbptt.Checkpoints;

/// <summary>
/// Whole-file writes that either replace the destination completely or leave it untouched. Every checkpoint,
/// gradient and metrics file goes through here.
/// </summary>
/// <remarks>
/// The content is written to a temporary file in the destination's directory (so the final rename never crosses
/// a file system), flushed to disk (fsync), then renamed over the destination with
/// <see cref="File.Move(string, string, bool)"/>. If the writer throws, the temporary file is deleted and the
/// destination keeps its old content. A crash can leave a stray <c>.NAME.*.tmp</c> file behind, never a torn
/// destination. (The directory entry itself is not fsynced: .NET offers no portable way to open a directory.)
/// </remarks>
internal static class AtomicFile
{
    private const int BufferSize = 1 << 16;

    /// <summary>Writes <paramref name="path"/> atomically with the bytes that <paramref name="write"/> produces.</summary>
    /// <param name="path">The destination; its directory is created if missing.</param>
    /// <param name="write">Writes the whole content to the stream it is given. It may dispose the stream.</param>
    public static void Write(string path, Action<Stream> write)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(write);
        string full = Path.GetFullPath(path);
        string name = Path.GetFileName(full);
        if (name.Length == 0)
            throw new ArgumentException($"'{path}' names a directory, not a file.", nameof(path));
        string directory = Path.GetDirectoryName(full)
            ?? throw new ArgumentException($"'{path}' has no parent directory.", nameof(path));
        Directory.CreateDirectory(directory);

        string temp = Path.Combine(directory, $".{name}.{Guid.NewGuid():N}.tmp");
        try
        {
            bool disposedByWriter;
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, BufferSize))
            {
                write(stream);
                disposedByWriter = !stream.CanWrite;
                if (!disposedByWriter)
                    stream.Flush(flushToDisk: true);
            }
            if (disposedByWriter)
            {
                // The writer closed the stream (a StreamWriter does by default): reopen to fsync.
                using var reopened = new FileStream(temp, FileMode.Open, FileAccess.Write, FileShare.None, 1);
                reopened.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    /// <summary>Writes <paramref name="text"/> as UTF-8 (no byte-order mark) to <paramref name="path"/> atomically.</summary>
    public static void WriteAllText(string path, string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        Write(path, stream =>
        {
            using var writer = new StreamWriter(stream, new System.Text.UTF8Encoding(false), BufferSize, leaveOpen: true);
            writer.Write(text);
        });
    }

    /// <summary>Writes <paramref name="bytes"/> to <paramref name="path"/> atomically.</summary>
    public static void WriteAllBytes(string path, byte[] bytes)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        Write(path, stream => stream.Write(bytes));
    }

    /// <summary>
    /// Deletes the <c>.NAME.&lt;32 hex digits&gt;.tmp</c> files that <see cref="Write"/> leaves when its process is
    /// killed mid-write, in <paramref name="directory"/> (not below). Call it only when no other process writes
    /// there (a resumed run owns its folder). Returns how many were deleted.
    /// </summary>
    public static int DeleteStaleTemporaries(string directory)
    {
        if (!Directory.Exists(directory)) return 0;
        int removed = 0;
        foreach (string file in Directory.EnumerateFiles(directory, ".*.tmp"))
        {
            string name = Path.GetFileName(file);
            // ".<name>.<guid>.tmp": the guid is the 32 hex digits before ".tmp".
            int end = name.Length - ".tmp".Length, start = end - 32;
            if (start < 2 || name[start - 1] != '.' || name.AsSpan(start, 32).ContainsAnyExcept("0123456789abcdef")) continue;
            TryDelete(file);
            if (!File.Exists(file)) removed++;
        }
        return removed;
    }

    private static void TryDelete(string temp)
    {
        try
        {
            File.Delete(temp);
        }
        catch (IOException)
        {
            // Best effort: the original exception is the one worth reporting.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
