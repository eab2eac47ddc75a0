using System.Globalization;
using System.Text;
using Tbptt.BiasEstimation;
using Tbptt.Tests.Fuzz;

namespace Tbptt.Tests.BiasEstimation;

/// <summary>
/// Issue 11 §3: the norms CSV reader (and the estimator on whatever it accepts) over seeded mutations of real
/// tables: a <see cref="FormatException"/> with a one-line message that holds no control character, or a valid
/// estimate; never another exception; allocation a bounded multiple of the input.
/// </summary>
public class NormsCsvFuzzTests
{
    private static string Table(int w, int s, bool header, double beta)
    {
        var sb = new StringBuilder();
        if (header) sb.AppendJoin(',', Enumerable.Range(0, s).Select(j => $"sample{j}@{7 * j}")).Append('\n');
        for (int k = 0; k < w; k++)
            sb.AppendJoin(',', Enumerable.Range(0, s).Select(j => (Math.Pow(beta, k) * (1 + 0.1 * j)).ToString("R", CultureInfo.InvariantCulture))).Append('\n');
        return sb.ToString();
    }

    private static readonly string[] Seeds = [Table(30, 3, true, 0.8), Table(12, 1, false, 0.5), Table(40, 2, true, 0.99), Table(25, 4, false, 0.3)];

    private static readonly DecayMethod[] Methods = [DecayMethod.Ols, DecayMethod.Max, DecayMethod.Quantile];

    [Fact]
    public void Norms_reader_survives_3000_mutated_tables()
    {
        int index = 0;
        var (valid, rejected) = FuzzRunner.Run("norms", 3000, 3_000_000, m => m.MutateText(m.Pick(Seeds)), bytes =>
        {
            // As ReadFile reads a file: UTF-8 with replacement characters for invalid bytes.
            using var reader = new StreamReader(new MemoryStream(bytes), Encoding.UTF8);
            GradientNormProfile profile;
            try { profile = NormsCsv.Read(reader, "fuzz.csv"); }
            catch (FormatException e) when (e.Message.Any(char.IsControl))
            {
                throw new InvalidOperationException($"a control character reached the error line: {e.Message}");
            }
            var estimate = BiasEstimator.Estimate(profile, new BiasEstimatorOptions { Method = Methods[index++ % 3] }, [0.1, 0.5]);
            if (estimate.KByDelta.Any(x => x.K < 1 || x.K > profile.Window)) throw new InvalidOperationException("K outside [1, W]");
        }, e => e is FormatException, bytesPerInputByte: 64, fixedBytes: 1 << 20);
        Assert.True(rejected > 500 && valid > 500, $"valid {valid}, rejected {rejected}");
    }

    /// <summary>Fixed failures, kept by name.</summary>
    [Theory]
    [InlineData("escape sequence in a cell", "1,2\n0.5,\u001b[31mred\n", "\\u001b[31mred")]
    [InlineData("NUL and BEL in a header-less cell", "1\n\u0000\u0007\n", "\\u0000\\u0007")]
    public void Fixed_failures_stay_fixed(string name, string csv, string shown)
    {
        var e = Assert.Throws<FormatException>(() => NormsCsv.Read(new StringReader(csv), name));
        Assert.Contains(shown, e.Message);
        Assert.DoesNotContain(e.Message, char.IsControl);
    }
}
