import ArgumentParser
import RaftStorage

/// `raftstore snap verify DIR`.
struct SnapVerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Load every snapshot file in a directory, checking all checksums.",
        discussion: """
            Each .snap and .snap.lz4 file is loaded as a restart would load it (frame and content \
            checksums, metadata against the file name), without changing anything: a file that \
            fails is reported, not set aside. Exit code 1 when any file fails.
            """
    )

    @Argument(help: "The snapshot directory (etcd: <data-dir>/member/snap); given a data or member directory, the one inside it.")
    var directory: String

    func run() throws {
        let directory = try DataDirectories.snapshots(self.directory)
        let listing = try storage { () throws(StorageError) in try SnapshotFileListing.read(directory) }
        let out = TextSink()
        var failures: [String] = []
        for file in listing.snapshots {
            do {
                let loaded = try SnapshotFileCheck.load(file)
                out.line("ok    \(file.name)  index \(loaded.metadata.index), term \(loaded.metadata.term), \(Format.count(loaded.dataCount, "data byte"))")
            } catch {
                out.line("FAIL  \(file.name)  \(error)")
                failures.append("\(file.name): \(error)")
            }
            out.flush()
        }
        if listing.snapshots.isEmpty { out.line("no snapshot files in \(directory)") }
        out.flush()
        if let first = failures.first {
            let more = failures.count > 1 ? " (and \(failures.count - 1) more, listed above)" : ""
            throw CLIError.data("\(failures.count) of \(Format.count(listing.snapshots.count, "snapshot file")) failed: \(first)\(more)")
        }
    }
}
