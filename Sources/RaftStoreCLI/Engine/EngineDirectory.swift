import MultiRaftLog
import RaftStorage
import RaftFiles

/// How the engine commands recognise a multi-group log directory (`MultiRaftLog.LogEngine`'s),
/// and read it without changing anything.
///
/// Only names decide what a directory is: its numbered log files (`<16 hex digits>.rlog`, or
/// `.rlog.tmp` while one is created). An engine creates its first log file when it first opens
/// the directory, so its `LOCK` file alone (which other stores name so too) says nothing.
enum EngineDirectory {
    /// The shape of a log file name, for messages.
    static let logFilePattern = "<16 hex digits>.rlog"

    /// Whether `path` holds a multi-group log: a log file.
    static func recognises(_ path: String) -> Bool {
        guard let names = try? Paths.fileSystem.contentsOfDirectory(path) else { return false }
        return names.contains(where: isLogFile)
    }

    /// `path`, checked to be a multi-group log directory.
    ///
    /// - Throws: a ``CLIError/Kind/notFound`` error (exit code 2) when `path` is missing, not a
    ///   directory, or holds no multi-group log; the message says what it holds instead.
    static func require(_ path: String) throws(CLIError) {
        try Paths.requireDirectory(path, "multi-group log directory")
        guard !recognises(path) else { return }
        if Paths.isDirectory(Paths.join(path, "member")) || Paths.isDirectory(Paths.join(path, "wal")) {
            throw .notFound("\(path) is an etcd data or member directory, not a multi-group log directory; 'raftstore inspect \(path)' reads it")
        }
        throw .notFound("no multi-group log in \(path): no log files (\(logFilePattern)) in it")
    }

    /// Reads the engine in `path` as opening it would, through a file system that refuses
    /// every change (the inspection opens files for reading only; this makes a write that
    /// slipped in fail instead of happen).
    static func inspect(_ path: String) throws(CLIError) -> EngineInspection {
        try require(path)
        return try storage { () throws(StorageError) in try LogEngine.inspect(directory: path, fileSystem: ReadOnlyFileSystem()) }
    }

    private static func isLogFile(_ name: String) -> Bool {
        guard name.hasSuffix(".rlog") || name.hasSuffix(".rlog.tmp") else { return false }
        let digits = name.prefix(while: { $0 != "." })
        return digits.count == 16 && digits.allSatisfy(\.isHexDigit)
    }
}

extension EngineInspection {
    /// The problem opening would report or refuse with, as one line: the damage, or the torn
    /// tail it cuts; `nil` when the directory is clean.
    var problem: String? {
        if let damage { return damage.description }
        guard let torn = recoveryActions.first else { return nil }
        return "torn tail in \(torn.path ?? directory) at offset \(torn.offset ?? 0): \(torn.detail); "
            + "opening the engine cuts it off (\(Format.count(torn.bytesRemoved ?? 0, "byte")))"
    }
}
