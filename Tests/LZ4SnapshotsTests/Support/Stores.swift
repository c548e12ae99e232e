import EtcdWAL
import Foundation
import LZ4Snapshots
import RaftStorage

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

import Testing

/// The real file system with fsync turned off, for tests that save thousands of damaged files
/// and care about content, not durability.
struct UnsyncedFileSystem: FileSystem {
    let base = PosixFileSystem()

    final class File: StorageFile {
        let base: any StorageFile
        init(_ base: any StorageFile) { self.base = base }
        var path: String { base.path }
        func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(StorageError) -> Int { try base.read(into: buffer, at: offset) }
        func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws(StorageError) { try base.write(bytes, at: offset) }
        func size() throws(StorageError) -> Int64 { try base.size() }
        func truncate(to size: Int64) throws(StorageError) { try base.truncate(to: size) }
        func preallocate(to size: Int64) throws(StorageError) { try base.preallocate(to: size) }
        func sync() throws(StorageError) {}
        func syncData() throws(StorageError) {}
        func lock(wait: Bool) throws(StorageError) { try base.lock(wait: wait) }
        func close() throws(StorageError) { try base.close() }
    }

    func open(_ path: String, _ options: OpenOptions, permissions: UInt32) throws(StorageError) -> any StorageFile {
        File(try base.open(path, options, permissions: permissions))
    }
    func rename(_ source: String, to destination: String) throws(StorageError) { try base.rename(source, to: destination) }
    func removeFile(_ path: String) throws(StorageError) { try base.removeFile(path) }
    func createDirectory(_ path: String, permissions: UInt32) throws(StorageError) { try base.createDirectory(path, permissions: permissions) }
    func removeDirectory(_ path: String) throws(StorageError) { try base.removeDirectory(path) }
    func contentsOfDirectory(_ path: String) throws(StorageError) -> [String] { try base.contentsOfDirectory(path) }
    func syncDirectory(_ path: String) throws(StorageError) {}
    func info(_ path: String) throws(StorageError) -> FileInfo? { try base.info(path) }
}
