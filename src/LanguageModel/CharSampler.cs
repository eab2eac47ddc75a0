using System.Text;
using Tbptt.Engine;
using Tbptt.LanguageModel.Text;
using Tbptt.Models;
using Tbptt.Numerics;

namespace Tbptt.LanguageModel;

/// <summary>
/// Generates text from a character model as char-rnn does: feed the prime text, then repeatedly draw the next
/// character from softmax(logits / temperature), optionally restricted to the top-k logits, and feed it back.
/// Seeded: the same seed, prime and settings give the same text.
/// </summary>
public static class CharSampler
{
    /// <summary>Feeds <paramref name="prime"/> through <paramref name="model"/> and returns it followed by <paramref name="length"/> sampled characters; <paramref name="topK"/> = 0 samples from every logit.</summary>
    public static string Sample(SequenceModel<float> model, Vocabulary vocab, string prime, int length, double temperature = 1.0,
        int topK = 0, long seed = 1)
    {
        if (length < 0) throw new ArgumentOutOfRangeException(nameof(length), length, "length must be ≥ 0.");
        if (!(temperature > 0)) throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "temperature must be > 0.");
        if (topK < 0) throw new ArgumentOutOfRangeException(nameof(topK), topK, "top-k must be ≥ 0 (0: all).");
        using var flush = Denormals.FlushToZero();
        var rng = new SeededRandom(seed);
        int v = model.Config.OutputSize;
        // No prime: start from a newline when the vocabulary has one (a text's natural start), else a random symbol.
        int[] primeIds = prime.Length > 0 ? vocab.Encode(prime)
            : vocab.TryGetId(new Rune('\n'), out int nl) ? [nl] : [rng.Next(vocab.Count)];
        var tape = new StackTape<float>(model, 1, 1) { Training = false };
        foreach (int id in primeIds) { tape.Append(1, [id], default); tape.Retain(0); }
        var logits = new float[v];
        var probs = new double[v];
        var order = new int[v];
        var sb = new StringBuilder(prime);
        for (int i = 0; i < length; i++)
        {
            // LastLogits reads the carried state: slot 0 after Retain(0).
            tape.LastLogits(logits);
            int next = Draw(logits, probs, order, temperature, topK, rng);
            sb.Append(vocab.Symbol(next));
            tape.Append(1, [next], default);
            tape.Retain(0);
        }
        return sb.ToString();
    }

    /// <summary>One draw from softmax(z/T) over the top-k entries (all when k = 0), computed stably in double.</summary>
    public static int Draw(ReadOnlySpan<float> logits, double[] probs, int[] order, double temperature, int topK, Random rng)
    {
        int v = logits.Length;
        double max = double.NegativeInfinity;
        for (int j = 0; j < v; j++) max = Math.Max(max, logits[j]);
        double threshold = double.NegativeInfinity;
        if (topK > 0 && topK < v)
        {
            for (int j = 0; j < v; j++) order[j] = j;
            var l = logits.ToArray();
            Array.Sort(order, (a, b) => l[b].CompareTo(l[a]));
            threshold = l[order[topK - 1]];
        }
        double sum = 0;
        for (int j = 0; j < v; j++)
        {
            probs[j] = logits[j] >= threshold ? Math.Exp((logits[j] - max) / temperature) : 0;
            sum += probs[j];
        }
        double u = rng.NextDouble() * sum;
        for (int j = 0; j < v; j++)
        {
            u -= probs[j];
            if (u < 0) return j;
        }
        for (int j = v - 1; j >= 0; j--) if (probs[j] > 0) return j;
        return 0;
    }
}
