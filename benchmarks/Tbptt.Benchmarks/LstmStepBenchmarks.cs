using BenchmarkDotNet.Attributes;
using Tbptt.Engine;
using Tbptt.Models;
using Tbptt.Numerics;

namespace Tbptt.Benchmarks;

/// <summary>
/// One LSTM step through the layer API at B = 32, E = 64: forward (input projection, recurrent product, fused
/// gates), and backward (gate gradients and the carry, weight gradients, input gradient). Uses the backend
/// <c>TBPTT_BLAS</c> selects.
/// </summary>
[MemoryDiagnoser]
public class LstmStepBenchmarks
{
    [Params(128, 512, 1024)]
    public int Hidden { get; set; }

    private const int Batch = 32, Embed = 64;
    private SequenceModel<float> _model = null!;
    private RecurrentLayer<float> _layer = null!;
    private float[] _x = [], _dx = [];

    [GlobalSetup]
    public void Setup()
    {
        _ = Blas.Active; // select the backend outside the measurement
        var config = new ModelConfig
        {
            Cell = CellKind.Lstm, Input = InputKind.Tokens, InputSize = 65, EmbedSize = Embed, HiddenSize = Hidden, OutputSize = 65,
        };
        _model = SequenceModel<float>.Create(config, seed: 1);
        _layer = RecurrentLayer<float>.Create(config, _model.Layers[0], 0, Batch);
        _layer.EnsureCapacity(1);
        var rng = new Random(1);
        _x = new float[Batch * Embed];
        for (int i = 0; i < _x.Length; i++) _x[i] = (float)(rng.NextDouble() - 0.5);
        _dx = new float[Batch * Embed];
        for (int i = 0; i < Batch * Hidden; i++) _layer.DHin[i] = (float)(rng.NextDouble() - 0.5);
        _layer.Forward(_x, 0, 1, _model.Parameters);
    }

    [Benchmark]
    public void Forward() => _layer.Forward(_x, 0, 1, _model.Parameters);

    [Benchmark]
    public void Backward()
    {
        var p = _model.Parameters;
        _layer.BackwardThroughTime(0, 1, p, default);
        _layer.WeightGradients(_x, 0, 1, p);
        _layer.InputGradient(_dx, 0, 1, p);
    }
}
