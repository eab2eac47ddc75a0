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

    /// <summary>Throws <see cref="ArgumentException"/> (or its out-of-range kind) naming the first inconsistent setting.</summary>
    public void Validate()
    {
        Positive(Layers, nameof(Layers));
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

        static void Positive(int value, string name)
        {
            if (value < 1) throw new ArgumentOutOfRangeException(name, value, $"{name} must be at least 1.");
        }
    }
}
