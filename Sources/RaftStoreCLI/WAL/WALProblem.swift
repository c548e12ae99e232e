import RaftStorage

/// How the tool names a WAL problem and what it suggests, the same in `wal verify` and
/// `inspect`: a torn tail is repaired by a restart; damage is refused by one.
enum WALProblem {
    /// `error` with its kind spelled out and the command that deals with it.
    static func describe(_ error: StorageError, directory: String) -> String {
        if error.code == .unexpectedEnd {
            return "torn tail (a write a crash cut short, never acknowledged): \(error) - "
                + "a restart cuts it off; 'raftstore wal repair \(directory)' does it now, keeping a .broken copy"
        }
        if error.isDamage {
            return "\(error) - a restart refuses damage (records after it may have been acknowledged); "
                + "'raftstore wal repair --discard-from-damage \(directory)' cuts the log there after printing what is lost"
        }
        return "\(error)"
    }
}
