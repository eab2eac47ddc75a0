using Tbptt.BiasEstimation;

namespace Tbptt.Tests.BiasEstimation;

/// <summary>The CSV format of <c>estimate-k --norms</c>: one row per lag, one column per sample.</summary>
public class NormsCsvTests
{
    private static GradientNormProfile Read(string text) => NormsCsv.Read(new StringReader(text), "norms.csv");

    private static string Fail(string text) => Assert.Throws<FormatException>(() => Read(text)).Message;

    [Fact]
    public void Reads_rows_as_lags_and_columns_as_samples()
    {
        var p = Read("1.5,2\n0.25, 1e-3\n0,3\n");
        Assert.Equal(3, p.Window);
        Assert.Equal(2, p.Samples);
        Assert.Equal(1e-3, p[1, 1]);
        Assert.Equal(0.0, p[2, 0]);
    }

    [Fact]
    public void A_header_row_and_blank_trailing_lines_are_allowed()
    {
        var p = Read("\uFEFFsample0,sample1\r\n1,2\r\n3,4\r\n\r\n  \n");
        Assert.Equal(2, p.Window);
        Assert.Equal(4.0, p[1, 1]);
    }

    [Fact]
    public void A_non_number_names_the_line_column_and_text()
    {
        Assert.Equal("norms.csv: line 3, column 2: 'abc': not a number", Fail("a,b\n1,2\n3,abc\n"));
        Assert.Equal("norms.csv: line 2, column 1: '1;5': not a number", Fail("1,2\n1;5,2\n"));
    }

    [Fact]
    public void Negative_and_non_finite_norms_are_format_errors()
    {
        Assert.Contains("line 2, column 1: '-1'", Fail("1\n-1\n"));
        Assert.Contains("line 1, column 2: 'NaN'", Fail("1,NaN\n1,2\n"));
    }

    [Fact]
    public void Ragged_rows_are_rejected()
    {
        Assert.Contains("line 3", Fail("1,2\n1,2\n1\n"));
        Assert.Contains("ragged row: 3 column(s) but the header on line 1 has 2", Fail("x,y\n1,2,3\n"));
    }

    [Fact]
    public void A_blank_line_inside_the_table_is_rejected()
    {
        Assert.Contains("line 2", Fail("1\n\n2\n"));
    }

    [Fact]
    public void Empty_and_single_lag_files_get_clear_messages()
    {
        Assert.Contains("no data rows", Fail(""));
        Assert.Contains("no data rows", Fail("a,b\n"));
        Assert.Contains("only 1 lag row", Fail("1,2\n"));
    }

    [Fact]
    public void A_second_non_numeric_row_is_not_a_header()
    {
        Assert.Contains("line 2, column 1: 'x'", Fail("a\nx\n1\n"));
    }

    [Fact]
    public void A_missing_file_is_a_FileNotFoundException_with_the_path()
    {
        string path = Path.Combine(Path.GetTempPath(), $"no-such-norms-{Guid.NewGuid()}.csv");
        var ex = Assert.Throws<FileNotFoundException>(() => NormsCsv.ReadFile(path));
        Assert.Equal(path, ex.FileName);
        Assert.Contains(path, ex.Message);
    }

    [Fact]
    public void Reads_a_file_from_disk()
    {
        string path = Path.Combine(Path.GetTempPath(), $"norms-{Guid.NewGuid()}.csv");
        try
        {
            File.WriteAllText(path, "lag0\n4\n2\n1\n");
            var e = BiasEstimator.Estimate(NormsCsv.ReadFile(path), new() { Tau = 1 }, [0.5]);
            Assert.Equal(Math.Log(0.5), e.LogBeta, 12);
        }
        finally { File.Delete(path); }
    }
}
