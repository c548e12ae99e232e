import ArgumentParser

/// `raftstore snap`: the snapshot file subcommands.
struct SnapCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snap",
        abstract: "List, show and verify etcd .snap and .snap.lz4 snapshot files.",
        subcommands: [SnapListCommand.self, SnapShowCommand.self, SnapVerifyCommand.self]
    )

    func run() throws {
        throw CLIError.usage("missing subcommand: one of ls, show, verify")
    }
}
