import ArgumentParser

/// `raftstore demo [--dir DIR] [--entries N]`.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Write to a key/value store, crash it on purpose, recover, and check every acknowledged write."
    )

    func run() throws {}
}
