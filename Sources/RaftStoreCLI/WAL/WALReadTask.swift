import EtcdStorage
import Logging
import RaftStorage
import RaftFiles

/// Reads a WAL from a snapshot marker without changing it (etcd's `OpenForRead` + `ReadAll`).
struct WALReadTask: WALCodecTask {
    var directory: String
    var start: SnapshotMarker
    var logger: Logger
    var collectsRecords = false

    func run<Codec: RecordCodec>(codec: Codec) throws(StorageError) -> WALReplay {
        let replay = try WAL<Codec>.read(
            at: directory, from: start, codec: codec, options: WALOptions(logger: logger),
            replayOptions: WALReplayOptions(collectsRecords: collectsRecords))
        if let error = replay.error, error.code == .codecMismatch { throw error }
        return replay
    }
}
