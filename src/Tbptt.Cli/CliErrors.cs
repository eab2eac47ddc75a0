namespace Tbptt.Cli;

/// <summary>
/// Bad input gets one clear line on standard error and a non-zero exit, never a stack trace. Exceptions that
/// carry a user-facing message (argument, format and data errors, missing files) are printed as that message;
/// anything else is an internal error, still on one line (set TBPTT_DEBUG=1 for the trace).
/// </summary>
public static class CliErrors
{
    /// <summary>Exit codes: 2 bad input, 3 a training run diverged (NaN/∞), 70 a bug of ours, 130 stopped by Ctrl-C.</summary>
    public const int UserError = 2, Diverged = 3, InternalError = 70, Interrupted = 130;

    public static int Run(Func<int> action)
    {
        try
        {
            return action();
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine("tbptt: stopped; what was written so far is kept.");
            return Interrupted;
        }
        catch (OutOfMemoryException)
        {
            // Sizes are checked where they are parsed; this is the backstop for what no check foresaw.
            Console.Error.WriteLine("tbptt: error: out of memory: the sizes given (model, batch, window, samples) need more memory than this machine has.");
            return UserError;
        }
        catch (Exception e) when (IsUserError(e))
        {
            Console.Error.WriteLine($"tbptt: error: {Describe(e)}");
            return UserError;
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"tbptt: internal error: {e.GetType().Name}: {OneLine(e.Message)}");
            if (Environment.GetEnvironmentVariable("TBPTT_DEBUG") == "1") Console.Error.WriteLine(e);
            return InternalError;
        }
    }

    public static bool IsUserError(Exception e) => e is ArgumentException or FormatException or InvalidDataException
        or FileNotFoundException or DirectoryNotFoundException or IOException or UnauthorizedAccessException
        or NotSupportedException or UserInputException;

    /// <summary>The message without .NET's " (Parameter 'x')" and "Actual value was" decorations.</summary>
    public static string Describe(Exception e)
    {
        string message = e.Message;
        if (e is ArgumentException a && a.ParamName is { } name)
        {
            int cut = message.IndexOf($" (Parameter '{name}')", StringComparison.Ordinal);
            if (cut >= 0) message = message[..cut];
            if (e is ArgumentOutOfRangeException { ActualValue: { } v } && !message.Contains(Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture) ?? "", StringComparison.Ordinal))
                message += $" (got {Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture)})";
            if (!message.Contains(name, StringComparison.OrdinalIgnoreCase)) message = $"{name}: {message}";
        }
        return OneLine(message);
    }

    internal static string OneLine(string s) => string.Join(' ', s.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries)).Trim();
}

/// <summary>A problem with what the user asked for, with a message fit to print as is.</summary>
public sealed class UserInputException(string message) : Exception(message);
