import ArgumentParser

/// `raftstore wal`: the write-ahead log subcommands.
struct WALCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wal",
        abstract: "Read, check, repair and convert an etcd-format write-ahead log directory.",
        subcommands: [
            WALDumpCommand.self, WALImportCommand.self, WALVerifyCommand.self, WALRepairCommand.self,
            WALSnapshotsCommand.self,
        ]
    )

    func run() throws {
        throw CLIError.usage("missing subcommand: one of dump, import, verify, repair, snapshots")
    }
}
