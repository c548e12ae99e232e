import EtcdStorage
import Logging
import RaftStorage
import RaftFiles

/// What checking a whole WAL found: the verify report, also used by `inspect`.
struct WALCheck {
    var codec: WALCodecChoice
    /// The snapshot markers a restart may open at (etcd's `ValidSnapshotEntries`).
    var validMarkers: [SnapshotMarker]
    /// The replay from the chosen marker.
    var replay: WALReplay
    /// Segment file paths read by the replay, oldest first.
    var segments: [String]

    /// Checks every segment's records and CRC chain, then replays with etcd's ReadAll rules
    /// from the valid snapshot marker `choose` picks (by default the newest, where a restart
    /// opens when it has that snapshot).
    ///
    /// - Throws: damage that stops the marker scan (anything but a torn tail), or
    ///   ``RaftStorage/StorageError/Code/snapshotNotFound`` when no marker can be chosen; a replay error is
    ///   returned in ``replay``.
    static func run(
        directory: String, logger: Logger, choose: @escaping ([SnapshotMarker]) -> SnapshotMarker? = { $0.last }
    ) throws(StorageError) -> WALCheck {
        let (codec, output) = try WALCodecChoice.detecting(Task(directory: directory, logger: logger, choose: choose))
        return WALCheck(codec: codec, validMarkers: output.markers, replay: output.replay, segments: output.replay.segments)
    }

    private struct Task: WALCodecTask {
        var directory: String
        var logger: Logger
        var choose: ([SnapshotMarker]) -> SnapshotMarker?

        func run<Codec: RecordCodec>(codec: Codec) throws(StorageError) -> (markers: [SnapshotMarker], replay: WALReplay) {
            let options = WALOptions(logger: logger)
            let markers = try WAL<Codec>.validSnapshotMarkers(at: directory, codec: codec, options: options)
            guard let start = choose(markers) else {
                let reason = markers.isEmpty
                    ? "no snapshot marker in the WAL is covered by its commit index"
                    : "no valid snapshot marker has a snapshot file, and the segment holding (0, 0) is gone"
                throw StorageError(.snapshotNotFound, "\(reason), so it cannot be opened", path: directory)
            }
            let replay = try WAL<Codec>.read(at: directory, from: start, codec: codec, options: options)
            if let error = replay.error, error.code == .codecMismatch { throw error }
            return (markers, replay)
        }
    }
}
