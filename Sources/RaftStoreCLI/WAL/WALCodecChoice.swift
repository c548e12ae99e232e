import ArgumentParser
import EtcdStorage
import LZ4Snapshots
import RaftStorage
import LZ4Codec
import RaftFiles

/// The record codecs a WAL can be written with.
enum WALCodecChoice: String, CaseIterable, ExpressibleByArgument {
    /// etcd's plain protobuf records (`ProtobufRecordCodec`): what etcd reads and writes.
    case etcd
    /// `LZ4RecordCodec` over etcd's records: entry data above 8 KiB LZ4-compressed; the WAL
    /// records the codec's name, so etcd (and the plain codec) refuse it instead of misreading.
    case lz4

    /// Runs `task` with this codec.
    func run<Task: WALCodecTask>(_ task: Task) throws(StorageError) -> Task.Output {
        switch self {
        case .etcd: try task.run(codec: ProtobufRecordCodec())
        case .lz4: try task.run(codec: LZ4RecordCodec(base: ProtobufRecordCodec()))
        }
    }

    /// The codec the WAL in `directory` was written with, found by reading only its last
    /// segment (the replay stops at the first metadata record when the codec is wrong).
    ///
    /// For operations that do not check the codec themselves (`WAL.repair` reads records
    /// without looking at the codec tag).
    static func detect(in directory: String) throws(StorageError) -> WALCodecChoice {
        try detecting(ProbeTask(directory: directory)).codec
    }

    /// Reads the last segment only: a marker beyond every index selects just that segment.
    private struct ProbeTask: WALCodecTask {
        var directory: String

        func run<Codec: RecordCodec>(codec: Codec) throws(StorageError) {
            let replay = try WAL<Codec>.read(
                at: directory, from: SnapshotMarker(index: .max, term: 0), codec: codec,
                options: WALOptions(logger: LogCollector().logger))
            if let error = replay.error, error.code == .codecMismatch { throw error }
        }
    }

    /// Runs `task` with the codec the WAL was written with: each codec in turn while the WAL
    /// reports ``RaftStorage/StorageError/Code/codecMismatch`` (which it does at its first metadata record,
    /// so a wrong guess costs one record).
    ///
    /// - Throws: the first codec's mismatch when none fits, and any other error at once.
    static func detecting<Task: WALCodecTask>(_ task: Task) throws(StorageError) -> (codec: WALCodecChoice, output: Task.Output) {
        var firstMismatch: StorageError?
        for choice in allCases {
            do {
                return (choice, try choice.run(task))
            } catch where error.code == .codecMismatch {
                firstMismatch = firstMismatch ?? error
            }
        }
        throw firstMismatch ?? StorageError(.codecMismatch, "no codec fits")
    }
}

/// Work on a WAL that needs its codec as a generic argument.
protocol WALCodecTask {
    associatedtype Output
    /// Does the work with `codec`; throws ``RaftStorage/StorageError/Code/codecMismatch`` when the WAL
    /// was written with another codec.
    func run<Codec: RecordCodec>(codec: Codec) throws(StorageError) -> Output
}
