using System.Globalization;

namespace Hayate.Bench;

/// <summary>The command line: `hayate-bench [--quick] [--duration S] [--cold N] [--hayate PATH]`.</summary>
internal sealed record BenchOptions
{
    public bool Quick { get; init; }

    /// <summary>How long each warm cell is measured, after its warm-up.</summary>
    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How long each warm cell is warmed up before it is measured.</summary>
    public TimeSpan WarmUp { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Interleaved rounds per warm cell: the measured time is split in this many slices per target.</summary>
    public int Rounds { get; init; } = 5;

    /// <summary>New functions per runtime for the cold starts, and runs per process floor.</summary>
    public int ColdCount { get; init; } = 10;

    public const string Floors = "floors";
    public const string Warm = "warm";
    public const string Cold = "cold";
    public const string Routing = "routing";
    public const string Async = "async";
    public const string Sources = "sources";

    /// <summary>The sections to run (--only); all by default.</summary>
    public IReadOnlySet<string> Sections { get; init; } = new HashSet<string>(StringComparer.Ordinal) { Floors, Warm, Cold, Routing, Async, Sources };

    /// <summary>Extra environment for the server process (--server-env NAME=VALUE), for experiments.</summary>
    public IReadOnlyDictionary<string, string> ServerEnvironment { get; init; } = new Dictionary<string, string>(StringComparer.Ordinal);

    public bool Runs(string section) => Sections.Contains(section);

    /// <summary>The server's entry assembly (src/Hayate/bin/Release/net10.0/hayate.dll by default).</summary>
    public string? HayateDll { get; init; }

    public static BenchOptions Parse(string[] args)
    {
        var options = new BenchOptions();
        if (args.Contains("--quick"))
        {
            options = options with { Quick = true, Duration = TimeSpan.FromSeconds(1), WarmUp = TimeSpan.FromSeconds(1), ColdCount = 3, Rounds = 2 };
        }

        for (var i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--quick":
                    break;
                case "--duration":
                    options = options with { Duration = TimeSpan.FromSeconds(double.Parse(Value(), CultureInfo.InvariantCulture)) };
                    break;
                case "--warmup":
                    options = options with { WarmUp = TimeSpan.FromSeconds(double.Parse(Value(), CultureInfo.InvariantCulture)) };
                    break;
                case "--rounds":
                    options = options with { Rounds = Math.Max(1, int.Parse(Value(), CultureInfo.InvariantCulture)) };
                    break;
                case "--cold":
                    options = options with { ColdCount = int.Parse(Value(), CultureInfo.InvariantCulture) };
                    break;
                case "--only":
                    var sections = Value().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet(StringComparer.Ordinal);
                    if (sections.Count == 0 || sections.Any(x => x is not (Floors or Warm or Cold or Routing or Async or Sources)))
                    {
                        throw new ArgumentException("--only takes floors, warm, cold, routing, async and/or sources, comma-separated");
                    }

                    options = options with { Sections = sections };
                    break;
                case "--server-env":
                    var pair = Value();
                    var eq = pair.IndexOf('=', StringComparison.Ordinal);
                    if (eq <= 0)
                    {
                        throw new ArgumentException("--server-env takes NAME=VALUE");
                    }

                    options = options with { ServerEnvironment = new Dictionary<string, string>(options.ServerEnvironment, StringComparer.Ordinal) { [pair[..eq]] = pair[(eq + 1)..] } };
                    break;
                case "--hayate":
                    options = options with { HayateDll = Path.GetFullPath(Value()) };
                    break;
                case "-h" or "--help":
                    throw new HelpRequestedException();
                default:
                    throw new ArgumentException($"unknown argument {args[i]}");
            }
        }

        return options;
    }

    public const string Usage = """
        usage: dotnet run -c Release --project bench/Hayate.Bench -- [--quick] [--duration S] [--rounds N] [--warmup S] [--cold N]
                                                              [--only floors,warm,cold,routing,async,sources] [--server-env NAME=VALUE]... [--hayate PATH]

          --quick        1 s per warm cell in 2 rounds, 3 cold starts per runtime (default: 5 s in 5 rounds, 10)
          --duration S   seconds measured per warm cell (per target and concurrency)
          --rounds N     interleaved rounds the measured time is split into
          --warmup S     seconds of warm-up per target and concurrency, before any measurement
          --cold N       new functions per runtime for cold starts, and runs per process floor
          --only LIST    run only these sections: floors, warm, cold, routing, async, sources (comma-separated)
          --server-env NAME=VALUE
                         an extra environment variable for `hayate serve` (repeatable), for experiments
          --hayate PATH  the server's hayate.dll (default: src/Hayate/bin/Release/net10.0/hayate.dll)

        The markdown report goes to stdout, progress to stderr.
        """;
}

internal sealed class HelpRequestedException : Exception;
