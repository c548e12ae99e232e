// WAL benchmark driver. `make bench` runs `WALBenchmark compare`; the other
// subcommands are its parts and probes for profiling.
import RaftFiles
import Foundation

let arguments = Array(CommandLine.arguments.dropFirst())
var flags = Flags(arguments.dropFirst())

do {
    switch arguments.first {
    case "compare":
        try await Compare.run(
            raftstore: flags.string("--raftstore", ""), etcd: flags.string("--etcd", ""), directory: flags.value("--dir"),
            runs: flags.int("--runs", 5), groupCommitRounds: flags.int("--group-commit-rounds", 5), skipEtcd: flags.bool("--skip-etcd"))
    case "versus":
        try Versus.run(
            baseline: Versus.Binaries(raftstore: flags.string("--baseline", ""), benchmark: flags.string("--baseline-bench", "")),
            candidate: Versus.Binaries(raftstore: flags.string("--candidate", ""), benchmark: flags.string("--candidate-bench", "")),
            directory: flags.value("--dir"), runs: flags.int("--runs", 7))
    case "replay-memory":
        try ReplayMemory.run(
            gigabytes: flags.double("--gigabytes", 2), size: flags.int("--size", 1000),
            directory: flags.string("--dir", NSTemporaryDirectory()), includingRead: flags.bool("--with-read"))
    case "replay-child":
        guard let mode = ReplayMemory.Mode(rawValue: flags.string("--mode", "")) else { throw BenchmarkError("--mode stream|logstore|read") }
        print(try ReplayMemory.child(path: flags.string("--path", ""), mode: mode, expected: flags.int("--expected", 0)).json)
    case "write-wal":
        print(try ReplayMemory.write(path: flags.string("--path", ""), bytes: flags.int("--megabytes", 256) * 1_000_000, size: flags.int("--size", 1000)))
    case "engine":
        var options = EngineBenchmark.Options(directory: flags.string("--dir", NSTemporaryDirectory()))
        options.pairs = flags.int("--runs", options.pairs)
        options.groups = flags.int("--groups", options.groups)
        options.gigabytes = flags.double("--gigabytes", options.gigabytes)
        options.indexEntries = flags.int("--index-entries", options.indexEntries)
        options.purge.groups = options.groups
        options.purge.rounds = flags.int("--purge-rounds", options.purge.rounds)
        options.purge.budget = flags.int("--purge-budget", options.purge.budget)
        options.purge.fileSize = Int64(flags.int("--purge-file-size", Int(options.purge.fileSize)))
        options.purge.keepRounds = flags.int("--purge-keep-rounds", options.purge.keepRounds)
        options.purge.perRound = flags.int("--purge-entries", options.purge.perRound)
        if let rows = flags.value("--rows") { options.rows = Set(rows.split(separator: ",").compactMap { Int($0) }) }
        try await EngineBenchmark.run(options)
    case "engine-write":
        print(try EngineRecoveryBenchmark.write(
            path: flags.string("--path", ""), bytes: Int(flags.double("--gigabytes", 1) * 1e9), size: flags.int("--size", 256),
            groups: flags.int("--groups", 1000), perGroup: flags.int("--per-group", 4)))
    case "engine-probe-write":
        try EngineVersusWAL.probe(
            groups: flags.int("--groups", 1000), size: flags.int("--size", 100), rounds: flags.int("--rounds", 2000),
            sync: flags.bool("--sync"), directory: flags.string("--dir", NSTemporaryDirectory()))
    case "engine-probe-group-commit":
        try await EngineGroupCommit.probe(
            writers: flags.int("--writers", 16), groupsPerWriter: flags.int("--groups", 64), size: flags.int("--size", 100),
            rounds: flags.int("--rounds", 500), directory: flags.string("--dir", NSTemporaryDirectory()))
    case "engine-open":
        print(try EngineRecoveryBenchmark.child(path: flags.string("--path", ""), expected: flags.int("--expected", 0)).json)
    case "crc":
        let rounds = CRCBenchmark.run(recordSize: flags.int("--record", 4096), totalBytes: flags.int("--mib", 256) << 20, rounds: flags.int("--rounds", 7),
                                        instructionsOnly: flags.bool("--instructions-only"))
        print("CRC32C GB/s per CPU second:", rounds.map { String(format: "%.2f", $0.cpu) }.joined(separator: " "), "median", String(format: "%.2f", Compare.median(rounds.map(\.cpu))))
        print("CRC32C GB/s wall clock:    ", rounds.map { String(format: "%.2f", $0.wall) }.joined(separator: " "), "median", String(format: "%.2f", Compare.median(rounds.map(\.wall))))
    case "probe-write":
        try Probes.write(
            entries: flags.int("--entries", 1_000_000), size: flags.int("--size", 100), batch: flags.int("--batch", 1000),
            fsync: !flags.bool("--no-fsync"), directory: flags.string("--dir", NSTemporaryDirectory()),
            rounds: flags.int("--rounds", 3), discardWrites: flags.bool("--discard-writes"))
    case "write-floor":
        let rounds = try WriteFloor.run(directory: flags.string("--dir", NSTemporaryDirectory()), rounds: flags.int("--rounds", 5))
        for round in rounds {
            print(String(format: "W1 write %.4f s   pwrite loop of the same pieces %.4f s   WAL at %.0f%% of the floor", round.walSeconds, round.floorSeconds, round.ratio * 100))
        }
    case "probe-replay":
        try Probes.replay(
            entries: flags.int("--entries", 1_000_000), size: flags.int("--size", 100),
            directory: flags.string("--dir", NSTemporaryDirectory()), rounds: flags.int("--rounds", 3))
    case "groupcommit":
        let rounds = try await GroupCommitBenchmark.run(
            tasks: flags.int("--tasks", 16), singleEntries: flags.int("--single", 1000), concurrentEntries: flags.int("--entries", 8000),
            size: flags.int("--size", 100), directory: flags.string("--dir", NSTemporaryDirectory()), rounds: flags.int("--rounds", 3))
        for round in rounds {
            print(String(format: "1 task %.0f entries/s   %d tasks %.0f entries/s   ratio %.1fx   %.3f fdatasyncs per entry",
                         round.single, flags.int("--tasks", 16), round.concurrent, round.concurrent / round.single, round.syncsPerEntry))
        }
    case "storage-groupcommit":
        let rounds = try await StorageGroupCommitBenchmark.run(
            tasks: flags.int("--tasks", 16), entries: flags.int("--entries", 8000), size: flags.int("--size", 100),
            directory: flags.string("--dir", NSTemporaryDirectory()), rounds: flags.int("--rounds", 3))
        for round in rounds {
            print(String(format: "sync Storage, 1 task %.0f entries/s   async Storage, %d tasks %.0f entries/s   ratio %.1fx",
                         round.synchronous, flags.int("--tasks", 16), round.concurrent, round.concurrent / round.synchronous))
        }
    default:
        print("""
            usage: WALBenchmark compare --raftstore PATH --etcd PATH [--dir DIR] [--runs N] [--group-commit-rounds N] [--skip-etcd]
                   WALBenchmark versus --baseline RAFTSTORE --baseline-bench WALBENCHMARK --candidate RAFTSTORE --candidate-bench WALBENCHMARK [--dir DIR] [--runs N]
                   WALBenchmark replay-memory [--gigabytes G] [--size B] [--dir DIR] [--with-read]
                   WALBenchmark replay-child --path WAL --mode stream|logstore|read --expected N
                   WALBenchmark write-wal --path WAL [--megabytes N] [--size B]
                   WALBenchmark engine [--dir DIR] [--runs N] [--rows 1,2,...] [--groups N] [--gigabytes G] [--index-entries N]
                                       [--purge-rounds N] [--purge-budget BYTES] [--purge-file-size BYTES] [--purge-keep-rounds N] [--purge-entries N]
                   WALBenchmark engine-write --path DIR [--gigabytes G] [--size B] [--groups N] [--per-group N]
                   WALBenchmark engine-open --path DIR --expected N
                   WALBenchmark engine-probe-write [--groups N] [--size B] [--rounds N] [--sync] [--dir DIR]
                   WALBenchmark engine-probe-group-commit [--writers N] [--groups N] [--size B] [--rounds N] [--dir DIR]
                   WALBenchmark crc [--record BYTES] [--mib N] [--rounds N] [--instructions-only]
                   WALBenchmark groupcommit [--tasks N] [--single N] [--entries N] [--size B] [--dir DIR] [--rounds N]
                   WALBenchmark storage-groupcommit [--tasks N] [--entries N] [--size B] [--dir DIR] [--rounds N]
                   WALBenchmark probe-write [--entries N] [--size B] [--batch B] [--no-fsync] [--dir DIR] [--rounds N] [--discard-writes]
                   WALBenchmark probe-replay [--entries N] [--size B] [--dir DIR] [--rounds N]
                   WALBenchmark write-floor [--dir DIR] [--rounds N]
            """)
        exit(2)
    }
} catch {
    FileHandle.standardError.write(Data("WALBenchmark: \(error)\n".utf8))
    exit(1)
}

/// `--name value` and `--flag` arguments.
struct Flags {
    private var values: [String: String] = [:]
    private var present: Set<String> = []

    init(_ arguments: ArraySlice<String>) {
        var iterator = arguments.makeIterator()
        while let argument = iterator.next() {
            guard argument.hasPrefix("--") else { continue }
            if let equals = argument.firstIndex(of: "=") {
                values[String(argument[..<equals])] = String(argument[argument.index(after: equals)...])
            } else {
                present.insert(argument)
            }
        }
        // A flag followed by a value: `--name value`.
        let list = Array(arguments)
        for (position, argument) in list.enumerated() where argument.hasPrefix("--") && position + 1 < list.count {
            if !list[position + 1].hasPrefix("--") { values[argument] = list[position + 1] }
        }
    }

    func bool(_ name: String) -> Bool { present.contains(name) }
    func string(_ name: String, _ fallback: String) -> String { values[name] ?? fallback }
    func value(_ name: String) -> String? { values[name] }
    func int(_ name: String, _ fallback: Int) -> Int { values[name].flatMap { Int($0) } ?? fallback }
    func double(_ name: String, _ fallback: Double) -> Double { values[name].flatMap { Double($0) } ?? fallback }
}
