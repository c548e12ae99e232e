package import ArgumentParser
import RaftStorage

/// The `raftstore` command: inspect, check, repair, convert and benchmark etcd-compatible raft
/// storage, and run the crash-and-recover demo.
///
/// Run it through ``RaftStoreMain/run(_:)``, which maps every failure to one line on standard
/// error and the exit codes in ``ExitStatus``.
package struct RaftStoreCommand: ParsableCommand {
    /// The subcommands and the help text.
    package static let configuration = CommandConfiguration(
        commandName: "raftstore",
        abstract: "Inspect, verify, repair, convert and benchmark etcd-compatible raft storage.",
        discussion: """
            Exit codes: 0 success, 1 the data has a problem (corrupt, mismatch, locked), 2 usage error.
            """,
        subcommands: [
            DemoCommand.self, WALCommand.self, SnapCommand.self, InspectCommand.self, BenchCommand.self,
        ]
    )

    /// Creates the command (argument parsing fills it in).
    package init() {}

    /// Without a subcommand: a usage error.
    package func run() throws {
        throw CLIError.usage("missing subcommand: one of demo, wal, snap, inspect, bench")
    }
}

/// Runs `raftstore` with the given arguments.
public enum RaftStoreMain {
    /// Parses `arguments` (without the program name), runs the command, and returns the exit
    /// status: 0 success, 1 a data problem, 2 a usage error.
    ///
    /// Every error is reported as one line on standard error, naming the file and byte offset
    /// where they apply. Help goes to standard output with status 0.
    public static func run(_ arguments: [String]) -> Int32 {
        var command: any ParsableCommand
        do {
            command = try RaftStoreCommand.parseAsRoot(arguments)
        } catch {
            return report(parsingError: error)
        }
        do {
            try command.run()
            return ExitStatus.success
        } catch let error as CLIError {
            Console.error("raftstore: " + Format.oneLine(error.message))
            return error.exitCode
        } catch let error as StorageError {
            Console.error("raftstore: " + Format.oneLine(error.description))
            return ExitStatus.dataProblem
        } catch {
            return report(parsingError: error)
        }
    }

    private static func report(parsingError error: any Error) -> Int32 {
        if RaftStoreCommand.exitCode(for: error) == .success {
            let sink = TextSink()
            sink.line(RaftStoreCommand.fullMessage(for: error))
            sink.flush()
            return ExitStatus.success
        }
        let message = Format.oneLine(RaftStoreCommand.message(for: error))
        Console.error("raftstore: " + (message.isEmpty ? "invalid command line" : message) + " (see '\(helpCommand(for: error))')")
        return ExitStatus.usage
    }
}

extension RaftStoreMain {
    /// The help command ArgumentParser's usage text points at, e.g. `raftstore wal dump --help`.
    fileprivate static func helpCommand(for error: any Error) -> String {
        let text = RaftStoreCommand.fullMessage(for: error, columns: 1000)
        for line in text.split(separator: "\n") {
            guard let start = line.firstIndex(of: "'"), let end = line[line.index(after: start)...].firstIndex(of: "'"),
                  line.contains("See '") else { continue }
            return String(line[line.index(after: start)..<end])
        }
        return "raftstore --help"
    }
}
