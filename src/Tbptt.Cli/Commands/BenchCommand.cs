using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Tbptt.Cli.Binders;
using Tbptt.Engine;
using Tbptt.LanguageModel.Runs;
using Tbptt.LanguageModel.Text;
using Tbptt.Models;
using Tbptt.Numerics;
using Tbptt.Optimizers;
using Tbptt.Training;
using Tbptt.Truncation;

namespace Tbptt.Cli.Commands;

/// <summary>
/// <c>tbptt bench</c>: throughput measurements that print one line of JSON on stdout, for
/// <c>benchmarks/compare.sh</c> (issue 6). <c>charlm</c> trains the character language model (an LSTM by default)
/// with TBPTT(K, K) and SGD with clipping; <c>gemm</c> measures the machine's square sgemm rate per backend.
/// </summary>
/// <remarks>
/// FLOP count (the "3 × the forward multiply-adds × 2"): per token the forward pass performs
/// F = Σ_l G·H·(In_l + H) + H·V multiply-adds, G = 4 gate blocks for an LSTM (3 for a GRU, 1 for an Elman cell),
/// In_0 = E (embedding width) and In_l = H above; the embedding
/// lookup, biases, gate non-linearities and softmax are not counted. Backward costs twice the forward, and a
/// multiply-add is 2 FLOPs, so FLOPs per token = 3 · F · 2 = 6F and GFLOP/s = 6F · tokens / seconds / 10⁹.
/// For E = 64, V = 65: H = 128 → F = 106 624; H = 512 → F = 1 212 928; H = 1024 → F = 4 523 008.
/// </remarks>
public static class BenchCommand
{
    public static Command Create()
    {
        var cmd = new Command("bench", "Measure training throughput and matrix-product rates; prints one line of JSON.");
        cmd.Subcommands.Add(CharLm());
        cmd.Subcommands.Add(Gemm());
        return cmd;
    }

    // ---- tbptt bench charlm ---------------------------------------------------------------------------

    private static Command CharLm()
    {
        // The model, the update and the truncation are their concerns' flags, with the benchmark's defaults
        // (RunDefaults.Bench); what only a measurement has is declared here, its defaults in CharLmSettings.
        var d = RunDefaults.Bench;
        var m = new CharLmSettings();
        var data = new CorpusBinder(d.Corpus!, updatesOnly: true);
        var model = new ModelBinder(d.Model);
        var training = new TrainingBinder(d.Training, lrByOptimizer: false, seed: true, updateOnly: true);
        var truncation = new TruncationBinder(d.Truncation, chunkedOnly: true);
        var seconds = Opt.WithDefault("--seconds", "S: timed duration, after the warm-up.", m.Seconds);
        var vocab = Opt.WithDefault("--vocab", "V: vocabulary of the random tokens (tiny-Shakespeare has 65); ignored with --corpus.", m.Vocab);
        var threads = Opt.WithDefault("--threads", "Threads of the BLAS backend (0: one per core).", m.Threads);
        var warmup = Opt.WithDefault("--warmup", "Untimed updates before the timed run (at least this many, and at least 1 s).", m.Warmup);
        var cmd = new Command("charlm",
            "Train the character language model (embedding → recurrent layers → linear, TBPTT(K, K), the Trainer's update) for S seconds and print throughput as JSON.")
            { seconds, vocab, threads, warmup };
        data.AddTo(cmd);
        model.AddTo(cmd);
        training.AddTo(cmd);
        truncation.AddTo(cmd);
        cmd.SetAction(r => CliErrors.Run(() =>
        {
            var corpus = data.Read(r);
            var s = new CharLmSettings
            {
                Model = model.Read(r), Training = training.Read(r), K = truncation.Read(r).K, Batch = corpus.Batch,
                Corpus = corpus.Path is "" ? null : corpus.Path,
                Seconds = r.GetValue(seconds), Vocab = r.GetValue(vocab), Threads = r.GetValue(threads), Warmup = r.GetValue(warmup),
            };
            Console.WriteLine(RunCharLm(s).ToJson());
            return 0;
        }));
        return cmd;
    }

    /// <summary>
    /// What <c>bench charlm</c> runs: a model, its update (optimizer, step, clipping, seed), TBPTT(K, K) over
    /// <see cref="Batch"/> columns of a text or of seeded random tokens, and how long to measure. The defaults are
    /// <see cref="RunDefaults.Bench"/>'s.
    /// </summary>
    public sealed record CharLmSettings
    {
        public ModelOptions Model { get; init; } = RunDefaults.Bench.Model;
        public TrainerOptions Training { get; init; } = RunDefaults.Bench.Training;
        /// <summary>K of TBPTT(K, K): steps per update and steps backpropagated.</summary>
        public int K { get; init; } = RunDefaults.Bench.Truncation.K;
        public int Batch { get; init; } = RunDefaults.Bench.Corpus!.Batch;
        /// <summary>A UTF-8 text, or null for seeded random tokens.</summary>
        public string? Corpus { get; init; }
        /// <summary>Timed seconds, after the warm-up.</summary>
        public double Seconds { get; init; } = 10;
        /// <summary>Vocabulary of the random tokens (tiny-Shakespeare has 65).</summary>
        public int Vocab { get; init; } = 65;
        /// <summary>BLAS threads; 0 means one per core.</summary>
        public int Threads { get; init; } = Environment.ProcessorCount;
        /// <summary>Untimed updates before the timed ones (and at least one second of them).</summary>
        public int Warmup { get; init; } = 3;

        /// <summary>Threads actually used: <see cref="Threads"/>, or one per core when it is 0.</summary>
        public int EffectiveThreads => Threads > 0 ? Threads : Environment.ProcessorCount;

        public void Validate()
        {
            Model.Validate();
            Training.Validate();
            if (Batch < 1) throw new UserInputException($"--batch must be at least 1 (got {Batch}).");
            if (K < 1) throw new UserInputException($"--k must be at least 1 (got {K}).");
            if (Threads < 0) throw new UserInputException($"--threads must be ≥ 0 (got {Threads}; 0 means one per core).");
            if (Corpus is null && Vocab < 2) throw new UserInputException($"--vocab must be at least 2 (got {Vocab}).");
            if (!(Seconds > 0)) throw new UserInputException($"--seconds must be positive (got {Seconds.ToString(CultureInfo.InvariantCulture)}).");
            if (Warmup < 0) throw new UserInputException($"--warmup must be ≥ 0 (got {Warmup}).");
        }
    }

    /// <summary>Forward multiply-adds per token: Σ_l G·H·(In_l + H) + H·V with G gates per cell (see the class remarks).</summary>
    /// <param name="gates">Gate blocks of the cell: 4 for an LSTM, 3 for a GRU, 1 for an Elman cell.</param>
    public static long ForwardMultiplyAddsPerToken(int hidden, int embed, int layers, int vocab, int gates = 4)
    {
        long h = hidden, f = 0;
        for (int l = 0; l < layers; l++) f += gates * h * ((l == 0 ? embed : h) + h);
        return f + h * vocab;
    }

    /// <summary>Gate blocks of a cell's products (4 for an LSTM, 3 for a GRU, 1 for an Elman cell).</summary>
    public static int Gates(CellKind cell) => cell switch { CellKind.Lstm => 4, CellKind.Gru => 3, _ => 1 };

    /// <summary>
    /// The benchmark's trainer: the <see cref="Trainer"/> users run (<c>charlm train</c>), one update at a time through
    /// <see cref="Trainer.TrainStep"/> — zero-grad, TBPTT(K, K) update with the model's dropout, clipping, the
    /// non-finite guard, the schedule and the optimizer step — over a stream that wraps around (a new pass starts
    /// from the zero state). What is measured is what is shipped.
    /// </summary>
    public sealed class CharLmTrainer
    {
        private readonly Trainer _trainer;

        /// <param name="training">The update's settings (optimizer, step, clipping, seed); the benchmark runs without end.</param>
        public CharLmTrainer(SequenceModel<float> model, int batch, int k, int[] data, TrainerOptions training)
        {
            if (data.Length / batch < k + 1)
                throw new UserInputException($"the stream holds {data.Length / batch} steps per column; TBPTT({k}, {k}) needs at least {k + 1}.");
            Model = model;
            Batch = batch;
            K = k;
            Clip = training.Clip;
            var stream = TokenStream.NextToken(data, batch);
            // The validation stream is never read: the benchmark makes updates only.
            _trainer = new Trainer(model, training with { Epochs = int.MaxValue }, stream, stream) { Policy = new FixedTruncation(k, k) };
        }

        public SequenceModel<float> Model { get; }
        public TbpttEngine<float> Engine => _trainer.Engine;
        public IOptimizer<float> Optimizer => _trainer.Optimizer;
        public int Batch { get; }
        public int K { get; }
        public double Clip { get; }
        public double LastLoss => _trainer.LastLoss;

        /// <summary>One training update; a diverged update is an error (the benchmark's rate would mean nothing).</summary>
        public void Update()
        {
            if (!_trainer.TrainStep())
                throw new UserInputException($"the update diverged ({_trainer.Divergence?.What}); lower --lr or --clip.");
        }
    }

    public static CharLmTrainer CreateTrainer(CharLmSettings s, out int vocabSize)
    {
        int[] data;
        if (s.Corpus is { } path)
        {
            string text = TextFiles.ReadUtf8(path);
            var v = Vocabulary.FromText(text);
            vocabSize = v.Count;
            if (vocabSize < 2) throw new UserInputException($"{path}: the text has fewer than 2 distinct characters.");
            data = Batchify.Columns(v.Encode(text), s.Batch, out _);
        }
        else
        {
            vocabSize = s.Vocab;
            var rng = new Random((int)s.Training.Seed);
            data = new int[(16 * s.K + 1) * s.Batch]; // 16 chunks per pass; memory independent of the run's length
            for (int i = 0; i < data.Length; i++) data[i] = rng.Next(vocabSize);
        }
        var model = SequenceModel<float>.Create(s.Model.ToConfig(vocabSize), (int)s.Training.Seed, s.Model.InitScheme);
        return new CharLmTrainer(model, s.Batch, s.K, data, s.Training);
    }

    public static BenchResult RunCharLm(CharLmSettings s)
    {
        s.Validate();
        ApplyThreads(s.EffectiveThreads);
        using var precision = Blas.UsePrecision(s.Training.MatmulPrecision);
        if (Blas.ThreadBackend is AmxBlas amxBackend) Blas.ThreadBackend = amxBackend.WithThreads(s.EffectiveThreads); // the scope restores it
        var trainer = CreateTrainer(s, out int vocabSize);

        // Warm-up: JIT tiering, BLAS thread start-up, first touch of every buffer.
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < s.Warmup || clock.Elapsed.TotalSeconds < 1; i++) trainer.Update();

        int gcBefore = GC.CollectionCount(0);
        long threadBytes = GC.GetAllocatedBytesForCurrentThread();
        long allBytes = GC.GetTotalAllocatedBytes(precise: true);
        long updates = 0;
        clock.Restart();
        while (clock.Elapsed.TotalSeconds < s.Seconds)
        {
            trainer.Update();
            updates++;
        }
        double elapsed = clock.Elapsed.TotalSeconds;
        threadBytes = GC.GetAllocatedBytesForCurrentThread() - threadBytes;
        allBytes = GC.GetTotalAllocatedBytes(precise: true) - allBytes;
        int collections = GC.CollectionCount(0) - gcBefore;

        double tokens = (double)updates * s.K * s.Batch;
        var config = trainer.Model.Config;
        long fma = ForwardMultiplyAddsPerToken(config.HiddenSize, config.EmbedSize, config.Layers, vocabSize, Gates(config.Cell));
        using var self = Process.GetCurrentProcess();
        self.Refresh();
        return new BenchResult
        {
            ["charsPerSecond"] = tokens / elapsed,
            ["gflops"] = 6.0 * fma * tokens / elapsed / 1e9,
            ["blas"] = Blas.Active.Name,
            ["blasDescription"] = Blas.ThreadBackend is AmxBlas amx ? $"{amx.Name} [{amx.Describe()}] (--matmul-precision medium)" : Blas.Describe(),
            ["matmulPrecision"] = s.Training.MatmulPrecision,
            ["peakMemoryBytes"] = self.PeakWorkingSet64,
            ["peakMemoryKind"] = "peak resident set size of the process (Linux VmHWM, like ru_maxrss): managed heap, native buffers and the .NET runtime",
            ["managedHeapBytes"] = GC.GetGCMemoryInfo().HeapSizeBytes,
            ["cell"] = s.Model.Cell,
            ["hidden"] = config.HiddenSize,
            ["batch"] = s.Batch,
            ["k"] = s.K,
            ["embed"] = config.EmbedSize,
            ["layers"] = config.Layers,
            ["dropout"] = config.Dropout,
            ["optimizer"] = s.Training.Optimizer,
            ["vocab"] = vocabSize,
            ["updates"] = updates,
            ["seconds"] = elapsed,
            ["flopsPerToken"] = 6.0 * fma,
            ["allocatedBytesPerUpdate"] = updates > 0 ? (double)threadBytes / updates : 0.0,
            ["allocatedBytesPerUpdateAllThreads"] = updates > 0 ? (double)allBytes / updates : 0.0,
            ["gen0Collections"] = collections,
            ["lastLoss"] = trainer.LastLoss,
            ["threads"] = s.EffectiveThreads,
            ["corpus"] = s.Corpus ?? "random",
            ["machine"] = Machine(),
            ["runtime"] = RuntimeInformation.FrameworkDescription,
            ["date"] = DateTimeOffset.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
        };
    }

    /// <summary>
    /// Sets the active backend's thread count: a managed backend is replaced by one with that many threads, a
    /// native library is told through its own setter (NativeBlas sets it to the core count when it loads).
    /// </summary>
    private static void ApplyThreads(int threads)
    {
        switch (Blas.Active)
        {
            case ManagedBlas m when m.MaxThreads != threads:
                Blas.Active = new ManagedBlas(new ManagedBlasOptions { MaxThreads = threads });
                break;
            case AmxBlas a when a.MaxThreads != threads: // TBPTT_BLAS=amx-bf16
                Blas.Active = a.WithThreads(threads);
                break;
            case NativeBlas n:
                if (!SetNativeThreads(n, threads) && threads != Environment.ProcessorCount)
                    throw new UserInputException($"{n.Name} exports no thread-count setter; cannot use --threads {threads}.");
                break;
        }
    }

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate void SetNumThreads(int threads);

    private static bool SetNativeThreads(NativeBlas native, int threads)
    {
        if (!NativeLibrary.TryLoad(native.LibraryName, typeof(NativeBlas).Assembly, null, out nint handle)) return false;
        foreach (string name in new[] { "openblas_set_num_threads", "MKL_Set_Num_Threads", "mkl_set_num_threads" })
        {
            if (!NativeLibrary.TryGetExport(handle, name, out nint f)) continue;
            Marshal.GetDelegateForFunctionPointer<SetNumThreads>(f)(threads);
            return true;
        }
        return false;
    }

    // ---- tbptt bench gemm -----------------------------------------------------------------------------

    private static Command Gemm()
    {
        var n = Opt.WithDefault("--n", "Size of the square single-precision product C = A·B (n × n × n).", 1024);
        var seconds = Opt.WithDefault("--seconds", "Timed duration per backend.", 2.0);
        var threads = Opt.WithDefault("--threads", "Threads of each backend.", Environment.ProcessorCount);
        var cmd = new Command("gemm", "Measure the sgemm rate (GFLOP/s = 2n³ per product) of every available backend and print it as JSON (amx-bf16: bfloat16 products).")
            { n, seconds, threads };
        cmd.SetAction(r => CliErrors.Run(() =>
        {
            Console.WriteLine(RunGemm(r.GetValue(n), r.GetValue(seconds), r.GetValue(threads)).ToJson());
            return 0;
        }));
        return cmd;
    }

    public static BenchResult RunGemm(int n, double seconds, int threads)
    {
        if (n < 1) throw new UserInputException($"--n must be at least 1 (got {n}).");
        if (!(seconds > 0)) throw new UserInputException($"--seconds must be positive (got {seconds.ToString(CultureInfo.InvariantCulture)}).");
        if (threads < 1) throw new UserInputException($"--threads must be at least 1 (got {threads}).");
        var backends = new List<IBlasBackend> { new ManagedBlas(new ManagedBlasOptions { MaxThreads = threads }) };
        foreach (string kind in new[] { "openblas", "mkl" })
        {
            if (NativeBlas.TryLoad(kind) is not { } native || BlasSelfTest.Run(native) is not null) continue;
            SetNativeThreads(native, threads);
            backends.Add(native);
        }
        // bfloat16 products (--matmul-precision medium), where the CPU has AMX.
        if (AmxBlas.Instance is { } amx) backends.Add(amx.WithThreads(threads));
        var rng = new Random(1);
        var a = new float[n * n];
        var b = new float[n * n];
        var c = new float[n * n];
        for (int i = 0; i < a.Length; i++) { a[i] = (float)(rng.NextDouble() - 0.5); b[i] = (float)(rng.NextDouble() - 0.5); }
        var rates = new BenchResult();
        foreach (var backend in backends)
        {
            for (int i = 0; i < 2; i++) backend.Gemm(false, false, n, n, n, 1f, a, n, b, n, 0f, c, n); // warm-up
            long reps = 0;
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed.TotalSeconds < seconds)
            {
                backend.Gemm(false, false, n, n, n, 1f, a, n, b, n, 0f, c, n);
                reps++;
            }
            rates[backend.Name] = 2.0 * n * n * (double)n * reps / clock.Elapsed.TotalSeconds / 1e9;
        }
        return new BenchResult
        {
            ["n"] = n,
            ["threads"] = threads,
            ["gflops"] = rates,
            ["machine"] = Machine(),
            ["date"] = DateTimeOffset.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
        };
    }

    // ---- shared ---------------------------------------------------------------------------------------

    /// <summary>Cores, OS and CPU model (from /proc/cpuinfo where readable).</summary>
    public static BenchResult Machine() => new()
    {
        ["cores"] = Environment.ProcessorCount,
        ["os"] = RuntimeInformation.OSDescription,
        ["cpu"] = CpuModel(),
    };

    private static string CpuModel()
    {
        try
        {
            foreach (string line in File.ReadLines("/proc/cpuinfo"))
                if (line.StartsWith("model name", StringComparison.Ordinal) && line.IndexOf(':') is int i and >= 0)
                    return line[(i + 1)..].Trim();
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return RuntimeInformation.ProcessArchitecture.ToString();
    }

    /// <summary>An ordered set of JSON fields (numbers, strings, nested results), written as one line.</summary>
    public sealed class BenchResult : List<KeyValuePair<string, object>>
    {
        public object this[string key]
        {
            get => this.First(p => p.Key == key).Value;
            set => Add(new(key, value));
        }

        public string ToJson()
        {
            using var stream = new MemoryStream();
            using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
                Write(w, this);
            return Encoding.UTF8.GetString(stream.ToArray());
        }

        private static void Write(Utf8JsonWriter w, BenchResult r)
        {
            w.WriteStartObject();
            foreach (var (key, value) in r)
            {
                w.WritePropertyName(key);
                switch (value)
                {
                    case BenchResult nested: Write(w, nested); break;
                    case string text: w.WriteStringValue(text); break;
                    case int i: w.WriteNumberValue(i); break;
                    case long l: w.WriteNumberValue(l); break;
                    case double d when double.IsFinite(d): w.WriteNumberValue(Math.Round(d, 6)); break;
                    case double: w.WriteNullValue(); break;
                    default: throw new InvalidOperationException($"cannot write {value.GetType().Name} as JSON.");
                }
            }
            w.WriteEndObject();
        }
    }
}
