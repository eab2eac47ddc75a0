using System.CommandLine;
using System.Globalization;
using Tbptt.Engine;
using Tbptt.Models;
using Tbptt.Optimizers;

namespace Tbptt.Cli.Commands;

/// <summary>
/// <c>tbptt demo</c>: a self-contained run on generated data, no files needed. A delayed echo — the target at
/// step t is the input at t − d — can only be learned when gradients reach back d steps, so TBPTT(K, K) with
/// K ≤ d stays near chance on most positions while K &gt; d solves it: truncation visibly matters.
/// </summary>
public static class DemoCommand
{
    public static Command Create()
    {
        var delay = Opt.WithDefault("--delay", "Echo delay d in steps.", 4);
        var updates = Opt.WithDefault("--updates", "Updates per run.", 600);
        var seed = Opt.WithDefault("--seed", "Seed of data and weights.", 1);
        var cmd = new Command("demo", "Show 'info', then train a small LSTM on a generated delayed-echo stream with TBPTT at two truncation lengths.")
            { delay, updates, seed };
        cmd.SetAction(r => CliErrors.Run(() =>
        {
            foreach (var line in InfoCommand.Lines()) Console.WriteLine(line);
            Console.WriteLine();
            int d = r.GetValue(delay);
            if (d < 1) throw new UserInputException($"--delay must be at least 1 (got {d}).");
            foreach (int k in new[] { Math.Max(1, d / 2), 2 * d })
                Run(d, k, r.GetValue(updates), r.GetValue(seed));
            return 0;
        }));
        return cmd;
    }

    private static void Run(int delay, int k, int updates, int seed)
    {
        const int vocab = 8, batch = 16;
        var config = new ModelConfig { Cell = CellKind.Lstm, InputSize = vocab, EmbedSize = 16, HiddenSize = 32, OutputSize = vocab };
        var model = SequenceModel<float>.Create(config, seed);
        var engine = new TbpttEngine<float>(model, batch, k);
        var sgd = new Sgd<float>(model.Parameters.Length, learningRate: 0.5, momentum: 0.9);
        var rng = new Random(seed);
        int steps = updates * k + delay;
        var stream = new int[steps * batch];
        for (int i = 0; i < stream.Length; i++) stream[i] = rng.Next(vocab);
        var targets = new int[k * batch];
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"delayed echo, d = {delay}: LSTM 1×32 trained with TBPTT({k}, {k}), batch {batch}, chance loss ln {vocab} = {Math.Log(vocab):F3}"));
        double recent = 0;
        for (int u = 0; u < updates; u++)
        {
            int t0 = delay + u * k;
            var inputs = stream.AsSpan(t0 * batch, k * batch);
            stream.AsSpan((t0 - delay) * batch, k * batch).CopyTo(targets);
            model.Parameters.ZeroGrad();
            double loss = engine.Update(k, k, inputs, targets);
            GradientClipping.ClipGlobalNorm<float>(model.Parameters.Grad, 1.0);
            sgd.Step(model.Parameters.Data, model.Parameters.Grad);
            recent = u == 0 ? loss : 0.95 * recent + 0.05 * loss;
            if ((u + 1) % (updates / 4) == 0)
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  update {u + 1,5}: loss {recent:F3}"));
        }
        Console.WriteLine();
    }
}
