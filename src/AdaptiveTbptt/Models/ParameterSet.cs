using System.Numerics;

namespace Tbptt.Models;

/// <summary>A named view into the flat parameter buffer, with PyTorch's name and shape.</summary>
public sealed record ParameterSlice(string Name, int Offset, int[] Shape)
{
    /// <summary>Elements: the product of the shape.</summary>
    public int Length => Shape.Aggregate(1, (a, b) => a * b);
}

/// <summary>
/// Parameters, gradients (and, in the optimizers, moments) in flat buffers with one layout: the optimizer is one
/// loop, clearing is one call, saving is one write. Slices are in PyTorch state_dict order. A tied parameter is a
/// second slice over the same offset, so its gradient contributions land in one place by construction.
/// </summary>
public sealed class ParameterSet<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly List<ParameterSlice> _slices = [];
    private readonly Dictionary<string, ParameterSlice> _byName = new(StringComparer.Ordinal);
    private readonly HashSet<string> _aliases = new(StringComparer.Ordinal);
    private int _length;

    /// <summary>Every parameter value, slices at their offsets.</summary>
    public T[] Data { get; private set; } = [];
    /// <summary>The gradient, in the layout of <see cref="Data"/>; backward passes accumulate into it.</summary>
    public T[] Grad { get; private set; } = [];
    /// <summary>Elements of <see cref="Data"/>.</summary>
    public int Length => _length;
    /// <summary>Every slice, aliases included, in PyTorch state_dict order.</summary>
    public IReadOnlyList<ParameterSlice> Slices => _slices;

    /// <summary>Reserves a new slice; call <see cref="Allocate"/> after the last one.</summary>
    public ParameterSlice Add(string name, params int[] shape)
    {
        var slice = new ParameterSlice(name, _length, shape);
        _length += slice.Length;
        Register(slice);
        return slice;
    }

    /// <summary>Adds a second name for an existing slice (weight tying).</summary>
    public ParameterSlice Alias(string name, ParameterSlice target)
    {
        var slice = target with { Name = name };
        Register(slice);
        _aliases.Add(name);
        return slice;
    }

    private void Register(ParameterSlice slice)
    {
        if (!_byName.TryAdd(slice.Name, slice))
            throw new ArgumentException($"parameter '{slice.Name}' is defined twice.");
        _slices.Add(slice);
    }

    /// <summary>Allocates <see cref="Data"/> and <see cref="Grad"/> for the slices added so far.</summary>
    public void Allocate()
    {
        Data = new T[_length];
        Grad = new T[_length];
    }

    /// <summary>The slice named <paramref name="name"/>, if there is one.</summary>
    public bool TryGet(string name, out ParameterSlice slice) => _byName.TryGetValue(name, out slice!);

    /// <summary>The slice named <paramref name="name"/>; throws <see cref="KeyNotFoundException"/> if there is none.</summary>
    public ParameterSlice this[string name] =>
        _byName.TryGetValue(name, out var s) ? s : throw new KeyNotFoundException($"no parameter named '{name}'.");

    /// <summary>The values of slice <paramref name="s"/>.</summary>
    public Span<T> Values(ParameterSlice s) => Data.AsSpan(s.Offset, s.Length);
    /// <summary>The gradient of slice <paramref name="s"/>.</summary>
    public Span<T> Gradient(ParameterSlice s) => Grad.AsSpan(s.Offset, s.Length);

    /// <summary>Slices that own storage (aliases of tied weights are skipped), for norms and optimizers.</summary>
    public IEnumerable<ParameterSlice> Owned => _slices.Where(s => !_aliases.Contains(s.Name));


    /// <summary>Sets the whole gradient to zero: once per update, before backward accumulates.</summary>
    public void ZeroGrad() => Array.Clear(Grad);
}
