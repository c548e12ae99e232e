/// Where an etcd member keeps its storage: `<data-dir>/member/wal` and `<data-dir>/member/snap`.
struct MemberDirectory {
    var path: String
    var wal: String { Paths.join(path, "wal") }
    var snap: String { Paths.join(path, "snap") }

    /// The member directory for `dataDirectory`: `<dataDirectory>/member`, or the directory
    /// itself when it holds `wal` directly.
    ///
    /// - Throws: a usage error when neither holds a `wal` directory.
    static func locate(_ dataDirectory: String) throws(CLIError) -> MemberDirectory {
        try Paths.requireDirectory(dataDirectory, "data directory")
        for candidate in [Paths.join(dataDirectory, "member"), dataDirectory] where Paths.exists(Paths.join(candidate, "wal")) {
            return MemberDirectory(path: candidate)
        }
        throw .usage("no etcd member directory in \(dataDirectory): expected member/wal (or wal) inside it")
    }
}
