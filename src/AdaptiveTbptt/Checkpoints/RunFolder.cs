using System.Text;

namespace Tbptt.Checkpoints;

/// <summary>Putting a run folder back in the state its checkpoint describes before a resumed run writes to it.</summary>
public static class RunFolder
{
    /// <summary>
    /// Deletes the temporary files a killed process left (<see cref="AtomicFile.DeleteStaleTemporaries"/>) and cuts
    /// the metrics CSV back to the rows of the checkpoint's <paramref name="evaluations"/>: a row is appended before
    /// its checkpoint is written, so a kill in between leaves a row the resumed run will write again.
    /// </summary>
    public static void PrepareResume(string directory, string metricsPath, int evaluations, TextWriter? log = null)
    {
        int removed = AtomicFile.DeleteStaleTemporaries(directory);
        if (removed > 0) log?.WriteLine($"removed {removed} temporary file(s) left by an interrupted write in {directory}");
        int dropped = KeepRows(metricsPath, evaluations);
        if (dropped > 0) log?.WriteLine($"{metricsPath}: dropped {dropped} row(s) written after the checkpoint");
    }

    /// <summary>
    /// Keeps the header and the first <paramref name="rows"/> data rows of a CSV written by
    /// <see cref="Reporting.CsvMetricsWriter"/> (one line per row), replacing the file atomically. Returns the
    /// number of rows dropped; a missing file, or one with no more rows than asked, is left alone.
    /// </summary>
    public static int KeepRows(string path, int rows)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        if (!File.Exists(path)) return 0;
        var lines = File.ReadAllLines(path, Encoding.UTF8).Where(l => l.Length > 0).ToList();
        int present = Math.Max(0, lines.Count - 1);
        if (present <= rows) return 0;
        AtomicFile.WriteAllText(path, string.Concat(lines.Take(rows + 1).Select(l => l + "\n")));
        return present - rows;
    }
}
