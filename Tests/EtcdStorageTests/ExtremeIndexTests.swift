import Foundation
import EtcdStorage
import MemoryStore
import RaftStorage
import RaftFiles
import TestSupport
import Testing

/// Reads snapshot markers at index 7 back at the largest index: the bytes a damaged or forged
/// segment could hold (the writer refuses to write such a marker itself).
private struct MarkerAtMaximumCodec: RecordCodec {
    let inner = ProtobufRecordCodec()

    func encode(_ record: LogRecord, into buffer: inout [UInt8], checksum: (UnsafeRawBufferPointer) -> UInt32) {
        inner.encode(record, into: &buffer, checksum: checksum)
    }
    func decode(_ bytes: UnsafeRawBufferPointer) throws(StorageError) -> DecodedRecord {
        var decoded = try inner.decode(bytes)
        if case .snapshot(let marker) = decoded.record, marker.index == 7 {
            decoded.record = .snapshot(SnapshotMarker(index: .max, term: marker.term))
        }
        return decoded
    }
    func encodeSnapshot(_ snapshot: Snapshot, into buffer: inout [UInt8]) { inner.encodeSnapshot(snapshot, into: &buffer) }
    func decodeSnapshot(_ bytes: UnsafeRawBufferPointer) throws(StorageError) -> Snapshot { try inner.decodeSnapshot(bytes) }
}

/// The largest `UInt64` as a log index: nothing can follow it, so every store refuses it with
/// an error instead of trapping on `index + 1`.
@Suite("Indexes at the end of UInt64")
struct ExtremeIndexTests {
    @Test("a WAL entry at the largest index is corrupt, named by file and offset")
    func entryAtMaximum() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("wal")
        let wal = try WAL.create(at: path, metadata: nil, codec: codec, options: smallOptions())
        try wal.save(hardState: .empty, entries: [Entry(term: 1, index: .max, data: [1])])
        try wal.close()

        let error = try #require(throws: StorageError.self) { try WALLogStore.open(at: path) }
        #expect(error.code == .corrupt)
        #expect(error.path?.hasSuffix(firstSegment) == true && error.offset != nil, "\(error)")
        #expect(try WAL.read(at: path, from: .zero, codec: codec).error?.code == .corrupt)
    }

    @Test("a WAL snapshot marker read at the largest index is corrupt")
    func markerAtMaximum() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("wal")
        let wal = try WAL.create(at: path, metadata: nil, codec: MarkerAtMaximumCodec(), options: smallOptions())
        try wal.saveSnapshot(SnapshotMarker(index: 7, term: 1))
        try wal.close()

        let error = try #require(throws: StorageError.self) { try WALLogStore(directory: path, codec: MarkerAtMaximumCodec()) }
        #expect(error.code == .corrupt)
        #expect(error.path?.hasSuffix(firstSegment) == true && error.offset != nil, "\(error)")
    }

    @Test("a WAL snapshot marker read at the largest index, with a commit that covers it, is corrupt")
    func committedMarkerAtMaximum() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("wal")
        let wal = try WAL.create(at: path, metadata: nil, codec: MarkerAtMaximumCodec(), options: smallOptions())
        try wal.saveSnapshot(SnapshotMarker(index: 7, term: 1))
        try wal.save(hardState: HardState(term: 1, vote: 1, commit: .max), entries: [])
        try wal.close()

        let error = try #require(throws: StorageError.self) { try WALLogStore(directory: path, codec: MarkerAtMaximumCodec()) }
        #expect(error.code == .corrupt)
        #expect(error.path?.hasSuffix(firstSegment) == true && error.offset != nil, "\(error)")
    }

    @Test("a WAL whose last segment has the largest sequence number refuses to cut instead of trapping")
    func segmentAtLargestSequence() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("wal")
        try WAL.create(at: path, metadata: nil, codec: codec, options: smallOptions()).close()
        try FileManager.default.moveItem(atPath: path + "/" + firstSegment, toPath: path + "/ffffffffffffffff-0000000000000000.wal")

        let log = try WALLogStore.open(at: path, codec: codec, options: .init(wal: smallOptions(), retainedSegments: nil))
        defer { try? log.close() }
        let error = try #require(throws: StorageError.self) {
            for index in UInt64(1)...1_000 {
                try log.save(hardState: .empty, entries: [Entry(term: 1, index: index, data: Array(repeating: 1, count: 1_000))])
            }
        }
        #expect(error.code == .corrupt, "\(error)")
        #expect(error.message.contains("ffffffffffffffff-0000000000000000.wal"), "\(error)")
    }

    @Test("the writer refuses a snapshot marker at the largest index")
    func writerRefusesMarker() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let wal = try WAL.create(at: directory.file("wal"), metadata: nil, codec: codec, options: smallOptions())
        defer { try? wal.close() }
        let error = try #require(throws: StorageError.self) { try wal.saveSnapshot(SnapshotMarker(index: .max, term: 1)) }
        #expect(error.code == .invalidArgument)
    }

    /// A batch whose indexes wrap around (`.max`, then 0) passed a contiguity check done with
    /// wrapping arithmetic and then overflowed; one at `.max` alone left no next index.
    static let batches: [[UInt64]] = [[.max], [.max - 1, .max], [.max, 0]]

    @Test(arguments: batches)
    func logStoresRefuseBatches(_ indexes: [UInt64]) throws {
        let entries = indexes.map { Entry(term: 1, index: $0) }
        let memory = MemoryLogStore()
        let memoryError = try #require(throws: StorageError.self) { try memory.save(hardState: .empty, entries: entries) }
        #expect(memoryError.code == .invalidArgument)

        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let store = try WALLogStore.open(at: directory.file("wal"))
        defer { try? store.close() }
        let walError = try #require(throws: StorageError.self) { try store.save(hardState: .empty, entries: entries) }
        #expect(walError.code == .invalidArgument)
        #expect(try store.lastIndex() == 0, "nothing was appended")
    }
}
