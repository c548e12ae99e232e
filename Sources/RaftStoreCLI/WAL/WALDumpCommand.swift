import ArgumentParser
import EtcdStorage
import RaftStorage

/// `raftstore wal dump DIR [--snap-index I --snap-term T] [--json]`.
struct WALDumpCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dump",
        abstract: "Print what a replay of the WAL returns: metadata, HardState and entries.",
        discussion: """
            Reads the WAL as etcd's ReadAll does, from the snapshot marker given (default (0, 0)), \
            without changing anything. A table by default; --json prints the dump shape that \
            'raftstore wal import' reads. When the replay stops at damage, everything read before \
            it is printed, the error is reported, and the exit code is 1.
            """
    )

    @Argument(help: "The WAL directory (etcd: <data-dir>/member/wal); given a data or member directory, the WAL inside it.")
    var directory: String

    @Option(help: "Start at the snapshot marker with this index (with --snap-term).")
    var snapIndex: UInt64?

    @Option(help: "The term of the snapshot marker to start at (with --snap-index).")
    var snapTerm: UInt64?

    @Flag(help: "Print JSON: {\"metadata\", \"hardState\", \"entries\", \"error\"}.")
    var json = false

    func validate() throws {
        guard (snapIndex == nil) == (snapTerm == nil) else {
            throw ValidationError("--snap-index and --snap-term go together")
        }
    }

    var marker: SnapshotMarker {
        SnapshotMarker(index: snapIndex ?? 0, term: snapTerm ?? 0)
    }

    func run() throws {
        let directory = try DataDirectories.wal(self.directory)
        let collector = LogCollector()
        let (codec, replay) = try storage { () throws(StorageError) in
            try WALCodecChoice.detecting(WALReadTask(directory: directory, start: marker, logger: collector.logger))
        }
        let out = TextSink()
        if json {
            WALDump(replay).writeJSON(to: out)
        } else {
            WALTable.write(replay, codec: codec, directory: directory, to: out)
        }
        out.flush()
        if let error = replay.error {
            throw CLIError(error)
        }
    }
}
