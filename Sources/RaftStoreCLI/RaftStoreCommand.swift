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
        discussion: RaftStoreCommand.exitCodeTable + """


            Directories: the wal commands take the WAL directory and the snap commands the \
            snapshot directory; given an etcd data directory (<dir>/member/wal, \
            <dir>/member/snap) or a member directory (<dir>/wal, <dir>/snap) they read the one \
            inside it and say so in a note on standard error. The engine commands take a \
            multi-group log directory. inspect takes the data or member directory, or a \
            multi-group log directory. Errors are one line on standard error. See Docs/CLI.md.
            """,
        subcommands: [
            DemoCommand.self, WALCommand.self, SnapCommand.self, EngineCommand.self, InspectCommand.self, BenchCommand.self,
        ]
    )

    /// The exit codes, as `raftstore --help` prints them (Docs/CLI.md has the same table).
    static let exitCodeTable = """
        Exit codes, the same for every command:
          0  success: done, and no problem found
          1  a problem found in the data, or an operation on it failed: corrupt,
             torn, mismatched, locked, unreadable, an I/O error, a failed check
          2  usage error or something not found: a wrong command line, a missing
             file or directory, no WAL or snapshot files where they were expected
        """

    /// Creates the command (argument parsing fills it in).
    package init() {}

    /// Without a subcommand: a usage error.
    package func run() throws {
        throw CLIError.usage("missing subcommand: one of demo, wal, snap, engine, inspect, bench")
    }
}

/// Runs `raftstore` with the given arguments.
public enum RaftStoreMain {
    /// Parses `arguments` (without the program name), runs the command, and returns the exit
    /// status (``ExitStatus``): 0 success, 1 a problem found in the data, 2 a usage error or
    /// something not found.
    ///
    /// Every error is reported as one line on standard error, naming the file and byte offset
    /// where they apply, with the command's notes (which directory it read) in parentheses.
    /// After a success the notes are printed one `raftstore: note:` line each. Help goes to
    /// standard output with status 0.
    public static func run(_ arguments: [String]) -> Int32 {
        var command: any ParsableCommand
        do {
            command = try RaftStoreCommand.parseAsRoot(arguments)
        } catch {
            return report(parsingError: error)
        }
        do {
            try command.run()
            for note in Console.takeNotes() { Console.error("raftstore: note: " + Format.oneLine(note)) }
            return ExitStatus.success
        } catch let error as CLIError {
            fail(error.message)
            return error.exitCode
        } catch let error as StorageError {
            fail(error.description)
            return ExitStatus.dataProblem
        } catch {
            _ = Console.takeNotes()
            return report(parsingError: error)
        }
    }

    /// The one line a failure prints: the message, then the notes kept.
    private static func fail(_ message: String) {
        let notes = Console.takeNotes().map { " (note: \(Format.oneLine($0)))" }.joined()
        Console.error("raftstore: " + Format.oneLine(message) + notes)
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
