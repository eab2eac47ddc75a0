using System.Text;
using Tbptt.LanguageModel.Text;
using Tbptt.Tests.Fuzz;

namespace Tbptt.Tests;

/// <summary>
/// Issue 11 §3: the corpus reader over seeded mutations of a text file (invalid UTF-8, control characters,
/// surrogates, truncation), with and without a model's vocabulary: one of its documented errors with a one-line
/// message, or a corpus whose splits and description are consistent; allocation a bounded multiple of the input.
/// </summary>
public class CorpusFuzzTests
{
    private static readonly string Text = string.Concat(Enumerable.Range(0, 60).Select(i => i % 7 == 0 ? "the question\n" : "to be or not é😀 "));

    private static readonly Vocabulary Given = Vocabulary.FromText("abcdefghijklmnopqrstuvwxyz \n\uFFFD");

    [Fact]
    public void Corpus_reader_survives_1000_mutated_files()
    {
        string dir = Directory.CreateTempSubdirectory("tbptt-fuzz-corpus-").FullName;
        int index = 0;
        var (valid, rejected) = FuzzRunner.Run("corpus", 1000, 4_000_000, m => m.MutateText(Text), bytes =>
        {
            string path = Path.Combine(dir, "corpus.txt");
            File.WriteAllBytes(path, bytes);
            var corpus = Corpus.Load(path, vocabulary: index++ % 2 == 0 ? null : Given);
            if (corpus.Characters != (long)corpus.Train.Length + corpus.Valid.Length + corpus.Test.Length || corpus.Describe().Length == 0)
                throw new InvalidOperationException("inconsistent corpus");
            int v = corpus.Vocabulary.Count;
            if (new[] { corpus.Train, corpus.Valid, corpus.Test }.Any(s => s.Any(id => id < 0 || id >= v))) throw new InvalidOperationException("id outside the vocabulary");
        }, e => e is InvalidDataException or ArgumentException or FileNotFoundException, bytesPerInputByte: 64, fixedBytes: 4 << 20);
        Assert.True(rejected > 100 && valid > 300, $"valid {valid}, rejected {rejected}");
    }
}
