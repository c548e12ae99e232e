import ArgumentParser
import RaftStorage

/// `raftstore snap ls DIR`.
struct SnapListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ls",
        abstract: "List the snapshot files in a directory, newest first.",
        discussion: """
            Names only, nothing is opened: etcd's <term>-<index>.snap and this package's \
            <term>-<index>.snap.lz4, with the files set aside as .broken, temporary files of an \
            unfinished save, and etcd's db noted below. 'snap verify' reads them. Given an \
            etcd data or member directory, the snapshot directory inside it is listed (a note \
            says so); a WAL directory is refused with exit code 2.
            """
    )

    @Argument(help: "The snapshot directory (etcd: <data-dir>/member/snap); given a data or member directory, the one inside it.")
    var directory: String

    func run() throws {
        let directory = try DataDirectories.snapshots(self.directory)
        let listing = try storage { () throws(StorageError) in try SnapshotFileListing.read(directory) }
        let out = TextSink()
        out.line("\(Format.padRight("FILE", 42))  \(Format.padRight("FORMAT", 6))  \(Format.pad("INDEX", 10))  \(Format.pad("TERM", 8))  \(Format.pad("BYTES", 14))")
        for file in listing.snapshots {
            out.line("\(Format.padRight(file.name, 42))  \(Format.padRight(file.format == .etcd ? "etcd" : "lz4", 6))  "
                + "\(Format.pad(String(file.marker.index), 10))  \(Format.pad(String(file.marker.term), 8))  \(Format.pad(Format.count(file.size), 14))")
        }
        for name in listing.setAside { out.line("set aside:   \(name)") }
        for name in listing.temporary { out.line("unfinished:  \(name)") }
        for database in listing.etcdDatabase { out.line("etcd db:     \(database.name) (\(Format.count(database.size, "byte")))") }
        for name in listing.other { out.line("other:       \(name)") }
        out.flush()
    }
}
