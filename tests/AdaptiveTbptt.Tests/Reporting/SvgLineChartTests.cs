using System.Globalization;
using System.Xml.Linq;
using Tbptt.Reporting;

namespace Tbptt.Tests;

public class SvgLineChartTests
{
    private static readonly XNamespace Svg = "http://www.w3.org/2000/svg";

    private static XDocument Parse(SvgLineChart chart) => XDocument.Parse(chart.Render());

    private static List<XElement> SeriesPaths(XDocument doc) =>
        [.. doc.Descendants(Svg + "path").Where(p => (string?)p.Attribute("class") == "series")];

    private static List<string> Texts(XDocument doc, string groupClass) =>
        [.. doc.Descendants(Svg + "g").Single(g => (string?)g.Attribute("class") == groupClass)
            .Elements(Svg + "text").Select(t => t.Value)];

    [Fact]
    public void OnePathPerNonEmptySeries_AndALegendEntryForEverySeries()
    {
        var chart = new SvgLineChart { Title = "valid PPL", XLabel = "epoch", YLabel = "PPL" };
        chart.Add(new Series("K = 5", [1, 2, 3], [1.9, 1.8, 1.7]));
        chart.Add(new Series("empty", [], []));
        chart.Add(new Series("δ = 0.5", [1, 2, 3], [1.5, 1.2, 1.05]) { Dashed = true });

        var doc = Parse(chart);

        var paths = SeriesPaths(doc);
        Assert.Equal(["K = 5", "δ = 0.5"], paths.Select(p => (string)p.Attribute("data-name")!));
        Assert.Null(paths[0].Attribute("stroke-dasharray"));
        Assert.NotNull(paths[1].Attribute("stroke-dasharray"));
        var legend = doc.Descendants(Svg + "text").Where(t => (string?)t.Attribute("class") == "legend-item").Select(t => t.Value);
        Assert.Equal(["K = 5", "empty (no data)", "δ = 0.5"], legend);
        Assert.Equal("valid PPL", doc.Root!.Element(Svg + "title")!.Value);
    }

    [Fact]
    public void LogY_PutsTicksOnDecades()
    {
        var chart = new SvgLineChart { LogY = true };
        chart.Add(new Series("decay", [0, 1, 2, 3], [50, 3, 0.02, 0.0015]));

        var labels = Texts(Parse(chart), "y-ticks");

        Assert.Equal(["0.001", "0.01", "0.1", "1", "10", "100"], labels);
    }

    [Fact]
    public void LogY_WithinOneDecade_StillGivesSeveralTicks()
    {
        var chart = new SvgLineChart { LogY = true };
        chart.Add(new Series("ppl", [1, 2, 3], [1.87, 1.3, 1.02]));

        var ticks = Texts(Parse(chart), "y-ticks").Select(t => double.Parse(t, CultureInfo.InvariantCulture)).ToList();

        Assert.True(ticks.Count >= 4, string.Join(" ", ticks));
        Assert.All(ticks, t => Assert.True(t > 0));
        Assert.True(ticks[0] <= 1.02 && ticks[^1] >= 1.87, string.Join(" ", ticks));
    }

    [Fact]
    public void LogX_AndNonPositiveValuesOnALogAxis_AreSkipped()
    {
        var chart = new SvgLineChart { LogX = true, LogY = true };
        chart.Add(new Series("phi", [0, 1, 10, 100, 1000], [1, 0.5, -1, 0.05, 0.01]));

        var doc = Parse(chart);

        Assert.Equal(["1", "10", "100", "1000"], Texts(doc, "x-ticks"));
        string d = (string)SeriesPaths(doc).Single().Attribute("d")!;
        Assert.Equal(2, d.Count(c => c == 'M')); // x = 0 dropped; y = -1 breaks the line
    }

    [Fact]
    public void LinearTicks_Step_1_2_5()
    {
        Assert.Equal([0, 0.2, 0.4, 0.6, 0.8, 1.0], NiceTicks.Linear(0.03, 0.97), new ToleranceComparer());
        Assert.Equal(20, NiceTicks.Step(97, 6));
        Assert.Equal(0.5, NiceTicks.Step(2.6, 6));
        Assert.Equal(1, NiceTicks.Step(5.5, 6));
        Assert.Equal(["0", "0.3", "1e-5", "2.5e6", "-40"], new[] { -0.0, 0.1 + 0.2, 1e-5, 2.5e6, -40 }.Select(NiceTicks.Format));
    }

    [Fact]
    public void Text_IsEscaped_AndTheDocumentStaysWellFormed()
    {
        var chart = new SvgLineChart { Title = "loss < 2 & \"K\" > 'x'", XLabel = "a&b", YLabel = "<y>" };
        chart.Add(new Series("<script>", [0, 1], [0, 1]));

        string svg = chart.Render();
        var doc = XDocument.Parse(svg);

        Assert.DoesNotContain("<script>", svg);
        Assert.Equal("loss < 2 & \"K\" > 'x'", doc.Descendants(Svg + "text").Single(t => (string?)t.Attribute("class") == "title").Value);
        Assert.Equal("<script>", (string)SeriesPaths(doc).Single().Attribute("data-name")!);
        Assert.Equal("a\uFFFDb", SvgLineChart.Escape("a\u0001b"));
    }

    [Fact]
    public void NaNAndInfinity_LeaveAGap()
    {
        var chart = new SvgLineChart();
        chart.Add(new Series("diverged", [0, 1, 2, 3, 4, 5], [1, 2, double.NaN, 4, double.PositiveInfinity, 6]));

        var doc = Parse(chart);

        string d = (string)SeriesPaths(doc).Single().Attribute("d")!;
        Assert.DoesNotContain("NaN", d);
        Assert.DoesNotContain("Infinity", d);
        Assert.Equal(3, d.Count(c => c == 'M'));
        Assert.Equal(1, d.Count(c => c == 'L'));
        Assert.Equal(2, CountOccurrences(d, "h0")); // the lone points at x = 3 and x = 5 still show
        Assert.Equal(["1", "2", "3", "4", "5", "6"], Texts(doc, "y-ticks")); // the NaN and ∞ do not stretch the axis
    }

    [Fact]
    public void NumbersAreInvariant_UnderACommaDecimalCulture()
    {
        var comma = (CultureInfo)CultureInfo.InvariantCulture.Clone();
        comma.NumberFormat.NumberDecimalSeparator = ",";
        var saved = CultureInfo.CurrentCulture;
        try
        {
            CultureInfo.CurrentCulture = comma;
            var chart = new SvgLineChart();
            chart.Add(new Series("s", [0.5, 1.25, 2.75], [0.1, 0.35, 0.2]));
            string svg = chart.Render(width: 701, height: 413);
            var doc = XDocument.Parse(svg);
            Assert.DoesNotContain(',', (string)SeriesPaths(doc).Single().Attribute("d")!);
            Assert.All(doc.Descendants().Attributes().Where(a => a.Name.LocalName is "x" or "y" or "x1" or "y2" or "width"),
                a => Assert.DoesNotContain(',', a.Value));
            Assert.Contains("0.1", Texts(doc, "y-ticks"));
        }
        finally
        {
            CultureInfo.CurrentCulture = saved;
        }
    }

    [Fact]
    public void Series_GetDistinctPaletteColours_AndMarkersWhenAsked()
    {
        var chart = new SvgLineChart { Markers = true };
        for (int i = 0; i < SvgLineChart.Palette.Count; i++)
            chart.Add(new Series($"s{i}", [0, 1, 2], [i, i + 1, i]));

        var doc = Parse(chart);

        var colours = SeriesPaths(doc).Select(p => (string)p.Attribute("stroke")!).ToList();
        Assert.Equal(SvgLineChart.Palette.Count, colours.Distinct().Count());
        Assert.Equal(3 * SvgLineChart.Palette.Count, doc.Descendants(Svg + "circle").Count());
    }

    [Fact]
    public void EmptyChart_AndConstantSeries_RenderWellFormed()
    {
        var empty = Parse(new SvgLineChart { Title = "nothing yet" });
        Assert.Empty(SeriesPaths(empty));

        var flat = new SvgLineChart { LogY = true }.Add(new Series("K", [0, 1, 2], [15, 15, 15]));
        var doc = Parse(flat);
        Assert.Single(SeriesPaths(doc));
        Assert.True(Texts(doc, "y-ticks").Count >= 2);
    }

    [Fact]
    public void MismatchedLengths_Throw()
    {
        var e = Assert.Throws<ArgumentException>(() => new Series("bad", [1, 2, 3], [1, 2]));
        Assert.Contains("3 x values but 2 y values", e.Message);
    }

    [Fact]
    public void Save_ReplacesTheFile_AndLeavesNoTemporaryFiles()
    {
        string dir = Directory.CreateTempSubdirectory("svgchart").FullName;
        try
        {
            string path = Path.Combine(dir, "ppl.svg");
            File.WriteAllText(path, "old content");
            var chart = new SvgLineChart { Title = "saved" }.Add(new Series("s", [0, 1], [2, 3]));

            chart.Save(path);

            Assert.Equal("saved", XDocument.Load(path).Root!.Element(Svg + "title")!.Value);
            Assert.Equal(["ppl.svg"], Directory.GetFiles(dir).Select(Path.GetFileName));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static int CountOccurrences(string text, string part)
    {
        int n = 0;
        for (int i = text.IndexOf(part, StringComparison.Ordinal); i >= 0; i = text.IndexOf(part, i + 1, StringComparison.Ordinal)) n++;
        return n;
    }

    private sealed class ToleranceComparer : IEqualityComparer<double>
    {
        public bool Equals(double a, double b) => Math.Abs(a - b) <= 1e-12;
        public int GetHashCode(double v) => 0;
    }

    [Fact]
    public void ABandIsOnePolygonPerUnbrokenPiece_UnderItsLine_AndWidensTheAxis()
    {
        var chart = new SvgLineChart { LogY = true };
        chart.Add(new Series("mean", [1, 2, 3, 4], [0.5, 0.2, 0.1, 0.05]) { Low = [0.3, double.NaN, 0.05, 0.01], High = [0.8, 0.4, 0.3, 2000] });
        chart.Add(new Series("plain", [1, 2], [0.3, 0.2]));
        var doc = Parse(chart);
        var bands = doc.Descendants(Svg + "path").Where(p => (string?)p.Attribute("class") == "band").ToList();
        // The NaN at x = 2 splits the band: the first piece holds one point, the second two.
        Assert.Equal(2, bands.Count);
        Assert.All(bands, b => Assert.Equal("mean", (string)b.Attribute("data-name")!));
        Assert.EndsWith("Z", (string)bands[1].Attribute("d")!);
        // Bands are drawn before (under) every line.
        var order = doc.Descendants(Svg + "path").Select(p => (string?)p.Attribute("class")).ToList();
        Assert.True(order.LastIndexOf("band") < order.IndexOf("series"), string.Join(" ", order));
        Assert.Contains("1000", Texts(doc, "y-ticks")); // the band's 2000 is inside the axis
        Assert.Throws<ArgumentException>(() => new Series("bad", [1, 2], [1, 2]) { Low = [1] });
    }

    [Fact]
    public void AGridNestsEveryPanelWithItsOwnClipPath()
    {
        var panels = Enumerable.Range(0, 5).Select(i => new SvgLineChart { Title = $"panel {i}" }.Add(new Series("s", [0, 1], [i, i + 1]))).ToList();
        var doc = XDocument.Parse(SvgLineChart.RenderGrid(panels, columns: 2, cellWidth: 300, cellHeight: 200, title: "all & more"));
        Assert.Equal("600", (string)doc.Root!.Attribute("width")!);
        Assert.Equal(36 + 3 * 200, int.Parse((string)doc.Root!.Attribute("height")!, CultureInfo.InvariantCulture));
        var nested = doc.Root!.Elements(Svg + "svg").ToList();
        Assert.Equal(5, nested.Count);
        Assert.Equal(["0", "300", "0", "300", "0"], nested.Select(n => (string)n.Attribute("x")!));
        var clipIds = doc.Descendants(Svg + "clipPath").Select(c => (string)c.Attribute("id")!).ToList();
        Assert.Equal(clipIds.Distinct(), clipIds);
        Assert.Equal(5, clipIds.Count);
        Assert.Equal(5, SeriesPaths(doc).Count);
        Assert.Throws<ArgumentException>(() => SvgLineChart.RenderGrid([], 2, 300, 200));
    }
}
