using BenchmarkDotNet.Attributes;
using Tbptt.Models;
using Tbptt.Numerics;
using Tbptt.Probes;

namespace Tbptt.Benchmarks;

/// <summary>
/// The gradient-norm probe (docs §3) of a character LSTM at H = 128: burn-in, W forward steps over S samples as
/// one batch, one backward pass recording every lag's state gradient, then φ and ḡ.
/// </summary>
[MemoryDiagnoser]
public class ProbeBenchmarks
{
    [Params(50, 200)]
    public int Window { get; set; }

    [Params(16)]
    public int Samples { get; set; }

    private GradientProbe<float> _probe = null!;
    private int[] _stream = [], _offsets = [];

    [GlobalSetup]
    public void Setup()
    {
        _ = Blas.Active;
        var config = new ModelConfig
        {
            Cell = CellKind.Lstm, Input = InputKind.Tokens, InputSize = 65, EmbedSize = 64, HiddenSize = 128, OutputSize = 65,
        };
        var model = SequenceModel<float>.Create(config, seed: 1);
        _probe = new GradientProbe<float>(model, new ProbeOptions { Window = Window, Samples = Samples });
        var rng = new Random(1);
        _stream = new int[20 * Window];
        for (int i = 0; i < _stream.Length; i++) _stream[i] = rng.Next(65);
        _offsets = _probe.RandomOffsets(_stream.Length - 1, new Random(2));
    }

    [Benchmark]
    public ProbeResult Run() => _probe.Run(_stream.AsSpan(0, _stream.Length - 1), _stream.AsSpan(1), _offsets);
}
