namespace Tbptt.Models;

/// <summary>The recurrent cell. Equations, gate orders and parameter shapes are PyTorch's.</summary>
public enum CellKind
{
    /// <summary><c>h' = f(W_ih x + b_ih + W_hh h + b_hh)</c>: PyTorch's <c>nn.RNN</c>, the seed model of §8.</summary>
    Elman,
    /// <summary>PyTorch's <c>nn.GRU</c>, gates r, z, n.</summary>
    Gru,
    /// <summary>PyTorch's <c>nn.LSTM</c>, gates i, f, g, o.</summary>
    Lstm,
}

/// <summary>Elman non-linearity f. Identity makes gradient decay exactly geometric (the bias-bound test bed).</summary>
public enum Nonlinearity
{
    /// <summary>tanh, PyTorch's default.</summary>
    Tanh,
    /// <summary>max(0, x).</summary>
    Relu,
    /// <summary>f(x) = x: a linear recurrence.</summary>
    Identity,
}

/// <summary>How step inputs reach the first recurrent layer.</summary>
public enum InputKind
{
    /// <summary>Token ids through <c>embedding.weight</c> [vocab, embed].</summary>
    Tokens,
    /// <summary>Real vectors fed straight to the first layer's <c>weight_ih</c> (the seed model's B x_t).</summary>
    Vectors,
}

/// <summary>Per-step loss on the decoder output z = W_dec h + b_dec.</summary>
public enum LossKind
{
    /// <summary>Softmax cross-entropy against a target token.</summary>
    CrossEntropy,
    /// <summary>½‖z − y‖² (g = identity).</summary>
    SquaredError,
    /// <summary>½‖σ(z) − y‖² (g = sigmoid).</summary>
    SigmoidSquaredError,
}

/// <summary>Everything that fixes a model's shape. Validated on construction of the model.</summary>
public sealed record ModelConfig
{
    /// <summary>The recurrent cell of every layer.</summary>
    public CellKind Cell { get; init; } = CellKind.Lstm;
    /// <summary>f of an Elman cell (other cells have fixed gates and need <see cref="Nonlinearity.Tanh"/>).</summary>
    public Nonlinearity Nonlinearity { get; init; } = Nonlinearity.Tanh;
    /// <summary>Stacked recurrent layers.</summary>
    public int Layers { get; init; } = 1;
    /// <summary>Token ids or real vectors.</summary>
    public InputKind Input { get; init; } = InputKind.Tokens;
    /// <summary>Vocabulary size for token input, vector length for vector input.</summary>
    public int InputSize { get; init; }
    /// <summary>Embedding width (token input only; vector input feeds <see cref="InputSize"/> directly).</summary>
    public int EmbedSize { get; init; }
    /// <summary>State width of every layer.</summary>
    public int HiddenSize { get; init; }
    /// <summary>Decoder width: the vocabulary for cross-entropy, the target length for squared error.</summary>
    public int OutputSize { get; init; }
    /// <summary>The per-step loss on the decoder output.</summary>
    public LossKind Loss { get; init; } = LossKind.CrossEntropy;
    /// <summary>Share <c>decoder.weight</c> with <c>embedding.weight</c> (needs EmbedSize = HiddenSize, InputSize = OutputSize).</summary>
    public bool TieWeights { get; init; }

    /// <summary>
    /// Dropout probability p on the embeddings, between layers and on the last layer's output before the decoder
    /// (PyTorch's word_language_model places it the same way). Inverted dropout: kept values are scaled by 1/(1−p),
    /// so evaluation uses the network as is.
    /// </summary>
    public double Dropout { get; init; }

    /// <summary>Gates per cell: the row blocks of <c>weight_ih</c>/<c>weight_hh</c>.</summary>
    public int GateCount => Cell switch { CellKind.Lstm => 4, CellKind.Gru => 3, _ => 1 };

    /// <summary>Width of the first recurrent layer's input.</summary>
    public int FirstLayerInputSize => Input == InputKind.Tokens ? EmbedSize : InputSize;

    /// <summary>Floats of recurrent state per batch row: every layer's h, plus c for an LSTM.</summary>
    public int StateSize => Layers * HiddenSize * (Cell == CellKind.Lstm ? 2 : 1);

    /// <summary>
    /// The most parameters a model may have: they live in one flat array (and so do their gradients and moments),
    /// whose length .NET caps at <see cref="Array.MaxLength"/>.
    /// </summary>
    public static long MaxParameters => Array.MaxLength;

    /// <summary>The deepest stack accepted; far beyond any trainable recurrent stack, and it keeps a model's
    /// bookkeeping (four tensors per layer) small whatever a flag or a file's metadata says.</summary>
    public const int MaxLayers = 1024;

    /// <summary>
    /// Every owned parameter tensor in state_dict order, with its shape: what <see cref="SequenceModel{T}"/>
    /// allocates, computed without allocating it (a loader checks a file against this first). Dimensions are
    /// 64-bit, so an absurd configuration is measured rather than overflowing.
    /// </summary>
    public IEnumerable<(string Name, long[] Shape)> ParameterShapes()
    {
        long g = GateCount, h = HiddenSize;
        if (Input == InputKind.Tokens) yield return ("embedding.weight", [InputSize, EmbedSize]);
        for (int l = 0; l < Layers; l++)
        {
            yield return ($"rnn.weight_ih_l{l}", [g * h, l == 0 ? FirstLayerInputSize : h]);
            yield return ($"rnn.weight_hh_l{l}", [g * h, h]);
            yield return ($"rnn.bias_ih_l{l}", [g * h]);
            yield return ($"rnn.bias_hh_l{l}", [g * h]);
        }
        if (!TieWeights) yield return ("decoder.weight", [OutputSize, h]);
        yield return ("decoder.bias", [OutputSize]);
    }

    /// <summary>The number of parameters, in 64-bit arithmetic (a tied weight counts once), without enumerating
    /// layers one by one: layer l ≥ 1 has the same size as layer 1.</summary>
    public long ParameterCount
    {
        get
        {
            Int128 g = GateCount, h = HiddenSize;
            Int128 layer0 = g * h * (FirstLayerInputSize + h + 2), later = g * h * (h + h + 2);
            Int128 n = layer0 + later * (Layers - 1) + OutputSize;
            if (Input == InputKind.Tokens) n += (Int128)InputSize * EmbedSize;
            if (!TieWeights) n += (Int128)OutputSize * h;
            return n > long.MaxValue ? long.MaxValue : (long)n;
        }
    }

    /// <summary>Throws <see cref="ArgumentException"/> (or its out-of-range kind) naming the first inconsistent setting.</summary>
    public void Validate()
    {
        Positive(Layers, nameof(Layers));
        if (Layers > MaxLayers) throw new ArgumentOutOfRangeException(nameof(Layers), Layers, $"at most {MaxLayers} layers.");
        Positive(InputSize, nameof(InputSize));
        Positive(HiddenSize, nameof(HiddenSize));
        Positive(OutputSize, nameof(OutputSize));
        if (Input == InputKind.Tokens) Positive(EmbedSize, nameof(EmbedSize));
        if (Loss == LossKind.CrossEntropy && OutputSize < 2)
            throw new ArgumentOutOfRangeException(nameof(OutputSize), OutputSize, "cross-entropy needs at least 2 classes.");
        if (!(Dropout >= 0 && Dropout < 1))
            throw new ArgumentOutOfRangeException(nameof(Dropout), Dropout, "dropout must be in [0, 1).");
        if (Cell != CellKind.Elman && Nonlinearity != Nonlinearity.Tanh)
            throw new ArgumentException($"Nonlinearity {Nonlinearity} applies to Elman cells only; {Cell} has fixed gates.", nameof(Nonlinearity));
        if (TieWeights && (Input != InputKind.Tokens || EmbedSize != HiddenSize || InputSize != OutputSize))
            throw new ArgumentException(
                $"tied weights need token input with embed = hidden and vocab = output (embed {EmbedSize}, hidden {HiddenSize}, vocab {InputSize}, output {OutputSize}).",
                nameof(TieWeights));
        long count = ParameterCount;
        if (count > MaxParameters)
            throw new ArgumentOutOfRangeException(nameof(HiddenSize), HiddenSize,
                $"this model would have {count:N0} parameters; the engine holds at most {MaxParameters:N0} (one flat array): lower the hidden size, layers or vocabulary.");

        static void Positive(int value, string name)
        {
            if (value < 1) throw new ArgumentOutOfRangeException(name, value, $"{name} must be at least 1.");
        }
    }
}
