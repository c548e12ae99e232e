import ArgumentParser

/// `raftstore wal`: the write-ahead log subcommands.
struct WALCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wal",
        abstract: "Read, check, repair and convert an etcd-format write-ahead log directory.",
        discussion: """
            dump, verify, repair and snapshots take the WAL directory, which holds the segment \
            files (etcd: <data-dir>/member/wal). Given an etcd data directory or a member \
            directory instead, they read <dir>/member/wal or <dir>/wal and say so on standard \
            error. A directory with no WAL in it exits with code 2, naming what it is.
            """,
        subcommands: [
            WALDumpCommand.self, WALImportCommand.self, WALVerifyCommand.self, WALRepairCommand.self,
            WALSnapshotsCommand.self,
        ]
    )

    func run() throws {
        throw CLIError.usage("missing subcommand: one of dump, import, verify, repair, snapshots")
    }
}
