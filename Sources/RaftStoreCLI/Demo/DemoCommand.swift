import ArgumentParser

/// `raftstore demo [--dir DIR] [--entries N]`: what `make demo` runs.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Write to a key/value store, crash it on purpose, recover, and check every acknowledged write.",
        discussion: """
            A worker process runs the KeyValueStore example's state machine on Storage over an \
            etcd-format WAL and LZ4 snapshots, acknowledging each batch of puts once it is durable. \
            After N acknowledged writes it is killed with SIGKILL in the middle of writing. The \
            demo then recovers the store, checks that every acknowledged write survived and that \
            the state is exactly what the writes before some point produce, and prints what it \
            recovered and the throughput.
            """
    )

    @Option(help: "Where to keep the data (an empty or new directory, kept afterwards); default: a fresh temporary directory, removed afterwards.")
    var dir: String?

    @Option(help: "How many acknowledged writes before the crash.")
    var entries = 20_000

    @Flag(help: .hidden)
    var worker = false

    func validate() throws {
        guard entries > 0, entries <= 10_000_000 else { throw ValidationError("--entries must be from 1 to 10000000") }
    }

    func run() throws {
        if worker {
            guard let dir else { throw CLIError.usage("--worker needs --dir") }
            try DemoWorker.run(directory: dir, limit: entries * 20)
            return
        }
        try DemoRun(directory: dir, acknowledgedTarget: entries).run()
    }
}
