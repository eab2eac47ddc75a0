using Tbptt.Truncation;
using Tbptt.Models;

namespace Tbptt.Training;

/// <summary>A trainer's state out and in: checkpoints, and the checks a damaged one must fail before anything is
/// overwritten.</summary>
public sealed partial class Trainer
{
    /// <summary>The complete state of the run now (see <see cref="TrainerState"/>).</summary>
    public TrainerState ExportState() => new()
    {
        Counters = new TrainerCounters(Updates, Epoch, Position, TokensSeen, ComputeTokens, ProbeComputeTokens, BestValidLoss,
            TestLossAtBest, UpdatesAtBest, _trainLossSum, _trainLossCount, _lastGradNorm, WallSeconds, _optimizer.Steps, Policy.K,
            _evaluations.ToArray(), (Policy as AdaptiveTruncation)?.History.ToArray() ?? [], _probeCostPerEstimate,
            _guard.Skipped, _guard.ConsecutiveSkips, _schedule.State, _evalSeconds, _probeSeconds),
        Parameters = (float[])_model.Parameters.Data.Clone(),
        BestParameters = (float[])BestParameters.Clone(),
        OptimizerState = _optimizer.State.ToDictionary(kv => kv.Key, kv => (float[])kv.Value.Clone()),
        Rng = Rng.State,
        DropoutRng = _engine.Tape.DropoutRandom.State,
        TapeStored = _engine.Tape.Stored,
        Tape = _engine.Tape.Snapshot().ToDictionary(x => x.Name, x => x.Values),
    };

    /// <summary>Continues from <paramref name="state"/>; set <see cref="Policy"/> first (its K is restored).</summary>
    /// <exception cref="InvalidDataException">A field of the state does not fit this run or is out of range; the
    /// message names the field (and <see cref="TrainerState.Source"/>). Nothing is changed then.</exception>
    public void ImportState(TrainerState state)
    {
        var c = state.Counters;
        ValidateState(state);
        state.Parameters.CopyTo(_model.Parameters.Data, 0);
        state.BestParameters.CopyTo(BestParameters, 0);
        foreach (var (name, buffer) in _optimizer.State) state.OptimizerState[name].CopyTo(buffer, 0);
        _optimizer.RestoreSteps(c.OptimizerSteps);
        Rng.State = state.Rng;
        _engine.Tape.DropoutRandom.State = state.DropoutRng;
        _engine.Tape.Restore(state.TapeStored, state.Tape);
        (Updates, Epoch, Position, TokensSeen, ComputeTokens, ProbeComputeTokens) =
            (c.Updates, c.Epoch, c.Position, c.TokensSeen, c.ComputeTokens, c.ProbeComputeTokens);
        (BestValidLoss, TestLossAtBest, UpdatesAtBest) = (c.BestValidLoss, c.TestLossAtBest, c.UpdatesAtBest);
        (_trainLossSum, _trainLossCount, _lastGradNorm, _wallOffset) = (c.TrainLossSum, c.TrainLossCount, c.LastGradNorm, c.WallSeconds);
        _probeCostPerEstimate = c.ProbeCostPerEstimate;
        _schedule.State = c.Schedule ?? new ScheduleState();
        _evalSeconds = c.EvalSeconds;
        _probeSeconds = c.ProbeSeconds;
        _lastTrainLoss = c.TrainLossCount > 0 ? c.TrainLossSum / c.TrainLossCount : double.NaN;
        _guard.Restore(c.SkippedUpdates, c.ConsecutiveSkips);
        _evaluations.Clear();
        _evaluations.AddRange(c.Evaluations);
        if (Policy is AdaptiveTruncation adaptive) adaptive.Restore(c.PolicyK, c.KHistory);
    }

    /// <summary>Every field of a state checked against this run before any of it is used.</summary>
    private void ValidateState(TrainerState state)
    {
        string where = state.Source is { } src ? $"{src}: " : "";
        InvalidDataException Bad(string field, string why) => new($"{where}damaged checkpoint: {field} {why}");
        int n = _model.Parameters.Length;
        void Floats(string field, float[]? values, int length)
        {
            if (values is null || values.Length != length) throw Bad(field, $"holds {values?.Length ?? 0} values, the model needs {length}.");
            if (values.Length > 0 && !float.IsFinite(System.Numerics.Tensors.TensorPrimitives.MaxMagnitude<float>(values)))
                throw Bad(field, "holds NaN or infinite values.");
        }
        Floats("parameters", state.Parameters, n);
        Floats("trainer.best_parameters", state.BestParameters, n);
        foreach (var (name, buffer) in _optimizer.State)
            Floats($"trainer.optimizer.{name}", state.OptimizerState.TryGetValue(name, out var saved) ? saved : null, buffer.Length);
        foreach (var (name, words) in new[] { ("trainer.rng", state.Rng), ("trainer.dropout_rng", state.DropoutRng) })
            if (words is not { Length: 4 } || (words[0] | words[1] | words[2] | words[3]) == 0)
                throw Bad(name, "is not a generator state (four words, not all zero).");
        foreach (var (name, values) in state.Tape)
            if (values.Length > 0 && !float.IsFinite(System.Numerics.Tensors.TensorPrimitives.MaxMagnitude<float>(values)))
                throw Bad($"trainer.tape.{name}", "holds NaN or infinite values.");
        if (state.TapeStored < 0 || state.TapeStored > _train.Steps) throw Bad("trainer.tape_stored", $"= {state.TapeStored} is outside [0, {_train.Steps}].");

        var c = state.Counters ?? throw Bad("trainer.counters", "is missing.");
        void Range(string field, double value, double lo, double hi)
        {
            if (!(value >= lo && value <= hi)) throw Bad($"trainer.counters.{field}", string.Create(System.Globalization.CultureInfo.InvariantCulture, $"= {value} is outside [{lo}, {hi}]."));
        }
        Range("Updates", c.Updates, 0, long.MaxValue);
        Range("Epoch", c.Epoch, 0, Options.Epochs);
        Range("Position", c.Position, 0, _train.Steps);
        Range("TokensSeen", c.TokensSeen, 0, long.MaxValue);
        Range("ComputeTokens", c.ComputeTokens, 0, long.MaxValue);
        Range("ProbeComputeTokens", c.ProbeComputeTokens, 0, c.ComputeTokens);
        Range("UpdatesAtBest", c.UpdatesAtBest, 0, c.Updates);
        Range("TrainLossCount", c.TrainLossCount, 0, c.Updates);
        Range("OptimizerSteps", c.OptimizerSteps, 0, long.MaxValue);
        Range("PolicyK", c.PolicyK, 1, _train.Steps);
        Range("ProbeCostPerEstimate", c.ProbeCostPerEstimate, 0, long.MaxValue);
        Range("SkippedUpdates", c.SkippedUpdates, 0, long.MaxValue);
        Range("ConsecutiveSkips", c.ConsecutiveSkips, 0, NonFiniteGuard.DefaultMaxConsecutiveSkips);
        Range("WallSeconds", c.WallSeconds, 0, double.MaxValue);
        Range("TrainLossSum", c.TrainLossSum, double.MinValue, double.MaxValue);
        Range("EvalSeconds", c.EvalSeconds, 0, double.MaxValue);
        Range("ProbeSeconds", c.ProbeSeconds, 0, double.MaxValue);
        if (c.Schedule is { } sch)
        {
            Range("Schedule.Scale", sch.Scale, double.Epsilon, 1);
            Range("Schedule.SinceBest", sch.SinceBest, 0, int.MaxValue);
            if (double.IsNaN(sch.Best) || double.IsNegativeInfinity(sch.Best)) throw Bad("trainer.counters.Schedule.Best", $"= {sch.Best} is not a loss.");
        }
        if (double.IsNaN(c.BestValidLoss) || double.IsNegativeInfinity(c.BestValidLoss)) throw Bad("trainer.counters.BestValidLoss", $"= {c.BestValidLoss} is not a loss.");
        if (c.Evaluations is null || c.KHistory is null || c.Evaluations.Any(e => e is null) || c.KHistory.Any(e => e is null))
            throw Bad("trainer.counters", "lacks its evaluations or K history.");
    }
}
