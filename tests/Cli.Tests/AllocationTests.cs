using System.Text.Json;
using Tbptt.Cli.Commands;
using Tbptt.LanguageModel.Runs;
using Tbptt.Numerics;
using Tbptt.Optimizers;

namespace Tbptt.Tests;

/// <summary>
/// The regression guard of issue 6, not a timed test: once warmed up, a training step (zero-grad, TBPTT(K, K)
/// update, clipping, SGD step) allocates nothing on the managed heap, on every backend; and <c>tbptt bench
/// charlm</c> records that count (allocatedBytesPerUpdate) with the rest of its JSON.
/// </summary>
public class AllocationTests
{
    private const int WarmupUpdates = 10, MeasuredUpdates = 20;

    public static TheoryData<string> Backends()
    {
        var data = new TheoryData<string> { "managed" };
        if (NativeBlas.TryLoad("openblas") is not null) data.Add("openblas");
        if (AmxBlas.Instance is not null) data.Add("amx-bf16"); // charlm train's --matmul-precision medium
        return data;
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void SteadyStateTrainingStepAllocatesNothing(string backend)
    {
        var previous = Blas.Active;
        try
        {
            Blas.Active = Blas.Resolve(backend).Backend;
            // The last two cases are large enough (weight gradients of 256 × 64 × 128, 512 × 256 × 128) for the managed
            // GEMM, and the last for the AMX kernel, to use their threads.
            // The benchmark's trainer is the Trainer users run; the last two cases take charlm train's dropout and Adam.
            foreach (var (hidden, batch, layers, k1, dropout, optimizer) in new[] { (24, 4, 1, 8, 0.0, "sgd"), (24, 4, 2, 5, 0.2, "adam"), (64, 16, 1, 8, 0.2, "sgd"), (128, 32, 1, 8, 0.1, "adamw") })
            {
                var settings = new BenchCommand.CharLmSettings
                {
                    Model = RunDefaults.Bench.Model with { Hidden = hidden, Embed = 8, Layers = layers, Dropout = dropout },
                    Training = RunDefaults.Bench.Training with { Optimizer = optimizer }, Batch = batch, K = k1, Seconds = 1, Vocab = 11,
                };
                var trainer = BenchCommand.CreateTrainer(settings, out _);
                var p = trainer.Model.Parameters;
                long whole = 0, update = 0, clip = 0, step = 0;
                // Warm-up (its counts are discarded): first calls, lazily created buffers. The measured updates wrap
                // around the 16-chunk stream (a state reset) too.
                for (int i = 0; i < WarmupUpdates + MeasuredUpdates; i++)
                {
                    if (i == WarmupUpdates) whole = update = clip = step = 0;
                    long t0 = GC.GetAllocatedBytesForCurrentThread();
                    trainer.Update();
                    whole += GC.GetAllocatedBytesForCurrentThread() - t0;

                    // The same pieces one by one, so a failure names what allocates.
                    t0 = GC.GetAllocatedBytesForCurrentThread();
                    p.ZeroGrad();
                    trainer.Engine.Update(k1, k1, Tokens(trainer, k1, 0), Tokens(trainer, k1, 1));
                    long t1 = GC.GetAllocatedBytesForCurrentThread();
                    GradientClipping.ClipGlobalNorm<float>(p.Grad, trainer.Clip);
                    long t2 = GC.GetAllocatedBytesForCurrentThread();
                    trainer.Optimizer.Step(p.Data, p.Grad);
                    long t3 = GC.GetAllocatedBytesForCurrentThread();
                    update += t1 - t0; clip += t2 - t1; step += t3 - t2;
                }
                Assert.True(whole == 0 && update == 0 && clip == 0 && step == 0,
                    $"{backend}, H = {hidden}, B = {batch}, {layers} layer(s), dropout {dropout}, {optimizer}, TBPTT({k1}, {k1}): bytes allocated per update: whole step {whole / (double)MeasuredUpdates}, " +
                    $"zero-grad + engine update {update / (double)MeasuredUpdates}, clipping {clip / (double)MeasuredUpdates}, SGD step {step / (double)MeasuredUpdates}.");
            }
        }
        finally
        {
            Blas.Active = previous;
        }
    }

    private static ReadOnlySpan<int> Tokens(BenchCommand.CharLmTrainer trainer, int k, int shift) =>
        _tokens.AsSpan(shift * trainer.Batch, k * trainer.Batch);

    private static readonly int[] _tokens = Enumerable.Range(0, 64 * 64).Select(i => i * 7 % 11).ToArray();

    [Fact]
    public void BenchCharLmReportsZeroAllocationPerUpdate()
    {
        var r = CliRunner.Run("bench", "charlm", "--hidden", "16", "--batch", "2", "--k", "4", "--seconds", "0.2",
            "--embed", "8", "--warmup", "10", "--threads", "1");
        Assert.True(r.ExitCode == 0, r.Err);
        using var json = JsonDocument.Parse(r.Out.Trim());
        var root = json.RootElement;
        foreach (string key in new[] { "charsPerSecond", "gflops", "blas", "peakMemoryBytes", "peakMemoryKind", "hidden", "batch", "k",
                     "embed", "layers", "updates", "seconds", "allocatedBytesPerUpdate", "threads", "machine", "date" })
            Assert.True(root.TryGetProperty(key, out _), $"bench charlm JSON lacks '{key}': {r.Out}");
        Assert.True(root.GetProperty("updates").GetInt64() > 0);
        Assert.Equal(0.0, root.GetProperty("allocatedBytesPerUpdate").GetDouble());
        Assert.True(root.GetProperty("peakMemoryBytes").GetInt64() > 0);
    }

    [Fact]
    public void BenchCharLmTakesTheModelAndUpdateFlagsOfTheirConcerns()
    {
        // The binders of charlm train, with the benchmark's defaults (RunDefaults.Bench); nothing a run has beyond one update.
        var help = CliRunner.Run("bench", "charlm", "--help");
        Assert.Equal(0, help.ExitCode);
        foreach (string flag in new[] { "--cell", "--hidden", "--layers", "--embed", "--dropout", "--optimizer", "--lr", "--clip", "--seed", "--k", "--batch", "--corpus", "--warmup", "--seconds" })
            Assert.Contains(flag + " ", help.Out);
        foreach (string flag in new[] { "--epochs", "--lr-schedule", "--eval-batch", "--k2", "--adaptive" })
            Assert.DoesNotContain(flag + " ", help.Out);
        Assert.Matches(@"--clip <clip>\s.*\[default: 0\.25\]", help.Out);
        Assert.Matches(@"--k <k>\s.*\[default: 50\]", help.Out);

        // Another cell: its gate count enters the FLOP count (3 for a GRU): 6 · (3·16·(8+16) + 3·16·(16+16) + 16·65).
        var r = CliRunner.Run("bench", "charlm", "--cell", "gru", "--layers", "2", "--hidden", "16", "--batch", "2", "--k", "4", "--seconds", "0.2",
            "--embed", "8", "--warmup", "1", "--threads", "1");
        Assert.True(r.ExitCode == 0, r.Err);
        using var json = JsonDocument.Parse(r.Out.Trim());
        Assert.Equal("gru", json.RootElement.GetProperty("cell").GetString());
        Assert.Equal(6.0 * (3 * 16 * 24 + 3 * 16 * 32 + 16 * 65), json.RootElement.GetProperty("flopsPerToken").GetDouble());
        CliRunner.AssertOneLineError(CliRunner.Run("bench", "charlm", "--optimizer", "rmsprop", "--seconds", "0.1"), "rmsprop");
    }
}
