using System.CommandLine;
using System.Globalization;
using Tbptt.Checkpoints;
using Tbptt.LanguageModel;

namespace Tbptt.Cli.Commands;

/// <summary>
/// <c>tbptt grad</c>: the gradients of the first N TBPTT(k1, k2) updates with the parameters held fixed, as
/// <c>update{i}.{parameter}</c> tensors — the contract against which PyTorch's own TBPTT can be checked.
/// </summary>
public static class GradCommand
{
    public static Command Create()
    {
        var model = Opt.Required<string>("--model", "Model file (.safetensors) written by 'tbptt init' or PyTorch.");
        var text = Opt.Required<string>("--text", "UTF-8 text; every character must be in the model's vocabulary.");
        var batch = Opt.WithDefault("--batch", "Columns B the text is split into (PyTorch's batchify).", 1);
        var k1 = Opt.Required<int>("--k1", "Steps between updates (forward k1).");
        var k2 = Opt.Required<int>("--k2", "Steps backpropagated through (backward k2).");
        var updates = Opt.WithDefault("--updates", "Updates N to write.", 1);
        var output = Opt.Required<string>("--out", "Gradient file to write (.safetensors).");
        var cmd = new Command("grad", "Write the per-update TBPTT(k1, k2) gradients of a model on a text (parameters held fixed).")
            { model, text, batch, k1, k2, updates, output };
        cmd.SetAction(r => CliErrors.Run(() =>
        {
            var (m, vocab, _) = ModelFiles.LoadCharModel(r.GetValue(model)!);
            var tokens = ModelFiles.EncodeText(r.GetValue(text)!, vocab, 2);
            var tensors = new List<SafetensorsTensor>();
            foreach (var u in GradientDump.Run(m, tokens, r.GetValue(batch), r.GetValue(k1), r.GetValue(k2), r.GetValue(updates)))
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"update {u.Index}: mean loss {u.Loss:F6}"));
                tensors.AddRange(u.Tensors);
            }
            var meta = new Dictionary<string, string>
            {
                ["k1"] = Invariant(r.GetValue(k1)), ["k2"] = Invariant(r.GetValue(k2)), ["batch"] = Invariant(r.GetValue(batch)),
                ["updates"] = Invariant(r.GetValue(updates)), ["model"] = Path.GetFileName(r.GetValue(model)!),
            };
            Safetensors.Write(r.GetValue(output)!, tensors, meta);
            Console.WriteLine($"wrote {r.GetValue(output)}: {tensors.Count} tensors");
            return 0;
        }));
        return cmd;
    }

    private static string Invariant(int v) => v.ToString(CultureInfo.InvariantCulture);
}
