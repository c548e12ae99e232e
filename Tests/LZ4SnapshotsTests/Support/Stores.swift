import EtcdStorage
import Foundation
import LZ4Snapshots
import RaftStorage
import RaftFiles
import TestSupport
import Testing

/// `ProtobufRecordCodec` without its streaming encoder and decoder, to run the stores' paths for
/// codecs that cannot stream.
struct NonStreamingCodec: RecordCodec {
    let base = ProtobufRecordCodec()
    var formatName: String? { "non-streaming" }
    func encode(_ record: LogRecord, into buffer: inout [UInt8], checksum: (UnsafeRawBufferPointer) -> UInt32) {
        base.encode(record, into: &buffer, checksum: checksum)
    }
    func decode(_ bytes: UnsafeRawBufferPointer) throws(StorageError) -> DecodedRecord { try base.decode(bytes) }
    func encodeSnapshot(_ snapshot: Snapshot, into buffer: inout [UInt8]) { base.encodeSnapshot(snapshot, into: &buffer) }
    func decodeSnapshot(_ bytes: UnsafeRawBufferPointer) throws(StorageError) -> Snapshot { try base.decodeSnapshot(bytes) }
}

/// Flips one bit in the middle of a file, the way a bad sector or a stray write would.
func flipMiddleBit(of path: String) throws {
    var bytes = try readBytes(path)
    precondition(!bytes.isEmpty)
    bytes[bytes.count / 2] ^= 0x10
    try writeBytes(bytes, to: path)
}

/// A file-based snapshot store kind, for tests that run over every one.
enum FileStoreKind: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case etcd
    case lz4
    case lz4NonStreaming

    var testDescription: String { rawValue }

    var suffix: String { self == .etcd ? ".snap" : ".snap.lz4" }

    func open(_ directory: String, fileSystem: any FileSystem = PosixFileSystem()) throws -> any StreamingSnapshotStore {
        switch self {
        case .etcd: try EtcdSnapshotStore(directory: directory, fileSystem: fileSystem)
        case .lz4: try LZ4SnapshotStore(directory: directory, codec: ProtobufRecordCodec(), fileSystem: fileSystem)
        case .lz4NonStreaming: try LZ4SnapshotStore(directory: directory, codec: NonStreamingCodec(), fileSystem: fileSystem)
        }
    }

    func fileName(_ marker: SnapshotMarker) -> String {
        String(format: "%016llx-%016llx", marker.term, marker.index) + suffix
    }
}
