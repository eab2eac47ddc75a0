using System.Globalization;
using System.Text.Json;
using Tbptt.Reporting;

namespace Tbptt.Tests;

public sealed class MetricsWriterTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("metrics").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly string[] Columns = ["epoch", "valid_ppl", "k", "note"];

    [Fact]
    public void HeaderIsWrittenOnce_AndDoublesRoundTripBitForBit()
    {
        string path = Path.Combine(_dir, "run", "metrics.csv"); // the directory does not exist yet
        double[] values = [0.1 + 0.2, 1.0 / 3, 1e-300, -0.0, 123456789.123456789];
        using (var w = new CsvMetricsWriter(path, Columns))
        {
            w.WriteRow(0, values[0], 15, "start");
            w.WriteRow(1, values[1], 16, null);
        }
        using (var w = new CsvMetricsWriter(path, Columns, append: true))
        {
            for (int i = 2; i < values.Length; i++) w.WriteRow(i, values[i], 15 + i, "x");
            Assert.Equal(3, w.RowsWritten);
        }

        string[] lines = File.ReadAllLines(path);
        Assert.Equal("epoch,valid_ppl,k,note", lines[0]);
        Assert.Single(lines, l => l.StartsWith("epoch", StringComparison.Ordinal));
        Assert.Equal(values.Length + 1, lines.Length);
        for (int i = 0; i < values.Length; i++)
        {
            string[] cells = lines[i + 1].Split(',');
            Assert.Equal(i, int.Parse(cells[0], CultureInfo.InvariantCulture));
            double back = double.Parse(cells[1], CultureInfo.InvariantCulture);
            Assert.Equal(BitConverter.DoubleToInt64Bits(values[i]), BitConverter.DoubleToInt64Bits(back));
        }
        Assert.Equal("1,0.3333333333333333,16,", lines[2]);
    }

    [Fact]
    public void NullAndNaN_AreEmptyCells_InfinityParsesBack()
    {
        string path = Path.Combine(_dir, "m.csv");
        using (var w = new CsvMetricsWriter(path, Columns))
            w.WriteRow(null, double.NaN, double.PositiveInfinity, float.NegativeInfinity);

        string row = File.ReadAllLines(path)[1];
        Assert.Equal(",,Infinity,-Infinity", row);
        Assert.Equal(double.PositiveInfinity, double.Parse(row.Split(',')[2], CultureInfo.InvariantCulture));
        Assert.Equal("", CsvMetricsWriter.FormatCell(float.NaN));
        Assert.Equal("0.1", CsvMetricsWriter.FormatCell(0.1f));
        Assert.Equal("true", CsvMetricsWriter.FormatCell(true));
    }

    [Fact]
    public void RowsAreOnDisk_BeforeTheWriterIsClosed()
    {
        string path = Path.Combine(_dir, "live.csv");
        using var w = new CsvMetricsWriter(path, Columns);
        w.WriteRow(3, 1.5, 10, "live");

        using var reader = new StreamReader(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite));
        Assert.Equal("epoch,valid_ppl,k,note\n3,1.5,10,live\n", reader.ReadToEnd());
    }

    [Fact]
    public void NamedRows_FillByName_AndRejectUnknownColumns()
    {
        string path = Path.Combine(_dir, "named.csv");
        using (var w = new CsvMetricsWriter(path, Columns))
        {
            w.WriteNamedRow(new Dictionary<string, object?> { ["k"] = 20, ["epoch"] = 7 });
            var e = Assert.Throws<ArgumentException>(() => w.WriteNamedRow(new Dictionary<string, object?> { ["valid_pll"] = 1.0 }));
            Assert.Contains("'valid_pll' is not a column", e.Message);
            var count = Assert.Throws<ArgumentException>(() => w.WriteRow(1, 2.0));
            Assert.Contains("2 values for 4 columns", count.Message);
        }
        Assert.Equal(["epoch,valid_ppl,k,note", "7,,20,"], File.ReadAllLines(path));
    }

    [Fact]
    public void TextWithCommasOrQuotes_IsQuoted()
    {
        Assert.Equal("\"K=5, δ=0.1\"", CsvMetricsWriter.FormatCell("K=5, δ=0.1"));
        Assert.Equal("\"say \"\"hi\"\"\"", CsvMetricsWriter.FormatCell("say \"hi\""));
        Assert.Equal("plain", CsvMetricsWriter.FormatCell("plain"));
    }

    [Fact]
    public void Append_ToAFileWithAnotherHeader_Throws()
    {
        string path = Path.Combine(_dir, "other.csv");
        File.WriteAllText(path, "a,b\n1,2\n");

        File.WriteAllText(Path.Combine(_dir, "cut.csv"), "epoch,valid_ppl,k,note\n1,1.5,1"); // a crash mid-row
        using (var w = new CsvMetricsWriter(Path.Combine(_dir, "cut.csv"), Columns, append: true)) w.WriteRow(2, 1.4, 15, "");
        Assert.Equal(["epoch,valid_ppl,k,note", "1,1.5,1", "2,1.4,15,"], File.ReadAllLines(Path.Combine(_dir, "cut.csv")));

        var e = Assert.Throws<InvalidDataException>(() => new CsvMetricsWriter(path, Columns, append: true));
        Assert.Contains("differs", e.Message);
        Assert.Equal("a,b\n1,2\n", File.ReadAllText(path));
        Assert.Throws<ArgumentException>(() => new CsvMetricsWriter(path, ["x", "x"]));
    }

    [Fact]
    public void JsonSummary_WritesNonFiniteAsNull()
    {
        string path = Path.Combine(_dir, "summary.json");
        var summary = new
        {
            Name = "K=5 <fixed>",
            BestValidPpl = double.NaN,
            TestPpl = (double?)double.PositiveInfinity,
            FinalK = 15,
            Curve = new[] { 1.9, double.NegativeInfinity, 1.2 },
            Extra = new Dictionary<string, object?> { ["beta_hat"] = double.NaN, ["kappa"] = 0.25, ["f"] = float.NaN },
        };

        JsonSummary.Write(path, summary);

        string text = File.ReadAllText(path);
        using var doc = JsonDocument.Parse(text);
        var root = doc.RootElement;
        Assert.Equal("K=5 <fixed>", root.GetProperty("name").GetString());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("bestValidPpl").ValueKind);
        Assert.Equal(JsonValueKind.Null, root.GetProperty("testPpl").ValueKind);
        Assert.Equal(15, root.GetProperty("finalK").GetInt32());
        Assert.Equal([JsonValueKind.Number, JsonValueKind.Null, JsonValueKind.Number],
            root.GetProperty("curve").EnumerateArray().Select(e => e.ValueKind));
        var extra = root.GetProperty("extra");
        Assert.Equal(JsonValueKind.Null, extra.GetProperty("beta_hat").ValueKind);
        Assert.Equal(JsonValueKind.Null, extra.GetProperty("f").ValueKind);
        Assert.Equal(0.25, extra.GetProperty("kappa").GetDouble());
        Assert.Contains("\n  \"name\"", text); // indented
        Assert.Equal(["summary.json"], Directory.GetFiles(_dir).Select(Path.GetFileName));
    }
}
