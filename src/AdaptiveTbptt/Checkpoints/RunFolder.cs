namespace Tbptt.Checkpoints;

/// <summary>Putting a run folder back in the state its checkpoint describes before a resumed run writes to it.</summary>
/// <remarks>
/// The metrics file needs nothing here: a resumed run rewrites it from the evaluations its checkpoint holds (a row
/// is appended before its checkpoint is written, so a kill in between leaves a row the resumed run writes again),
/// which drops such rows without a separate cut.
/// </remarks>
public static class RunFolder
{
    /// <summary>Deletes the temporary files a killed process left (<see cref="AtomicFile.DeleteStaleTemporaries"/>).</summary>
    public static void PrepareResume(string directory, TextWriter? log = null)
    {
        int removed = AtomicFile.DeleteStaleTemporaries(directory);
        if (removed > 0) log?.WriteLine($"removed {removed} temporary file(s) left by an interrupted write in {directory}");
    }
}
