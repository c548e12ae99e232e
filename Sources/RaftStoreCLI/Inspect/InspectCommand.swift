import ArgumentParser

/// `raftstore inspect DATA_DIR`.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Summarise an etcd member directory: WAL segments, index range, HardState, snapshots, problems."
    )

    func run() throws {}
}
