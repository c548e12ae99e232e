import EtcdStorage
import RaftStorage
import RaftFiles

/// How the WAL and snapshot commands understand the directory they are given (Docs/CLI.md,
/// Directories).
///
/// etcd keeps a member's storage in `<data-dir>/member/wal` and `<data-dir>/member/snap`; this
/// package's own layout (the demo's) is `<dir>/wal` and `<dir>/snap`. A WAL command given a
/// data or member directory reads the WAL inside it, and a snapshot command the snapshot
/// directory inside it, saying so in a note on standard error. A directory that holds the
/// other kind of files (segments given to a snapshot command, snapshots to a WAL command), or
/// none, is named for what it is, with exit code 2. Only names are looked at; nothing is
/// opened.
enum DataDirectories {
    /// The shape of a segment file name, for messages.
    static let segmentPattern = "<16 hex digits>-<16 hex digits>.wal"

    /// The WAL directory to read for `path`: `path` itself when it holds segment files, else
    /// `<path>/member/wal` (an etcd data directory) or `<path>/wal` (a member directory) when
    /// that holds them, with a note.
    ///
    /// - Throws: a ``CLIError/Kind/notFound`` error (exit code 2) when `path` is missing or
    ///   not a directory, or no WAL is found; the message says what `path` holds instead.
    static func wal(_ path: String) throws(CLIError) -> String {
        try Paths.requireDirectory(path, "WAL directory")
        let names = try list(path)
        if names.contains(where: isSegment) { return path }
        for inner in inside(path, "wal") where Paths.isDirectory(inner.path) {
            guard try list(inner.path).contains(where: isSegment) else {
                throw .notFound("no WAL in \(path): it is \(inner.role), and \(inner.path) holds no segment files (\(segmentPattern))")
            }
            Console.note("\(path) is \(inner.role); read its WAL \(inner.path)")
            return inner.path
        }
        let snapshotFiles = names.filter { SnapshotFileListing.parse($0) != nil }.count
        if snapshotFiles > 0 {
            throw .notFound("\(path) is a snapshot directory (\(Format.count(snapshotFiles, "snapshot file"))), not a WAL directory" + sibling(of: path, "wal", "the WAL of this member is"))
        }
        throw .notFound("no WAL in \(path): no segment files (\(segmentPattern)) in it, nor a wal or member/wal directory")
    }

    /// The snapshot directory to read for `path`: `path` itself when it holds snapshot files
    /// (or set-aside, temporary or etcd `db` files, or nothing at all), else `<path>/member/snap`
    /// or `<path>/snap` when `path` is a data or member directory, with a note.
    ///
    /// - Throws: a ``CLIError/Kind/notFound`` error (exit code 2) when `path` is missing or
    ///   not a directory, holds WAL segments, or is a data or member directory without a
    ///   snapshot directory.
    static func snapshots(_ path: String) throws(CLIError) -> String {
        try Paths.requireDirectory(path, "snapshot directory")
        let listing = try storage { () throws(StorageError) in try SnapshotFileListing.read(path) }
        let segments = listing.other.filter(isSegment).count
        // A WAL directory holds temporary files too (etcd's spare segments `0.tmp`, `1.tmp`).
        if listing.snapshots.isEmpty && listing.etcdDatabase.isEmpty && segments > 0 {
            throw .notFound("\(path) is a WAL directory (\(Format.count(segments, "segment file"))), not a snapshot directory" + sibling(of: path, "snap", "the snapshots of this member are"))
        }
        if !listing.snapshots.isEmpty || !listing.setAside.isEmpty || !listing.temporary.isEmpty || !listing.etcdDatabase.isEmpty {
            return path
        }
        for inner in inside(path, "snap") where Paths.isDirectory(inner.path) {
            Console.note("\(path) is \(inner.role); read its snapshot directory \(inner.path)")
            return inner.path
        }
        if let inner = inside(path, "wal").first(where: { Paths.isDirectory($0.path) }) {
            let snap = Paths.join(Paths.parent(of: inner.path), "snap")
            throw .notFound("\(path) is \(inner.role) without a snapshot directory: no \(snap) (no snapshot taken yet)")
        }
        return path
    }

    /// The directories a data or member directory keeps `name` (`wal` or `snap`) in, with
    /// what `path` is when it has one.
    private static func inside(_ path: String, _ name: String) -> [(path: String, role: String)] {
        [
            (Paths.join(Paths.join(path, "member"), name), "an etcd data directory"),
            (Paths.join(path, name), "a member directory"),
        ]
    }

    /// `; <what> in <parent>/<name>` when that directory exists next to `path`.
    private static func sibling(of path: String, _ name: String, _ what: String) -> String {
        let candidate = Paths.join(Paths.parent(of: path), name)
        return Paths.isDirectory(candidate) ? "; \(what) in \(candidate)" : ""
    }

    private static func isSegment(_ name: String) -> Bool {
        SegmentName(fileName: name) != nil
    }

    private static func list(_ path: String) throws(CLIError) -> [String] {
        try storage { () throws(StorageError) in try Paths.fileSystem.contentsOfDirectory(path) }
    }
}
