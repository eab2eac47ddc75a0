using BenchmarkDotNet.Attributes;
using Tbptt.Engine;
using Tbptt.Models;
using Tbptt.Numerics;
using Tbptt.Optimizers;

namespace Tbptt.Benchmarks;

/// <summary>
/// One TBPTT(K, K) update of the character model (embedding 64 → LSTM → linear 65) at H = 512, B = 32, K = 50,
/// alone and as a full training step (zero-grad, update, clip, SGD). Uses the backend <c>TBPTT_BLAS</c> selects.
/// </summary>
[MemoryDiagnoser]
public class TbpttWindowBenchmarks
{
    private const int Hidden = 512, Batch = 32, K = 50, Vocab = 65;
    private SequenceModel<float> _model = null!;
    private TbpttEngine<float> _engine = null!;
    private Sgd<float> _sgd = null!;
    private int[] _tokens = [];

    [GlobalSetup]
    public void Setup()
    {
        _ = Blas.Active;
        var config = new ModelConfig
        {
            Cell = CellKind.Lstm, Input = InputKind.Tokens, InputSize = Vocab, EmbedSize = 64, HiddenSize = Hidden, OutputSize = Vocab,
        };
        _model = SequenceModel<float>.Create(config, seed: 1);
        _engine = new TbpttEngine<float>(_model, Batch, capacity: K);
        _sgd = new Sgd<float>(_model.Parameters.Length, learningRate: 0); // lr 0: every iteration sees the same weights
        var rng = new Random(1);
        _tokens = new int[(K + 1) * Batch];
        for (int i = 0; i < _tokens.Length; i++) _tokens[i] = rng.Next(Vocab);
    }

    [Benchmark]
    public double Update()
    {
        _model.Parameters.ZeroGrad();
        return _engine.Update(K, K, _tokens.AsSpan(0, K * Batch), _tokens.AsSpan(Batch, K * Batch));
    }

    [Benchmark]
    public double TrainingStep()
    {
        var p = _model.Parameters;
        p.ZeroGrad();
        double loss = _engine.Update(K, K, _tokens.AsSpan(0, K * Batch), _tokens.AsSpan(Batch, K * Batch));
        GradientClipping.ClipGlobalNorm<float>(p.Grad, 0.25);
        _sgd.Step(p.Data, p.Grad);
        return loss;
    }
}
