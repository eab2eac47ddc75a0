using System.Globalization;

namespace Tbptt.BiasEstimation;

/// <summary>
/// Reads the gradient-norm table that <c>tbptt probe</c> writes and <c>tbptt estimate-k</c> reads, and that any
/// other trainer can dump: CSV, one row per lag k = 0..W−1, one column per sample, comma-separated, numbers in
/// invariant culture (<c>0.25</c>, <c>1e-3</c>).
/// </summary>
/// <remarks>
/// The first non-blank row is a header when any of its cells is not a number; it must then have as many cells as
/// the data rows. Blank lines are allowed only at the end. Every error is one <see cref="FormatException"/> line
/// naming the source, the line, the column and the offending text, because the user's next step is to open the
/// file at that spot.
/// </remarks>
public static class NormsCsv
{
    /// <summary>Reads a profile from a CSV file.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist (the path is in the exception).</exception>
    /// <exception cref="FormatException">The content is malformed.</exception>
    public static GradientNormProfile ReadFile(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"norms file not found: {path}", path);
        using var reader = new StreamReader(path);
        return Read(reader, path);
    }

    /// <summary>Reads a profile from CSV text.</summary>
    /// <param name="reader">The CSV text.</param>
    /// <param name="sourceName">What to call the input in error messages (a path, or "stdin").</param>
    /// <exception cref="FormatException">The content is malformed.</exception>
    public static GradientNormProfile Read(TextReader reader, string sourceName) =>
        new(ReadTable(reader, sourceName, norms: true));

    /// <summary>
    /// Reads a profile with its per-lag mean gradient vectors ḡ_k (one row per lag, one column per state
    /// dimension, as <c>tbptt probe --mean-out</c> writes them), which the exact cumulative norm C_K needs.
    /// </summary>
    /// <exception cref="FileNotFoundException">A file does not exist.</exception>
    /// <exception cref="FormatException">The content is malformed, or the two tables differ in their lags.</exception>
    public static GradientNormProfile ReadFile(string normsPath, string meanGradientsPath)
    {
        ArgumentNullException.ThrowIfNull(normsPath);
        ArgumentNullException.ThrowIfNull(meanGradientsPath);
        foreach (var path in new[] { normsPath, meanGradientsPath })
            if (!File.Exists(path)) throw new FileNotFoundException($"file not found: {path}", path);
        List<double[]> phi, mean;
        using (var r = new StreamReader(normsPath)) phi = ReadTable(r, normsPath, norms: true);
        using (var r = new StreamReader(meanGradientsPath)) mean = ReadTable(r, meanGradientsPath, norms: false);
        if (mean.Count != phi.Count)
            throw new FormatException($"{meanGradientsPath}: {mean.Count} lag rows, but {normsPath} has {phi.Count}");
        return new GradientNormProfile(phi, mean.ToArray());
    }

    /// <summary>Rows of numbers, an optional header, no ragged rows; norms must also be non-negative.</summary>
    private static List<double[]> ReadTable(TextReader reader, string sourceName, bool norms)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(sourceName);
        var rows = new List<double[]>();
        int lineNo = 0, firstBlank = 0, columns = -1, headerLine = 0;
        string? line;
        while ((line = reader.ReadLine()) is not null)
        {
            lineNo++;
            if (lineNo == 1) line = line.TrimStart('\uFEFF');
            if (string.IsNullOrWhiteSpace(line))
            {
                if (firstBlank == 0) firstBlank = lineNo;
                continue;
            }
            if (firstBlank != 0)
                throw Error(sourceName, firstBlank, 1, "",
                    $"blank line inside the table (line {lineNo} has more data); blank lines are allowed only at the end");
            string[] cells = line.Split(',');
            if (columns < 0 && rows.Count == 0 && headerLine == 0 && !cells.All(c => TryParse(c, out _)))
            {
                headerLine = lineNo;
                columns = cells.Length;
                continue;
            }
            if (columns >= 0 && cells.Length != columns)
                throw Error(sourceName, lineNo, Math.Min(cells.Length, columns) + 1, "",
                    $"ragged row: {cells.Length} column(s) but " +
                    (rows.Count == 0 ? $"the header on line {headerLine} has {columns}" : $"earlier rows have {columns}"));
            columns = cells.Length;
            var row = new double[cells.Length];
            for (int c = 0; c < cells.Length; c++)
            {
                if (!TryParse(cells[c], out double v))
                    throw Error(sourceName, lineNo, c + 1, cells[c], "not a number");
                if (!double.IsFinite(v) || (norms && v < 0))
                    throw Error(sourceName, lineNo, c + 1, cells[c],
                        norms ? "a gradient norm must be finite and non-negative" : "a gradient component must be finite");
                row[c] = v;
            }
            rows.Add(row);
        }
        if (rows.Count == 0)
            throw new FormatException($"{sourceName}: no data rows (expected one row per lag k = 0..W-1, one column per sample)");
        if (rows.Count < 2)
            throw new FormatException(
                $"{sourceName}: only {rows.Count} lag row; at least 2 lags (one row per lag k = 0..W-1) are needed to see a decay");
        return rows;
    }

    private static bool TryParse(string cell, out double value) =>
        double.TryParse(cell.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out value);

    private static FormatException Error(string source, int line, int column, string text, string why)
    {
        string shown = text.Trim();
        if (shown.Length > 40) shown = shown[..40] + "…";
        // Control characters (a stray NUL, an escape sequence) would corrupt the terminal or split the line.
        if (shown.Any(char.IsControl) || shown.Any(char.IsSurrogate))
            shown = string.Concat(shown.Select(c => char.IsControl(c) || char.IsSurrogate(c) ? $"\\u{(int)c:x4}" : c.ToString()));
        return new FormatException(
            $"{source}: line {line}, column {column}" + (text.Length > 0 ? $": '{shown}'" : "") + $": {why}");
    }
}
