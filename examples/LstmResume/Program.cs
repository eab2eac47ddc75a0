// An LSTM trained through the engine on your own token stream with TBPTT(k1, k2), checkpointed half-way and
// resumed exactly: the resumed run ends with the very parameters of the run that never stopped.
//
// What a checkpoint must hold to continue exactly: the weights, the optimizer's moments and step count, the
// engine's tape (with k2 > k1 the next window reuses the last k2 − k1 stored steps, and the carried state) and the
// state of the dropout generator.
using System.Globalization;
using Tbptt.Checkpoints;
using Tbptt.Engine;
using Tbptt.Models;
using Tbptt.Optimizers;

CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;

const int Vocab = 8, Batch = 16, K1 = 8, K2 = 15, Updates = 300, StopAt = 150;

// The token stream: a made-up language, next = (previous + the one before) mod 8, with 10 % random tokens.
// The engine reads it step-major, [steps, B]: row t holds step t of every one of the B columns (independent
// streams side by side). Step t's input is row t, its target row t + 1.
int rows = Updates * K1 + 1;
var random = new Random(5);
var tokens = new int[rows * Batch];
for (int col = 0; col < Batch; col++)
{
    int p2 = random.Next(Vocab), p1 = random.Next(Vocab);
    for (int t = 0; t < rows; t++)
    {
        int next = random.NextDouble() < 0.1 ? random.Next(Vocab) : (p1 + p2) % Vocab;
        tokens[t * Batch + col] = next;
        (p2, p1) = (p1, next);
    }
}

var config = new ModelConfig
{
    Cell = CellKind.Lstm, Layers = 2, InputSize = Vocab, EmbedSize = 16, HiddenSize = 32, OutputSize = Vocab, Dropout = 0.1,
};
string checkpoint = Path.Combine(Path.GetTempPath(), $"tbptt-example-{Environment.ProcessId}.safetensors");

// The run that never stops; it writes a checkpoint after update StopAt on its way.
var model = SequenceModel<float>.Create(config, seed: 1);
var engine = new TbpttEngine<float>(model, Batch);
var sgd = new Sgd<float>(model.Parameters.Length, learningRate: 0.5, momentum: 0.9);
double middle = Train(model, engine, sgd, 0, StopAt);
Save(checkpoint, model, engine, sgd);
double last = Train(model, engine, sgd, StopAt, Updates);
Console.WriteLine($"TBPTT({K1}, {K2}): loss {middle:F3} nats/token at update {StopAt}, {last:F3} at {Updates} (uniform: {Math.Log(Vocab):F3})");

// A new process would start here: everything comes from the file.
var (resumedModel, resumedEngine, resumedSgd) = Load(checkpoint);
File.Delete(checkpoint);
double resumedLast = Train(resumedModel, resumedEngine, resumedSgd, StopAt, Updates);

bool identical = model.Parameters.Data.AsSpan().SequenceEqual(resumedModel.Parameters.Data) && last == resumedLast;
Console.WriteLine($"resumed at update {StopAt}: final loss {resumedLast:F3}; parameters {(identical ? "identical" : "DIFFERENT")}");
bool ok = identical && last < 0.75 * Math.Log(Vocab);
Console.WriteLine(ok ? "ok: exact resume, and the model learned the stream" : "FAILED");
return ok ? 0 : 1;

// Updates [from, to): each is one TBPTT(K1, K2) window of K1 steps; returns the last update's mean loss per token.
double Train(SequenceModel<float> m, TbpttEngine<float> e, Sgd<float> optimizer, int from, int to)
{
    double loss = double.NaN;
    for (int u = from; u < to; u++)
    {
        m.Parameters.ZeroGrad();
        var inputs = tokens.AsSpan(u * K1 * Batch, K1 * Batch);
        var targets = tokens.AsSpan((u * K1 + 1) * Batch, K1 * Batch);
        loss = e.Update(K1, K2, inputs, targets);          // accumulates ĝ into m.Parameters.Grad
        GradientClipping.ClipGlobalNorm<float>(m.Parameters.Grad, 1.0);
        optimizer.Step(m.Parameters.Data, m.Parameters.Grad);
    }
    return loss;
}

// One safetensors file: the model under PyTorch's names (it loads into nn.LSTM), the rest under prefixes.
static void Save(string path, SequenceModel<float> m, TbpttEngine<float> e, Sgd<float> optimizer)
{
    var extra = new List<SafetensorsTensor>();
    foreach (var (name, values) in optimizer.State) extra.Add(SafetensorsTensor.FromFloat32("optimizer." + name, [values.Length], values));
    foreach (var (name, values) in e.Tape.Snapshot()) extra.Add(SafetensorsTensor.FromFloat32("tape." + name, [values.Length], values));
    var metadata = new Dictionary<string, string>
    {
        ["optimizer.steps"] = optimizer.Steps.ToString(CultureInfo.InvariantCulture),
        ["tape.stored"] = e.Tape.Stored.ToString(CultureInfo.InvariantCulture),
        ["dropout.rng"] = string.Join(' ', e.Tape.DropoutRandom.State),
    };
    ModelCheckpoint.Save(path, m, metadata, extra);
}

static (SequenceModel<float>, TbpttEngine<float>, Sgd<float>) Load(string path)
{
    var file = Safetensors.Read(path);
    var m = ModelCheckpoint.Load(file);                      // the configuration comes from the file's metadata
    var e = new TbpttEngine<float>(m, Batch);
    var optimizer = new Sgd<float>(m.Parameters.Length, learningRate: 0.5, momentum: 0.9);
    foreach (var (name, buffer) in optimizer.State) file.Get("optimizer." + name).ToFloat32().CopyTo(buffer, 0);
    optimizer.RestoreSteps(long.Parse(file.GetMetadata("optimizer.steps"), CultureInfo.InvariantCulture));
    var snapshot = file.Tensors.Where(t => t.Name.StartsWith("tape.", StringComparison.Ordinal))
        .ToDictionary(t => t.Name["tape.".Length..], t => t.ToFloat32());
    e.Tape.Restore(int.Parse(file.GetMetadata("tape.stored"), CultureInfo.InvariantCulture), snapshot);
    e.Tape.DropoutRandom.State = file.GetMetadata("dropout.rng").Split(' ').Select(ulong.Parse).ToArray();
    return (m, e, optimizer);
}
