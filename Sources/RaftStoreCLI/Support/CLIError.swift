import RaftStorage

/// A failure the tool reports as one line on standard error, with its exit code.
struct CLIError: Error, CustomStringConvertible {
    /// What kind of failure decides the exit code.
    enum Kind {
        /// The data has a problem: corrupt, mismatched, locked, unreadable. Exit code 1.
        case data
        /// The command line is wrong: a missing file, a bad option value. Exit code 2.
        case usage
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
    static func data(_ message: String) -> CLIError { CLIError(.data, message) }

    var exitCode: Int32 {
        switch kind {
        case .data: 1
        case .usage: 2
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

/// Exit codes of `raftstore`.
public enum ExitStatus {
    /// Everything worked and the data is sound.
    public static let success: Int32 = 0
    /// The data has a problem (corrupt, mismatched, locked) or an operation on it failed.
    public static let dataProblem: Int32 = 1
    /// The command line is wrong.
    public static let usage: Int32 = 2
}
