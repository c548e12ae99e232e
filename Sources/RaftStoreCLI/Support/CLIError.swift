import RaftStorage

/// A failure the tool reports as one line on standard error, with its exit code.
struct CLIError: Error, CustomStringConvertible {
    /// What kind of failure decides the exit code (``ExitStatus``).
    enum Kind {
        /// A problem found in the data, or an operation on it failed: corrupt, torn,
        /// mismatched, locked, unreadable, an I/O error, a failed check. Exit code 1.
        case data
        /// The command line is wrong: an unknown option, a bad value, a directory that must be
        /// new or empty and is not. Exit code 2.
        case usage
        /// What the command line names is not there or not what the command reads: a missing
        /// file or directory, a file where a directory is expected, a directory with no WAL
        /// (or no snapshot files) where one was expected. Exit code 2.
        case notFound
    }

    var kind: Kind
    var message: String

    init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    /// A storage error is a data problem; its description names the file and offset.
    init(_ error: StorageError) {
        self.init(.data, error.description)
    }

    static func usage(_ message: String) -> CLIError { CLIError(.usage, message) }
    static func notFound(_ message: String) -> CLIError { CLIError(.notFound, message) }
    static func data(_ message: String) -> CLIError { CLIError(.data, message) }

    var exitCode: Int32 {
        switch kind {
        case .data: ExitStatus.dataProblem
        case .usage, .notFound: ExitStatus.usage
        }
    }

    var description: String { message }
}

/// Runs `body`, turning a ``RaftStorage/StorageError`` into a ``CLIError``.
@discardableResult
func storage<Result>(_ body: () throws(StorageError) -> Result) throws(CLIError) -> Result {
    do {
        return try body()
    } catch {
        throw CLIError(error)
    }
}

/// Exit codes of `raftstore`, the same for every command (`raftstore --help` and Docs/CLI.md
/// print this table).
///
/// | code | meaning |
/// | --- | --- |
/// | 0 | success: done, and no problem found |
/// | 1 | a problem found in the data, or an operation on it failed: corrupt, torn, mismatched, locked, unreadable, an I/O error, a failed check |
/// | 2 | usage error or something not found: a wrong command line, a missing file or directory, no WAL or snapshot files where they were expected |
public enum ExitStatus {
    /// Done, and the data is sound.
    public static let success: Int32 = 0
    /// A problem found in the data (corrupt, torn, mismatched, locked, unreadable), or an
    /// operation on it or a check of it failed.
    public static let dataProblem: Int32 = 1
    /// The command line is wrong, or names something that is not there or not what the
    /// command reads (a missing path, no WAL where one was expected).
    public static let usage: Int32 = 2
}
