import ArgumentParser

/// `raftstore engine`: the multi-group log subcommands.
struct EngineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "engine",
        abstract: "Read and check a multi-group log directory (MultiRaftLog's LogEngine).",
        discussion: """
            dump and verify take the engine's directory, the one holding its numbered log files \
            (<16 hex digits>.rlog) and its LOCK file; 'raftstore inspect DIR' summarises it. They \
            read it as opening the engine would, without the lock and without changing a byte: a \
            torn tail that opening would cut off is reported, not cut.
            """,
        subcommands: [EngineDumpCommand.self, EngineVerifyCommand.self]
    )

    func run() throws {
        throw CLIError.usage("missing subcommand: one of dump, verify")
    }
}
