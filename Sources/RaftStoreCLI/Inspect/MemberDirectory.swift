import EtcdStorage
import RaftFiles

/// Where an etcd member keeps its storage: `<data-dir>/member/wal` and `<data-dir>/member/snap`.
struct MemberDirectory {
    var path: String
    var wal: String { Paths.join(path, "wal") }
    var snap: String { Paths.join(path, "snap") }

    /// The member directory for `dataDirectory`: `<dataDirectory>/member`, or the directory
    /// itself when it holds `wal` directly.
    ///
    /// - Throws: a ``CLIError/Kind/notFound`` error (exit code 2) when neither holds a `wal`
    ///   directory; a WAL or snapshot directory is named as such, with the directory to give.
    static func locate(_ dataDirectory: String) throws(CLIError) -> MemberDirectory {
        try Paths.requireDirectory(dataDirectory, "data directory")
        for candidate in [Paths.join(dataDirectory, "member"), dataDirectory] where Paths.isDirectory(Paths.join(candidate, "wal")) {
            return MemberDirectory(path: candidate)
        }
        let names = (try? Paths.fileSystem.contentsOfDirectory(dataDirectory)) ?? []
        let parent = Paths.parent(of: dataDirectory)
        if names.contains(where: { SegmentName(fileName: $0) != nil }) {
            throw .notFound("\(dataDirectory) is a WAL directory; inspect reads the member directory holding it: 'raftstore inspect \(parent)'")
        }
        if names.contains(where: { SnapshotFileListing.parse($0) != nil }) {
            throw .notFound("\(dataDirectory) is a snapshot directory; inspect reads the member directory holding it: 'raftstore inspect \(parent)'")
        }
        throw .notFound("no etcd member directory in \(dataDirectory): expected member/wal (or wal) inside it")
    }
}
