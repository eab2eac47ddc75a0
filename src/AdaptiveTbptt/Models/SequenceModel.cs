using System.Numerics;

namespace Tbptt.Models;

/// <summary>The parameter slices of one recurrent layer, named as PyTorch names them.</summary>
public sealed record RecurrentLayerSlices(ParameterSlice WeightIh, ParameterSlice WeightHh, ParameterSlice BiasIh, ParameterSlice BiasHh);

/// <summary>
/// input (embedding or raw vectors) → stacked recurrent layers → linear decoder → per-step loss.
/// Holds only parameters; the activations of a run live in a <see cref="Engine.StackTape{T}"/>, so one model
/// can be trained by an engine and probed at another batch size at the same time.
/// </summary>
public sealed class SequenceModel<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>The shape of the model.</summary>
    public ModelConfig Config { get; }
    /// <summary>Parameters and gradients, in flat buffers.</summary>
    public ParameterSet<T> Parameters { get; } = new();
    /// <summary><c>embedding.weight</c> [vocab, embed]; null for vector input.</summary>
    public ParameterSlice? Embedding { get; }
    /// <summary>Each recurrent layer's <c>weight_ih</c>, <c>weight_hh</c>, <c>bias_ih</c>, <c>bias_hh</c>.</summary>
    public IReadOnlyList<RecurrentLayerSlices> Layers { get; }
    /// <summary><c>decoder.weight</c> [output, hidden] (an alias of the embedding when tied).</summary>
    public ParameterSlice DecoderWeight { get; }
    /// <summary><c>decoder.bias</c> [output].</summary>
    public ParameterSlice DecoderBias { get; }

    /// <summary>A model of shape <paramref name="config"/> with every parameter zero; <see cref="Create"/> initialises one.</summary>
    public SequenceModel(ModelConfig config)
    {
        config.Validate();
        // Parameters and gradients must fit in memory; refusing here beats an OutOfMemoryException mid-allocation.
        double bytes = 2.0 * config.ParameterCount * System.Runtime.CompilerServices.Unsafe.SizeOf<T>();
        long available = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        if (bytes > available)
            throw new ArgumentOutOfRangeException(nameof(config), config.ParameterCount,
                $"a model of {config.ParameterCount:N0} parameters needs {bytes / 1e9:G3} GB for its parameters and gradients alone, more than this machine's {available / 1e9:G3} GB.");
        Config = config;
        int g = config.GateCount, h = config.HiddenSize;
        if (config.Input == InputKind.Tokens)
            Embedding = Parameters.Add("embedding.weight", config.InputSize, config.EmbedSize);
        var layers = new List<RecurrentLayerSlices>();
        for (int l = 0; l < config.Layers; l++)
        {
            int inSize = l == 0 ? config.FirstLayerInputSize : h;
            layers.Add(new RecurrentLayerSlices(
                Parameters.Add($"rnn.weight_ih_l{l}", g * h, inSize),
                Parameters.Add($"rnn.weight_hh_l{l}", g * h, h),
                Parameters.Add($"rnn.bias_ih_l{l}", g * h),
                Parameters.Add($"rnn.bias_hh_l{l}", g * h)));
        }
        Layers = layers;
        DecoderWeight = config.TieWeights
            ? Parameters.Alias("decoder.weight", Embedding!)
            : Parameters.Add("decoder.weight", config.OutputSize, h);
        DecoderBias = Parameters.Add("decoder.bias", config.OutputSize);
        Parameters.Allocate();
    }

    /// <summary>A model initialised by <paramref name="scheme"/> (PyTorch's defaults unless given) from <paramref name="seed"/>.</summary>
    public static SequenceModel<T> Create(ModelConfig config, int seed, InitScheme scheme = InitScheme.PyTorch)
    {
        var model = new SequenceModel<T>(config);
        Initialization.Apply(model, scheme, seed);
        return model;
    }

    /// <summary>Copies the parameter values from a model of the same configuration (any float type).</summary>
    public void CopyFrom<TOther>(SequenceModel<TOther> other) where TOther : unmanaged, IFloatingPointIeee754<TOther>
    {
        if (other.Config != Config) throw new ArgumentException("models differ in configuration.", nameof(other));
        var src = other.Parameters.Data;
        var dst = Parameters.Data;
        for (int i = 0; i < dst.Length; i++) dst[i] = T.CreateTruncating(src[i]);
    }
}
