import ArgumentParser
import RaftStorage
import RaftFiles

/// `raftstore snap show FILE [--json]`.
struct SnapShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Load one snapshot file, verifying it, and print its metadata and a digest of its data.",
        discussion: """
            Loads the file as a restart does (every checksum, and the metadata against the file \
            name) without changing anything, streaming the data through SHA-256. --json prints \
            {"index", "term", "voters", "learners", "dataLen", "dataSHA256"}.
            """
    )

    @Argument(help: "A <term>-<index>.snap or .snap.lz4 file.")
    var file: String

    @Flag(help: "Print JSON.")
    var json = false

    func run() throws {
        try Paths.requireFile(file)
        let name = String(file.split(separator: "/").last ?? "")
        guard let (marker, format) = SnapshotFileListing.parse(name) else {
            throw CLIError.usage("\(file) is not a snapshot file name (<16 hex digits>-<16 hex digits>.snap or .snap.lz4)")
        }
        let size = try storage { () throws(StorageError) in try Paths.fileSystem.info(file)?.size ?? 0 }
        let entry = SnapshotFileListing.SnapshotFile(name: name, path: file, marker: marker, format: format, size: size)
        let loaded = try storage { () throws(StorageError) in try SnapshotFileCheck.load(entry) }
        let metadata = loaded.metadata
        let digest = Format.hex(loaded.sha256)
        let out = TextSink()
        if json {
            out.line("{\"index\": \(metadata.index), \"term\": \(metadata.term), "
                + "\"voters\": \(numbers(metadata.confState.voters)), \"learners\": \(numbers(metadata.confState.learners)), "
                + "\"dataLen\": \(loaded.dataCount), \"dataSHA256\": \"\(digest)\"}")
        } else {
            out.line("\(file): \(format == .etcd ? "etcd .snap" : "LZ4 .snap.lz4"), \(Format.count(size, "byte")) on disk, checksums ok")
            out.line("snapshot    index \(metadata.index), term \(metadata.term)")
            out.line("membership  \(describe(metadata.confState))")
            out.line("data        \(Format.count(loaded.dataCount, "byte")), SHA-256 \(digest)")
        }
        out.flush()
    }

    private func numbers(_ values: [UInt64]) -> String {
        "[" + values.map(String.init).joined(separator: ", ") + "]"
    }
}
