import ArgumentParser
import EtcdWAL
import RaftStorage

/// `raftstore wal repair DIR`.
struct WALRepairCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "repair",
        abstract: "Cut a torn or truncated record off the end of the WAL's last segment.",
        discussion: """
            What etcd does when it opens a WAL with a torn tail: the last segment is copied whole to \
            <segment>.broken (fsynced), then truncated to the start of the bad record and fsynced. \
            Only a torn tail is repaired; any other damage (a CRC mismatch in the middle, a corrupt \
            record, a missing segment) is reported with exit code 1 and nothing is changed. Fails \
            with 'locked' while a writer (etcd, an application) has the WAL open.
            """
    )

    @Argument(help: "The WAL directory (etcd: <data-dir>/member/wal).")
    var directory: String

    func run() throws {
        try Paths.requireDirectory(directory, "WAL directory")
        let outcome = try storage { () throws(StorageError) in
            try WALCodecChoice.detect(in: directory).run(RepairTask(directory: directory))
        }
        let out = TextSink()
        switch outcome {
        case .nothingToRepair:
            out.line("nothing to repair: the last segment reads to its end")
        case .truncated(let path, let offset, let backup):
            out.line("repaired: cut \(path) at offset \(offset); the whole segment was saved as \(backup)")
        }
        out.flush()
    }

    private struct RepairTask: WALCodecTask {
        var directory: String

        func run<Codec: RecordCodec>(codec: Codec) throws(StorageError) -> WALRepairOutcome {
            try WAL<Codec>.repair(at: directory, codec: codec, options: WALOptions(logger: LogCollector().logger))
        }
    }
}
