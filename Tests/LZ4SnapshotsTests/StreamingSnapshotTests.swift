import EtcdStorage
import Foundation
import LZ4Snapshots
import RaftStorage
import RaftFiles
import TestSupport
import Testing

/// The streaming calls of both file stores: saves in chunks, loads in chunks, the announced
/// size, errors from either side, and the `.start` events that restart a receiver.
@Suite("Streaming snapshots")
struct StreamingSnapshotTests {
    static let metadata = SnapshotMetadata(confState: ConfState(voters: [1, 2, 3], learners: [4]), index: 1234, term: 5)

    /// Saves `data` in chunks of `chunk` bytes.
    static func save(_ data: [UInt8], chunk: Int, to store: any StreamingSnapshotStore, metadata: SnapshotMetadata = metadata) throws {
        try store.save(metadata: metadata, dataCount: data.count) { writer throws(StorageError) in
            var start = 0
            while start < data.count {
                let end = min(data.count, start + chunk)
                try writer.write(Array(data[start..<end]))
                start = end
            }
        }
    }

    /// Loads the newest snapshot through the streaming call, recording the events.
    static func load(_ store: any StreamingSnapshotStore, matching markers: [SnapshotMarker]? = nil)
        throws -> (metadata: SnapshotMetadata?, data: [UInt8], starts: [SnapshotMarker], chunks: Int)
    {
        var data: [UInt8] = []
        var starts: [SnapshotMarker] = []
        var chunks = 0
        let metadata = try store.loadNewest(matching: markers) { event throws(StorageError) in
            switch event {
            case .start(let marker):
                starts.append(marker)
                data.removeAll()
            case .data(let bytes):
                data.append(contentsOf: bytes)
                chunks += 1
            }
        }
        return (metadata, data, starts, chunks)
    }

    static let sizes = [0, 1, 1000, (4 << 20) - 7, (4 << 20) + 9, (9 << 20) + 3]

    @Test("a streamed save loads back streamed and whole", arguments: FileStoreKind.allCases, sizes)
    func roundTrip(kind: FileStoreKind, size: Int) throws {
        try withTemporaryDirectory { directory in
            let store = try kind.open(directory.path)
            let data = compressibleBytes(size, seed: UInt64(size))
            for chunk in [1 << 20, 4 << 20, 5 << 20, 4099] where chunk > 5000 || size <= 1_000_000 {
                try Self.save(data, chunk: chunk, to: store)
                let loaded = try Self.load(store)
                #expect(loaded.metadata == Self.metadata)
                #expect(loaded.data == data, "\(size) bytes in chunks of \(chunk)")
                #expect(loaded.starts == [Self.metadata.marker])
                #expect(try store.loadNewest() == Snapshot(data: data, metadata: Self.metadata), "whole load of a streamed save")
            }
            #expect(directory.names() == [kind.fileName(Self.metadata.marker)], "only the snapshot file is left")
        }
    }

    @Test("a whole save loads back streamed", arguments: FileStoreKind.allCases)
    func wholeSaveStreamedLoad(kind: FileStoreKind) throws {
        try withTemporaryDirectory { directory in
            let store = try kind.open(directory.path)
            let data = randomBytes(5 << 20)
            try store.save(Snapshot(data: data, metadata: Self.metadata))
            let loaded = try Self.load(store, matching: [Self.metadata.marker])
            #expect(loaded.metadata == Self.metadata)
            #expect(loaded.data == data)
            // Absent data streams as no data at all.
            try store.save(Snapshot(data: nil, metadata: SnapshotMetadata(index: 2000, term: 5)))
            let empty = try Self.load(store)
            #expect(empty.metadata?.index == 2000)
            #expect(empty.data.isEmpty && empty.chunks == 0)
        }
    }

    @Test("writing fewer or more bytes than announced stores nothing", arguments: FileStoreKind.allCases)
    func announcedSize(kind: FileStoreKind) throws {
        try withTemporaryDirectory { directory in
            let store = try kind.open(directory.path)
            expectStorageError(.invalidArgument, "too few") {
                try store.save(metadata: Self.metadata, dataCount: 10) { writer throws(StorageError) in try writer.write([1, 2, 3]) }
            }
            expectStorageError(.invalidArgument, "too many") {
                try store.save(metadata: Self.metadata, dataCount: 2) { writer throws(StorageError) in try writer.write([1, 2, 3]) }
            }
            expectStorageError(.invalidArgument, "index 0") {
                try store.save(metadata: SnapshotMetadata(), dataCount: 0) { _ throws(StorageError) in }
            }
            #expect(try store.list().isEmpty)
            #expect(directory.names().isEmpty, "no temporary file left: \(directory.names())")
        }
    }

    @Test("an error from the writing closure stores nothing and is rethrown", arguments: FileStoreKind.allCases)
    func writerError(kind: FileStoreKind) throws {
        try withTemporaryDirectory { directory in
            let store = try kind.open(directory.path)
            try store.save(Snapshot(data: [7], metadata: SnapshotMetadata(index: 1, term: 1)))
            let failure = StorageError(.init("test.producerFailed"), "producer failed")
            var escaped: SnapshotWriter?
            let error = expectStorageError(.init("test.producerFailed")) {
                try store.save(metadata: Self.metadata, dataCount: 8 << 20) { writer throws(StorageError) in
                    escaped = writer
                    try writer.write(randomBytes(5 << 20))
                    throw failure
                }
            }
            #expect(error == failure)
            #expect(try store.list() == [SnapshotMarker(index: 1, term: 1)])
            #expect(directory.names() == [kind.fileName(SnapshotMarker(index: 1, term: 1))])
            // The writer is dead once its save ended.
            expectStorageError(.closed) { try escaped?.write([1]) }
        }
    }

    @Test("an error from the receiver stops the load and marks nothing broken", arguments: FileStoreKind.allCases)
    func receiverError(kind: FileStoreKind) throws {
        try withTemporaryDirectory { directory in
            let store = try kind.open(directory.path)
            try Self.save(compressibleBytes(6 << 20), chunk: 1 << 20, to: store)
            let failure = StorageError(.corrupt, "the application could not parse its state")
            var received = 0
            let error = expectStorageError(.corrupt) {
                try store.loadNewest(matching: nil) { event throws(StorageError) in
                    if case .data(let bytes) = event {
                        received += bytes.count
                        if received > 1 << 20 { throw failure }
                    }
                }
            }
            #expect(error == failure, "the receiver's own error comes back unchanged")
            #expect(try store.list() == [Self.metadata.marker], "the file is not set aside")
            #expect(try Self.load(store).data.count == 6 << 20)
        }
    }

    @Test("a broken newest snapshot restarts the receiver on the next one", arguments: FileStoreKind.allCases)
    func restartAfterBrokenFile(kind: FileStoreKind) throws {
        try withTemporaryDirectory { directory in
            let store = try kind.open(directory.path)
            let older = SnapshotMetadata(confState: ConfState(voters: [1]), index: 100, term: 2)
            let olderData = compressibleBytes(2 << 20, seed: 3)
            try Self.save(olderData, chunk: 1 << 20, to: store, metadata: older)
            let newestData = compressibleBytes(9 << 20, seed: 4)
            try Self.save(newestData, chunk: 4 << 20, to: store)
            // Damage the end of the newest file: its data streams out before the damage is found.
            let path = directory.file(kind.fileName(Self.metadata.marker))
            var bytes = try readBytes(path)
            bytes[bytes.count - 3] ^= 0x01
            try writeBytes(bytes, to: path)

            let loaded = try Self.load(store)
            #expect(loaded.starts == [Self.metadata.marker, older.marker])
            #expect(loaded.metadata == older)
            #expect(loaded.data == olderData)
            #expect(directory.names().contains(kind.fileName(Self.metadata.marker) + ".broken"))
        }
    }
}
