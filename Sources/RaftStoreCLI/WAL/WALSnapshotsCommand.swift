import ArgumentParser
import EtcdStorage
import RaftStorage
import RaftFiles

/// `raftstore wal snapshots DIR`.
struct WALSnapshotsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapshots",
        abstract: "List the snapshot markers a restart may open the WAL at.",
        discussion: """
            etcd's ValidSnapshotEntries: every snapshot record in the WAL whose index the last \
            HardState's commit covers, oldest first, with the membership when the record holds it \
            (etcd 3.5+). A restart opens at the newest of them that has a snapshot file.
            """
    )

    @Argument(help: "The WAL directory (etcd: <data-dir>/member/wal); given a data or member directory, the WAL inside it.")
    var directory: String

    func run() throws {
        let directory = try DataDirectories.wal(self.directory)
        let markers = try storage { () throws(StorageError) in
            try WALCodecChoice.detecting(MarkersTask(directory: directory)).output
        }
        let out = TextSink()
        out.line("\(Format.pad("INDEX", 10))  \(Format.pad("TERM", 8))  MEMBERSHIP")
        for marker in markers {
            let membership = marker.confState.map(describe) ?? "-"
            out.line("\(Format.pad(String(marker.index), 10))  \(Format.pad(String(marker.term), 8))  \(membership)")
        }
        out.flush()
    }

    private struct MarkersTask: WALCodecTask {
        var directory: String

        func run<Codec: RecordCodec>(codec: Codec) throws(StorageError) -> [SnapshotMarker] {
            try WAL<Codec>.validSnapshotMarkers(at: directory, codec: codec, options: WALOptions(logger: LogCollector().logger))
        }
    }
}

/// `voters [1, 2] learners [3]`.
func describe(_ confState: ConfState) -> String {
    var parts = ["voters \(confState.voters)"]
    if !confState.learners.isEmpty { parts.append("learners \(confState.learners)") }
    if !confState.votersOutgoing.isEmpty { parts.append("outgoing voters \(confState.votersOutgoing)") }
    if !confState.learnersNext.isEmpty { parts.append("learners next \(confState.learnersNext)") }
    if confState.autoLeave { parts.append("auto-leave") }
    return parts.joined(separator: " ")
}
