import ArgumentParser

/// `raftstore snap`: the snapshot file subcommands.
struct SnapCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snap",
        abstract: "List, show and verify etcd .snap and .snap.lz4 snapshot files.",
        discussion: """
            ls and verify take the snapshot directory (etcd: <data-dir>/member/snap). Given an \
            etcd data directory or a member directory instead, they read <dir>/member/snap or \
            <dir>/snap and say so on standard error. A WAL directory exits with code 2.
            """,
        subcommands: [SnapListCommand.self, SnapShowCommand.self, SnapVerifyCommand.self]
    )

    func run() throws {
        throw CLIError.usage("missing subcommand: one of ls, show, verify")
    }
}
