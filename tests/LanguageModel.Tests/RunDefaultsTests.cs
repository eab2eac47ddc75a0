using Tbptt.LanguageModel.Runs;
using Tbptt.Training;

namespace Tbptt.Tests;

/// <summary>The defaults a flag falls back on when it is not given.</summary>
public class RunDefaultsTests
{
    [Fact]
    public void TheWeightDecayFollowsTheOptimizer()
    {
        var charLm = RunDefaults.CharLm.Training; // adamw with 0.1
        Assert.Equal(("adamw", 0.1), (charLm.Optimizer, charLm.WeightDecay));
        Assert.Equal(0.1, RunDefaults.WeightDecay("adamw", charLm));
        Assert.Equal(0.0, RunDefaults.WeightDecay("adam", charLm));   // not 0.1 as an L2 penalty
        Assert.Equal(0.0, RunDefaults.WeightDecay("sgd", charLm));
        var copy = RunDefaults.Copy.Training;                        // sgd with an L2 penalty of 1e-5
        Assert.Equal(1e-5, RunDefaults.WeightDecay("sgd", copy));
        Assert.Equal(1e-5, RunDefaults.WeightDecay("adam", copy));
        Assert.Equal(0.01, RunDefaults.WeightDecay("adamw", copy));  // torch.optim.AdamW's default
        var compare = RunDefaults.CharLmCompare.Training;            // its published table's Adam, pinned
        Assert.Equal(("adam", 0.0), (compare.Optimizer, compare.WeightDecay));
    }
}
