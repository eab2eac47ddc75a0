using System.Globalization;

namespace Tbptt.LanguageModel.Synthetic;

/// <summary>
/// Copy-task data read from files instead of generated: the paper's own data (<c>datasets/aicherc-copy/fixed</c> and
/// <c>variable</c>) or any folder laid out the same way — <c>{train,valid,test}.{x,y}.txt</c>, one line per step and
/// one digit 0..5 per batch column (x the input symbol, y the target). A run may use fewer steps or columns than the
/// files hold (the first ones); never more.
/// </summary>
public static class CopyDataFiles
{
    /// <summary>Reads the three splits, checking every line; errors name the file and line.</summary>
    public static CopySplits Load(string dir, int batch, int trainSteps, int evalSteps)
    {
        if (!Directory.Exists(dir)) throw new DirectoryNotFoundException($"--data: {dir}: no such folder.");
        return new CopySplits(Split(dir, "train", batch, trainSteps), Split(dir, "valid", batch, evalSteps), Split(dir, "test", batch, evalSteps));
    }

    private static CopyStream Split(string dir, string split, int batch, int steps)
    {
        var x = Read(Path.Combine(dir, $"{split}.x.txt"), batch, steps);
        var y = Read(Path.Combine(dir, $"{split}.y.txt"), batch, steps);
        return new CopyStream(steps, batch, x, y, []);
    }

    /// <summary>The first <paramref name="steps"/> lines and <paramref name="batch"/> columns of one file, step-major.</summary>
    private static int[] Read(string path, int batch, int steps)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"--data: {path} is missing (a copy data folder holds train/valid/test × x/y .txt files).", path);
        var values = new int[(long)steps * batch];
        int line = 0;
        using (var reader = new StreamReader(path))
        {
            while (line < steps && reader.ReadLine() is { } text)
            {
                if (text.Length < batch)
                    throw new InvalidDataException(Invariant($"{path}: line {line + 1} has {text.Length} columns; the run needs {batch}."));
                for (int b = 0; b < batch; b++)
                {
                    int v = text[b] - '0';
                    if ((uint)v >= CopyTask.Symbols)
                        throw new InvalidDataException(Invariant($"{path}: line {line + 1}, column {b + 1}: '{Printable(text[b])}' is not a symbol 0..{CopyTask.Symbols - 1}."));
                    values[(long)line * batch + b] = v;
                }
                line++;
            }
        }
        if (line < steps) throw new InvalidDataException(Invariant($"{path}: {line} lines; the run needs {steps} steps."));
        return values;
    }

    private static string Printable(char c) => char.IsControl(c) ? $"\\u{(int)c:x4}" : c.ToString();

    private static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
