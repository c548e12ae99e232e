import EtcdWAL
import Logging
import RaftStorage

/// What checking a whole WAL found: the verify report, also used by `inspect`.
struct WALCheck {
    var codec: WALCodecChoice
    /// The snapshot markers a restart may open at (etcd's `ValidSnapshotEntries`).
    var validMarkers: [SnapshotMarker]
    /// The replay from the newest valid marker (where etcd's restart opens when it has that
    /// snapshot).
    var replay: WALReplay
    /// Segment file names, oldest first.
    var segments: [String]

    /// Checks every segment's records and CRC chain, then replays from the newest valid
    /// snapshot marker with etcd's ReadAll rules, as a restart would.
    ///
    /// - Throws: damage that stops the marker scan (anything but a torn tail); a replay error
    ///   is returned in ``replay``.
    static func run(directory: String, logger: Logger) throws(StorageError) -> WALCheck {
        let (codec, output) = try WALCodecChoice.detecting(Task(directory: directory, logger: logger))
        return WALCheck(codec: codec, validMarkers: output.markers, replay: output.replay, segments: output.replay.segments)
    }

    private struct Task: WALCodecTask {
        var directory: String
        var logger: Logger

        func run<Codec: RecordCodec>(codec: Codec) throws(StorageError) -> (markers: [SnapshotMarker], replay: WALReplay) {
            let options = WALOptions(logger: logger)
            let markers = try WAL<Codec>.validSnapshotMarkers(at: directory, codec: codec, options: options)
            guard let newest = markers.last else {
                throw StorageError(.snapshotNotFound, "no snapshot marker in the WAL is covered by its commit index, so it cannot be opened", path: directory)
            }
            let replay = try WAL<Codec>.read(at: directory, from: newest, codec: codec, options: options)
            if let error = replay.error, error.code == .codecMismatch { throw error }
            return (markers, replay)
        }
    }
}
