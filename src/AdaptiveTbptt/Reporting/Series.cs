namespace Tbptt.Reporting;

/// <summary>
/// One line of an <see cref="SvgLineChart"/>: a name for the legend and paired x/y values. Points whose x or y is
/// NaN or ±∞ (or ≤ 0 on a log axis) are not drawn and break the line, so a diverged run shows as a gap rather
/// than a spike to the edge of the plot.
/// </summary>
internal sealed class Series
{
    private readonly double[] _xs;
    private readonly double[] _ys;

    /// <summary>Creates a series from paired values; both lists are copied, so later changes do not leak in.</summary>
    /// <param name="name">The legend text (escaped when written).</param>
    /// <param name="xs">The x values.</param>
    /// <param name="ys">The y values, one per x.</param>
    /// <exception cref="ArgumentException">The two lists have different lengths.</exception>
    public Series(string name, IReadOnlyList<double> xs, IReadOnlyList<double> ys)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(xs);
        ArgumentNullException.ThrowIfNull(ys);
        if (xs.Count != ys.Count)
            throw new ArgumentException(
                $"series '{name}': {xs.Count} x values but {ys.Count} y values; they must pair up.", nameof(ys));
        Name = name;
        _xs = [.. xs];
        _ys = [.. ys];
    }

    /// <summary>The legend text.</summary>
    public string Name { get; }

    /// <summary>The x values, as given.</summary>
    public IReadOnlyList<double> Xs => _xs;

    /// <summary>The y values, as given.</summary>
    public IReadOnlyList<double> Ys => _ys;

    /// <summary>Draws the line dashed, e.g. to tell fixed-K runs from adaptive ones at a glance.</summary>
    public bool Dashed { get; init; }

    /// <summary>Draws a dot at each point; null follows <see cref="SvgLineChart.Markers"/>.</summary>
    public bool? Markers { get; init; }

    /// <summary>An explicit CSS colour (e.g. <c>#0072B2</c>); null takes the next colour of the chart's palette.</summary>
    public string? Color { get; init; }

    /// <summary>
    /// A band drawn around the line in its colour, translucent (e.g. the 10–90 % quantiles of what the line is the
    /// mean of): the low and high end at each x, or null for none. Both or neither, one per point; a point whose
    /// ends are not drawable breaks the band as it breaks the line.
    /// </summary>
    public IReadOnlyList<double>? Low
    {
        get => _low;
        init => _low = CheckBand(value, nameof(Low));
    }

    /// <summary>The high end of the band (<see cref="Low"/>).</summary>
    public IReadOnlyList<double>? High
    {
        get => _high;
        init => _high = CheckBand(value, nameof(High));
    }

    private readonly double[]? _low, _high;

    private double[]? CheckBand(IReadOnlyList<double>? values, string which)
    {
        if (values is null) return null;
        if (values.Count != _xs.Length)
            throw new ArgumentException($"series '{Name}': {_xs.Length} x values but {values.Count} {which.ToLowerInvariant()} band values; they must pair up.", which);
        return [.. values];
    }

    /// <summary>The number of points, drawable or not.</summary>
    public int Count => _xs.Length;
}
