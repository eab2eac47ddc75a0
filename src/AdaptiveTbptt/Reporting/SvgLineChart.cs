using System.Globalization;
using System.Text;
using Tbptt.Checkpoints;

namespace Tbptt.Reporting;

/// <summary>Where the legend box sits inside the plot area.</summary>
internal enum LegendPlacement
{
    /// <summary>Top right: clear of curves that fall from the top left, like a loss.</summary>
    TopRight,
    /// <summary>Top left.</summary>
    TopLeft,
    /// <summary>Bottom right: clear of curves that rise, like K over training.</summary>
    BottomRight,
    /// <summary>Bottom left.</summary>
    BottomLeft,
    /// <summary>No legend.</summary>
    None,
}

/// <summary>
/// A dependency-free line chart written as a standalone SVG file that any browser opens: title, axis labels,
/// 1-2-5 ticks (decades on a log axis), several series with distinct colours and optional dashes or markers, and
/// a legend. No plotting package is on the project's feed, and a run's plots must not need one to be viewed.
/// </summary>
/// <remarks>
/// Each series with at least one drawable point becomes exactly one <c>&lt;path class="series"&gt;</c>; points
/// that are NaN, ±∞ or (on a log axis) ≤ 0 are skipped and split the path into pieces. An empty series draws
/// nothing but keeps its legend entry, so a run that produced no evaluations is visibly missing rather than
/// silently absent. All numbers are written with the invariant culture and all text is XML-escaped.
/// </remarks>
/// <example><code>
/// var chart = new SvgLineChart { Title = "copy, m = 10", XLabel = "epoch", YLabel = "valid PPL", LogY = true };
/// chart.Add(new Series("K = 5", epochs, ppl5) { Dashed = true });
/// chart.Save("out/valid_ppl.svg");
/// </code></example>
internal sealed class SvgLineChart
{
    /// <summary>
    /// The Okabe–Ito palette, which stays distinguishable under the common colour-vision deficiencies; yellow is
    /// last because it is faint on white. Series beyond eight reuse the colours with a dash pattern.
    /// </summary>
    public static IReadOnlyList<string> Palette { get; } =
        ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"];

    private const double CharWidth = 7.0; // rough advance of a 12 px sans-serif glyph, for layout only
    private const double PixelLimit = 1e6; // keeps off-scale points from writing absurd coordinates
    private readonly List<Series> _series = [];

    /// <summary>The chart title, drawn centred above the plot.</summary>
    public string Title { get; set; } = "";

    /// <summary>The x-axis label.</summary>
    public string XLabel { get; set; } = "";

    /// <summary>The y-axis label, drawn rotated along the axis.</summary>
    public string YLabel { get; set; } = "";

    /// <summary>Log-scale x axis (decade ticks); non-positive x values are skipped.</summary>
    public bool LogX { get; set; }

    /// <summary>Log-scale y axis (decade ticks); non-positive y values are skipped.</summary>
    public bool LogY { get; set; }

    /// <summary>Dots at every point for series that do not say otherwise; useful when there are few points.</summary>
    public bool Markers { get; set; }

    /// <summary>Fixes the low end of the x axis; null fits the data.</summary>
    public double? XMin { get; set; }

    /// <summary>Fixes the high end of the x axis; null fits the data.</summary>
    public double? XMax { get; set; }

    /// <summary>Fixes the low end of the y axis (e.g. 1 for a perplexity); null fits the data.</summary>
    public double? YMin { get; set; }

    /// <summary>Fixes the high end of the y axis; null fits the data. Points beyond a fixed end are clipped.</summary>
    public double? YMax { get; set; }

    /// <summary>Where the legend goes.</summary>
    public LegendPlacement Legend { get; set; } = LegendPlacement.TopRight;

    /// <summary>The series added so far, in drawing and legend order.</summary>
    public IReadOnlyList<Series> Series => _series;

    /// <summary>Adds a series; it is drawn after (on top of) those added before.</summary>
    public SvgLineChart Add(Series series)
    {
        ArgumentNullException.ThrowIfNull(series);
        _series.Add(series);
        return this;
    }

    /// <summary>Writes the chart to <paramref name="path"/> atomically (a reader never sees half a file).</summary>
    public void Save(string path, int width = 720, int height = 420) => AtomicFile.WriteAllText(path, Render(width, height));

    /// <summary>Returns the chart as a standalone SVG document of the given pixel size.</summary>
    public string Render(int width = 720, int height = 420) => Render(width, height, "plot-area", null);

    /// <summary>
    /// Small multiples: <paramref name="charts"/> as panels of <paramref name="cellWidth"/> × <paramref name="cellHeight"/>
    /// px, <paramref name="columns"/> to a row, under an optional title, in one SVG document. Give the panels the same
    /// fixed axis ranges to make them comparable.
    /// </summary>
    public static string RenderGrid(IReadOnlyList<SvgLineChart> charts, int columns, int cellWidth, int cellHeight, string title = "")
    {
        ArgumentNullException.ThrowIfNull(charts);
        if (charts.Count == 0) throw new ArgumentException("a grid needs at least one chart.", nameof(charts));
        if (columns < 1) throw new ArgumentOutOfRangeException(nameof(columns), columns, "columns must be at least 1.");
        int rows = (charts.Count + columns - 1) / columns, top = title.Length > 0 ? 36 : 0;
        int width = Math.Min(columns, charts.Count) * cellWidth, height = top + rows * cellHeight;
        var svg = new StringBuilder();
        svg.Append($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" ")
           .Append("font-family=\"Helvetica, Arial, sans-serif\" font-size=\"12\">\n");
        if (title.Length > 0) svg.Append($"<title>{Escape(title)}</title>\n");
        svg.Append($"<rect width=\"{width}\" height=\"{height}\" fill=\"white\"/>\n");
        if (title.Length > 0)
            svg.Append($"<text class=\"title\" x=\"{F(width / 2.0)}\" y=\"24\" text-anchor=\"middle\" font-size=\"16\" font-weight=\"bold\">{Escape(title)}</text>\n");
        for (int i = 0; i < charts.Count; i++)
        {
            int x = i % columns * cellWidth, y = top + i / columns * cellHeight;
            svg.Append(charts[i].Render(cellWidth, cellHeight, $"plot-area-{i}", (x, y)));
        }
        svg.Append("</svg>\n");
        return svg.ToString();
    }

    /// <summary>Writes <see cref="RenderGrid"/> to <paramref name="path"/> atomically.</summary>
    public static void SaveGrid(string path, IReadOnlyList<SvgLineChart> charts, int columns, int cellWidth = 420, int cellHeight = 300, string title = "") =>
        AtomicFile.WriteAllText(path, RenderGrid(charts, columns, cellWidth, cellHeight, title));

    /// <param name="clipId">The plot area's clip-path id, unique within the document.</param>
    /// <param name="at">Null: a standalone document; else a nested &lt;svg&gt; at this position of a grid.</param>
    private string Render(int width, int height, string clipId, (int X, int Y)? at)
    {
        if (width < 160) throw new ArgumentOutOfRangeException(nameof(width), width, "width must be at least 160 px.");
        if (height < 120) throw new ArgumentOutOfRangeException(nameof(height), height, "height must be at least 120 px.");
        var (xMin, xMax, xTicks) = FitAxis(true, LogX, XMin, XMax);
        var (yMin, yMax, yTicks) = FitAxis(false, LogY, YMin, YMax);
        string[] yLabels = [.. yTicks.Select(NiceTicks.Format)];

        double left = 24 + (YLabel.Length > 0 ? 18 : 0) + CharWidth * yLabels.Max(l => l.Length);
        double top = Title.Length > 0 ? 40 : 16, right = width - 20, bottom = height - (XLabel.Length > 0 ? 48 : 30);
        if (right - left < 40 || bottom - top < 40)
            throw new ArgumentException($"a {width}×{height} px chart leaves no room for the plot area.");
        double Px(double x) => Clamp(left + (right - left) * Fraction(x, xMin, xMax, LogX));
        double Py(double y) => Clamp(bottom - (bottom - top) * Fraction(y, yMin, yMax, LogY));

        var svg = new StringBuilder();
        if (at is { } pos) svg.Append($"<svg class=\"panel\" x=\"{pos.X}\" y=\"{pos.Y}\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\">\n");
        else svg.Append($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" ")
           .Append("font-family=\"Helvetica, Arial, sans-serif\" font-size=\"12\">\n");
        if (Title.Length > 0) svg.Append($"<title>{Escape(Title)}</title>\n");
        svg.Append($"<rect width=\"{width}\" height=\"{height}\" fill=\"white\"/>\n");
        svg.Append($"<defs><clipPath id=\"{clipId}\"><rect x=\"{F(left)}\" y=\"{F(top)}\" width=\"{F(right - left)}\" height=\"{F(bottom - top)}\"/></clipPath></defs>\n");

        svg.Append("<g class=\"grid\" stroke=\"#e3e3e3\" stroke-width=\"1\">\n");
        foreach (double t in xTicks) svg.Append($"<line x1=\"{F(Px(t))}\" y1=\"{F(top)}\" x2=\"{F(Px(t))}\" y2=\"{F(bottom)}\"/>\n");
        foreach (double t in yTicks) svg.Append($"<line x1=\"{F(left)}\" y1=\"{F(Py(t))}\" x2=\"{F(right)}\" y2=\"{F(Py(t))}\"/>\n");
        svg.Append("</g>\n");

        svg.Append("<g class=\"x-ticks\" text-anchor=\"middle\" fill=\"#333\">\n");
        foreach (double t in xTicks)
            svg.Append($"<text x=\"{F(Px(t))}\" y=\"{F(bottom + 16)}\">{Escape(NiceTicks.Format(t))}</text>\n");
        svg.Append("</g>\n<g class=\"y-ticks\" text-anchor=\"end\" fill=\"#333\">\n");
        for (int i = 0; i < yTicks.Length; i++)
            svg.Append($"<text x=\"{F(left - 6)}\" y=\"{F(Py(yTicks[i]) + 4)}\">{Escape(yLabels[i])}</text>\n");
        svg.Append("</g>\n");

        // Bands first, under every line.
        svg.Append($"<g class=\"bands\" clip-path=\"url(#{clipId})\" stroke=\"none\" fill-opacity=\"0.18\">\n");
        for (int s = 0; s < _series.Count; s++)
            AppendBand(svg, _series[s], s, Px, Py);
        svg.Append("</g>\n");
        svg.Append($"<g class=\"data\" clip-path=\"url(#{clipId})\" fill=\"none\" stroke-width=\"1.8\" stroke-linejoin=\"round\" stroke-linecap=\"round\">\n");
        for (int s = 0; s < _series.Count; s++)
            AppendSeries(svg, _series[s], s, Px, Py);
        svg.Append("</g>\n");

        svg.Append($"<rect class=\"frame\" x=\"{F(left)}\" y=\"{F(top)}\" width=\"{F(right - left)}\" height=\"{F(bottom - top)}\" fill=\"none\" stroke=\"#333\"/>\n");
        if (Title.Length > 0)
            svg.Append($"<text class=\"title\" x=\"{F(width / 2.0)}\" y=\"24\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\">{Escape(Title)}</text>\n");
        if (XLabel.Length > 0)
            svg.Append($"<text class=\"x-label\" x=\"{F((left + right) / 2)}\" y=\"{F(height - 12.0)}\" text-anchor=\"middle\">{Escape(XLabel)}</text>\n");
        if (YLabel.Length > 0)
            svg.Append($"<text class=\"y-label\" transform=\"translate(16 {F((top + bottom) / 2)}) rotate(-90)\" text-anchor=\"middle\">{Escape(YLabel)}</text>\n");
        AppendLegend(svg, left, top, right, bottom);
        svg.Append("</svg>\n");
        return svg.ToString();
    }

    /// <summary>The series' band as one closed polygon per unbroken piece (low ends forward, high ends back).</summary>
    private void AppendBand(StringBuilder svg, Series series, int index, Func<double, double> px, Func<double, double> py)
    {
        if (series.Low is not { } low || series.High is not { } high) return;
        var (color, _) = Style(series, index);
        var piece = new List<int>();
        void Flush()
        {
            if (piece.Count > 0)
            {
                var d = new StringBuilder();
                foreach (int i in piece) d.Append(d.Length == 0 ? 'M' : 'L').Append(F(px(series.Xs[i]))).Append(' ').Append(F(py(low[i]))).Append(' ');
                for (int j = piece.Count - 1; j >= 0; j--) d.Append('L').Append(F(px(series.Xs[piece[j]]))).Append(' ').Append(F(py(high[piece[j]]))).Append(' ');
                svg.Append($"<path class=\"band\" data-name=\"{Escape(series.Name)}\" fill=\"{Escape(color)}\" d=\"{d}Z\"/>\n");
            }
            piece.Clear();
        }
        for (int i = 0; i < series.Count; i++)
        {
            if (Drawable(series.Xs[i], LogX) && Drawable(low[i], LogY) && Drawable(high[i], LogY)) piece.Add(i);
            else Flush();
        }
        Flush();
    }

    private void AppendSeries(StringBuilder svg, Series series, int index, Func<double, double> px, Func<double, double> py)
    {
        var (color, dash) = Style(series, index);
        var d = new StringBuilder();
        var dots = new StringBuilder();
        bool penDown = false, drawable = false;
        double radius = 2.6;
        for (int i = 0; i < series.Count; i++)
        {
            double x = series.Xs[i], y = series.Ys[i];
            if (!Drawable(x, LogX) || !Drawable(y, LogY)) { penDown = false; continue; }
            string sx = F(px(x)), sy = F(py(y));
            // A lone point of a piece is a zero-length segment: with round caps it still shows as a dot.
            bool lone = !penDown && (i + 1 >= series.Count || !Drawable(series.Xs[i + 1], LogX) || !Drawable(series.Ys[i + 1], LogY));
            d.Append(d.Length == 0 ? "" : " ").Append(penDown ? 'L' : 'M').Append(sx).Append(' ').Append(sy);
            if (lone) d.Append(" h0");
            if (series.Markers ?? Markers)
                dots.Append($"<circle cx=\"{sx}\" cy=\"{sy}\" r=\"{F(radius)}\"/>");
            penDown = drawable = true;
        }
        if (!drawable) return;
        svg.Append($"<path class=\"series\" data-name=\"{Escape(series.Name)}\" stroke=\"{Escape(color)}\"");
        if (dash is not null) svg.Append($" stroke-dasharray=\"{dash}\"");
        svg.Append($" d=\"{d}\"/>\n");
        if (dots.Length > 0) svg.Append($"<g class=\"markers\" fill=\"{Escape(color)}\" stroke=\"none\">{dots}</g>\n");
    }

    private void AppendLegend(StringBuilder svg, double left, double top, double right, double bottom)
    {
        if (Legend == LegendPlacement.None || _series.Count == 0) return;
        const double row = 18, pad = 8, swatch = 26;
        double boxW = pad * 2 + swatch + 6 + CharWidth * _series.Max(s => s.Name.Length + (s.Count == 0 ? 10 : 0));
        double boxH = pad * 2 + row * _series.Count - 4;
        double x = Legend is LegendPlacement.TopLeft or LegendPlacement.BottomLeft ? left + 10 : right - 10 - boxW;
        double y = Legend is LegendPlacement.TopLeft or LegendPlacement.TopRight ? top + 10 : bottom - 10 - boxH;
        svg.Append($"<g class=\"legend\">\n<rect x=\"{F(x)}\" y=\"{F(y)}\" width=\"{F(boxW)}\" height=\"{F(boxH)}\" fill=\"white\" fill-opacity=\"0.85\" stroke=\"#999\"/>\n");
        for (int s = 0; s < _series.Count; s++)
        {
            var (color, dash) = Style(_series[s], s);
            double cy = y + pad + row * s + 6;
            svg.Append($"<line x1=\"{F(x + pad)}\" y1=\"{F(cy)}\" x2=\"{F(x + pad + swatch)}\" y2=\"{F(cy)}\" stroke=\"{Escape(color)}\" stroke-width=\"2\"");
            if (dash is not null) svg.Append($" stroke-dasharray=\"{dash}\"");
            string label = _series[s].Count == 0 ? _series[s].Name + " (no data)" : _series[s].Name;
            svg.Append($"/>\n<text class=\"legend-item\" x=\"{F(x + pad + swatch + 6)}\" y=\"{F(cy + 4)}\">{Escape(label)}</text>\n");
        }
        svg.Append("</g>\n");
    }

    private static (string Color, string? Dash) Style(Series series, int index)
    {
        string color = series.Color ?? Palette[index % Palette.Count];
        bool cycled = index >= Palette.Count && series.Color is null;
        string? dash = series.Dashed ? "6 4" : cycled ? "2 3" : null;
        return (color, dash);
    }

    private (double Min, double Max, double[] Ticks) FitAxis(bool isX, bool log, double? fixedMin, double? fixedMax)
    {
        double lo = double.PositiveInfinity, hi = double.NegativeInfinity;
        foreach (var s in _series)
            for (int i = 0; i < s.Count; i++)
            {
                double x = s.Xs[i], y = s.Ys[i];
                if (!Drawable(x, LogX) || !Drawable(y, LogY)) continue;
                double v = isX ? x : y;
                lo = Math.Min(lo, v);
                hi = Math.Max(hi, v);
                if (isX || s.Low is null || s.High is null) continue;
                foreach (double e in (ReadOnlySpan<double>)[s.Low[i], s.High[i]])
                    if (Drawable(e, LogY)) { lo = Math.Min(lo, e); hi = Math.Max(hi, e); }
            }
        string axis = isX ? "x" : "y";
        if (fixedMin is { } fmin && (!double.IsFinite(fmin) || (log && fmin <= 0)))
            throw new InvalidOperationException($"the fixed {axis} minimum {fmin} is not usable on this axis.");
        if (fixedMax is { } fmax && (!double.IsFinite(fmax) || (log && fmax <= 0)))
            throw new InvalidOperationException($"the fixed {axis} maximum {fmax} is not usable on this axis.");
        if (double.IsInfinity(lo)) (lo, hi) = log ? (1.0, 10.0) : (0.0, 1.0); // nothing drawable
        lo = fixedMin ?? lo;
        hi = fixedMax ?? hi;
        if (fixedMin is not null && fixedMax is not null && !(hi > lo))
            throw new InvalidOperationException($"the fixed {axis} range [{lo}, {hi}] is empty.");
        if (!(hi > lo))
        {
            // A single value (or a fixed end beyond all data): widen around it so the axis has a span.
            double c = fixedMin is not null ? lo : hi;
            if (log) (lo, hi) = fixedMin is not null ? (c, c * 10) : fixedMax is not null ? (c / 10, c) : (c / 2, c * 2);
            else
            {
                double w = c == 0 ? 1 : Math.Abs(c) * 0.1;
                (lo, hi) = fixedMin is not null ? (c, c + w) : fixedMax is not null ? (c - w, c) : (c - w, c + w);
            }
        }
        double[] ticks = log ? NiceTicks.Log(lo, hi) : NiceTicks.Linear(lo, hi);
        double min = fixedMin ?? Math.Min(lo, ticks[0]);
        double max = fixedMax ?? Math.Max(hi, ticks[^1]);
        ticks = [.. ticks.Where(t => t >= min - 1e-9 * (max - min) && t <= max + 1e-9 * (max - min))];
        return (min, max, ticks);
    }

    private static bool Drawable(double v, bool log) => double.IsFinite(v) && (!log || v > 0);

    private static double Fraction(double v, double min, double max, bool log) =>
        log ? (Math.Log10(v) - Math.Log10(min)) / (Math.Log10(max) - Math.Log10(min)) : (v - min) / (max - min);

    private static double Clamp(double pixel) => Math.Clamp(pixel, -PixelLimit, PixelLimit);

    private static string F(double v) => Math.Round(v, 2).ToString("0.##", CultureInfo.InvariantCulture);

    /// <summary>
    /// Escapes the five XML special characters, so titles like "loss &lt; 2 &amp; K" stay well-formed, and
    /// replaces control characters that XML 1.0 forbids outright with U+FFFD.
    /// </summary>
    public static string Escape(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        bool clean = true;
        foreach (char c in text)
            if (c is '&' or '<' or '>' or '"' or '\'' || IsForbidden(c)) { clean = false; break; }
        if (clean) return text;
        var sb = new StringBuilder(text.Length + 16);
        foreach (char c in text)
        {
            switch (c)
            {
                case '&': sb.Append("&amp;"); break;
                case '<': sb.Append("&lt;"); break;
                case '>': sb.Append("&gt;"); break;
                case '"': sb.Append("&quot;"); break;
                case '\'': sb.Append("&apos;"); break;
                default: sb.Append(IsForbidden(c) ? '\uFFFD' : c); break;
            }
        }
        return sb.ToString();
    }

    private static bool IsForbidden(char c) => c < 0x20 && c is not ('\t' or '\n' or '\r');
}
