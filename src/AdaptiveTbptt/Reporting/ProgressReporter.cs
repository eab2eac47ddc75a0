using System.Globalization;
using System.Text;

namespace Tbptt.Reporting;

/// <summary>
/// Progress of a long run on the terminal. On an interactive console it keeps one line up to date (carriage
/// return, at most about ten redraws a second): a bar, percent, done/total, rate, ETA and the caller's metrics.
/// When the output is redirected to a file or pipe it writes a plain line at most every
/// <see cref="PlainInterval"/>, the first one interval after construction (a log should not fill with ten lines
/// a second or with carriage returns), and a final line from <see cref="Complete(string?)"/>.
/// </summary>
/// <remarks>
/// <see cref="Report(long, string?)"/> is meant to be called from a training loop after every update: when it does
/// not redraw it reads the clock, compares and returns, allocating nothing. Use the
/// <see cref="Report{TState}(long, TState, Func{TState, string})"/> overload to build the metrics text only when a
/// line is actually drawn. The rate is the average since construction (so evaluation pauses are included in the
/// ETA). Not thread-safe: report from the loop's thread.
/// </remarks>
internal sealed class ProgressReporter : IDisposable
{
    private readonly TextWriter _out;
    private readonly TimeProvider _clock;
    private readonly long _start;
    private readonly long _minTicksBetweenDraws;
    private readonly StringBuilder _line = new(160);
    private long _lastDraw;
    private bool _drawn;
    private int _lastLength;
    private long _done;

    /// <summary>Creates a reporter.</summary>
    /// <param name="total">Items the run will process (e.g. characters × epochs); 0 or less if unknown (no bar, no ETA).</param>
    /// <param name="unit">What an item is, for the rate: "chars" gives "chars/s".</param>
    /// <param name="label">A prefix for every line, e.g. the configuration name; may be empty.</param>
    /// <param name="output">Where to write; the console's standard output by default.</param>
    /// <param name="interactive">Updating line or plain lines; by default, updating when <paramref name="output"/> is
    /// omitted and standard output is not redirected.</param>
    /// <param name="clock">The time source; <see cref="TimeProvider.System"/> by default (tests inject their own).</param>
    /// <param name="plainInterval">Minimum time between plain lines; 10 s by default.</param>
    /// <param name="width">Line width in characters for the updating line; by default the console window's.</param>
    public ProgressReporter(long total, string unit = "items", string label = "", TextWriter? output = null,
        bool? interactive = null, TimeProvider? clock = null, TimeSpan? plainInterval = null, int? width = null)
    {
        ArgumentNullException.ThrowIfNull(unit);
        ArgumentNullException.ThrowIfNull(label);
        var interval = plainInterval ?? TimeSpan.FromSeconds(10);
        if (interval < TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(plainInterval), interval, "the interval cannot be negative.");
        if (width is < 20) throw new ArgumentOutOfRangeException(nameof(width), width, "width must be at least 20 characters.");
        Total = total;
        Unit = unit;
        Label = label;
        _out = output ?? Console.Out;
        Interactive = interactive ?? (output is null && !Console.IsOutputRedirected);
        _clock = clock ?? TimeProvider.System;
        PlainInterval = interval;
        Width = width;
        _start = _clock.GetTimestamp();
        _lastDraw = _start;
        var minGap = Interactive ? TimeSpan.FromMilliseconds(100) : interval;
        _minTicksBetweenDraws = (long)(minGap.TotalSeconds * _clock.TimestampFrequency);
    }

    /// <summary>Items the run will process; ≤ 0 when unknown.</summary>
    public long Total { get; }

    /// <summary>The unit name used in the rate.</summary>
    public string Unit { get; }

    /// <summary>The prefix of every line.</summary>
    public string Label { get; }

    /// <summary>True for the single updating line, false for plain lines.</summary>
    public bool Interactive { get; }

    /// <summary>Minimum time between plain lines.</summary>
    public TimeSpan PlainInterval { get; }

    /// <summary>The fixed line width, or null to follow the console window.</summary>
    public int? Width { get; }

    /// <summary>Lines drawn so far (redraws of the updating line included); for tests and diagnostics.</summary>
    public int Draws { get; private set; }

    /// <summary>True once <see cref="Complete(string?)"/> has run; later reports are ignored.</summary>
    public bool Completed { get; private set; }

    /// <summary>Records that <paramref name="done"/> items are finished and redraws if it is time to.</summary>
    /// <returns>Whether a line was drawn.</returns>
    public bool Report(long done, string? metrics = null)
    {
        if (!Due(done)) return false;
        Draw(metrics, final: false);
        return true;
    }

    /// <summary>
    /// Like <see cref="Report(long, string?)"/>, but calls <paramref name="metrics"/> only when a line is drawn, so
    /// that a loop can pass its state and a static lambda and allocate nothing between redraws.
    /// </summary>
    public bool Report<TState>(long done, TState state, Func<TState, string> metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        if (!Due(done)) return false;
        Draw(metrics(state), final: false);
        return true;
    }

    /// <summary>
    /// Prints a message on its own line (e.g. an evaluation result) without tearing the updating line: the line is
    /// cleared, the message written, and the progress redrawn on the next report.
    /// </summary>
    public void WriteLine(string message)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (Interactive && _lastLength > 0) _out.Write('\r' + new string(' ', _lastLength) + '\r');
        _lastLength = 0;
        _out.WriteLine(message);
        _out.Flush();
        _drawn = false; // redraw at the next report
    }

    /// <summary>Draws the final state (whatever was done, e.g. after Ctrl-C) and ends the line. Idempotent.</summary>
    public void Complete(string? metrics = null)
    {
        if (Completed) return;
        Draw(metrics, final: true);
        if (Interactive) _out.WriteLine();
        _out.Flush();
        Completed = true;
    }

    /// <summary>Completes the reporter if the caller did not, so an interrupted run still ends its line.</summary>
    public void Dispose() => Complete();

    /// <summary>Formats a duration as h:mm:ss (hours unbounded, e.g. <c>27:46:40</c>), the ETA format.</summary>
    public static string FormatDuration(TimeSpan duration)
    {
        if (duration < TimeSpan.Zero) duration = TimeSpan.Zero;
        long seconds = (long)Math.Round(duration.TotalSeconds);
        return string.Create(CultureInfo.InvariantCulture, $"{seconds / 3600}:{seconds / 60 % 60:00}:{seconds % 60:00}");
    }

    /// <summary>Formats a rate with a k/M/G suffix and three significant digits: <c>12.3k chars/s</c>.</summary>
    public static string FormatRate(double perSecond, string unit)
    {
        string number = perSecond switch
        {
            >= 1e9 => (perSecond / 1e9).ToString("0.##", CultureInfo.InvariantCulture) + "G",
            >= 1e6 => (perSecond / 1e6).ToString(perSecond >= 1e8 ? "0" : "0.#", CultureInfo.InvariantCulture) + "M",
            >= 1e4 => (perSecond / 1e3).ToString(perSecond >= 1e5 ? "0" : "0.#", CultureInfo.InvariantCulture) + "k",
            >= 100 => perSecond.ToString("0", CultureInfo.InvariantCulture),
            _ => perSecond.ToString("0.##", CultureInfo.InvariantCulture),
        };
        return $"{number} {unit}/s";
    }

    private bool Due(long done)
    {
        if (Completed) return false;
        _done = done;
        long now = _clock.GetTimestamp();
        // Interactive: draw at once the first time; plain: the first line waits a whole interval.
        if (Interactive && !_drawn) return true;
        return now - _lastDraw >= _minTicksBetweenDraws;
    }

    private void Draw(string? metrics, bool final)
    {
        long now = _clock.GetTimestamp();
        double elapsed = (now - _start) / (double)_clock.TimestampFrequency;
        BuildLine(metrics, elapsed, final, bar: Interactive);
        if (Interactive)
        {
            int max = (Width ?? ConsoleWidth()) - 1; // a full-width line would wrap and break '\r'
            if (_line.Length > max) BuildLine(metrics, elapsed, final, bar: false); // the metrics matter more than the bar
            if (_line.Length > max) _line.Length = max;
            int pad = _lastLength - _line.Length;
            _out.Write('\r');
            _out.Write(_line);
            if (pad > 0) _out.Write(new string(' ', pad));
            _lastLength = _line.Length;
        }
        else
        {
            _out.WriteLine(_line);
        }
        _out.Flush();
        _lastDraw = now;
        _drawn = true;
        Draws++;
    }

    private void BuildLine(string? metrics, double elapsed, bool final, bool bar)
    {
        var inv = CultureInfo.InvariantCulture;
        var b = _line.Clear();
        if (Label.Length > 0) b.Append(Label).Append(' ');
        double rate = elapsed > 0 ? _done / elapsed : 0;
        if (Total > 0)
        {
            double fraction = Math.Clamp(_done / (double)Total, 0, 1);
            if (bar)
            {
                const int barWidth = 24;
                int filled = (int)Math.Floor(fraction * barWidth);
                b.Append('[').Append('#', filled).Append('.', barWidth - filled).Append("] ");
            }
            b.Append((fraction * 100).ToString("0.0", inv).PadLeft(5)).Append("% ");
            b.Append(_done.ToString(inv)).Append('/').Append(Total.ToString(inv)).Append(' ').Append(Unit);
        }
        else
        {
            b.Append(_done.ToString(inv)).Append(' ').Append(Unit);
        }
        b.Append("  ").Append(FormatRate(rate, Unit));
        if (final)
            b.Append("  elapsed ").Append(FormatDuration(TimeSpan.FromSeconds(elapsed)));
        else if (Total > 0)
        {
            double eta = rate > 0 ? Math.Max(Total - _done, 0) / rate : double.PositiveInfinity;
            // Beyond ~11 years the estimate means "not moving"; TimeSpan would overflow long before double does.
            b.Append("  ETA ").Append(eta < 3.6e8 ? FormatDuration(TimeSpan.FromSeconds(eta)) : "-:--:--");
        }
        if (!string.IsNullOrEmpty(metrics)) b.Append("  ").Append(metrics);
    }

    private static int ConsoleWidth()
    {
        try
        {
            int w = Console.WindowWidth;
            return w >= 20 ? w : 80;
        }
        catch (Exception e) when (e is IOException or PlatformNotSupportedException)
        {
            return 80;
        }
    }
}
