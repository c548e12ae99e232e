import EtcdStorage
import Foundation
import MetricsTestKit
import RaftStorage
import RaftFiles
import RaftStorageTesting
import Synchronization
import TestSupport
import Testing

/// `WALOptions.zeroFillAhead`: zeros written ahead of the records leave the files exactly as
/// preallocated segments are and stay within the preallocated size: a window ahead before
/// fdatasyncs, and without fsync each write padded to the next 128 KiB boundary.
@Suite("Zeros ahead of the records")
struct ZeroFillAheadTests {
    func write(_ path: String, zeroFillAhead: Int64, entries: ClosedRange<UInt64>, reopen: Bool) throws {
        let options = WALOptions(segmentSize: 128 * 1024, zeroFillAhead: zeroFillAhead)
        var wal = try WAL.create(at: path, metadata: [7], codec: ProtobufRecordCodec(), options: options)
        for index in entries {
            if reopen && index == entries.lowerBound + UInt64(entries.count / 2) {
                try wal.close()
                wal = try WAL.open(at: path, from: .zero, codec: ProtobufRecordCodec(), options: options).wal
            }
            let data = (0..<Int(index % 500)).map { UInt8(truncatingIfNeeded: $0 &+ Int(index)) }
            try wal.save(hardState: HardState(term: 1, vote: 1, commit: index - 1), entries: [Entry(term: 1, index: index, data: data)])
        }
        try wal.close()
    }

    @Test("the same bytes as without zeros, across cuts and a reopen, whatever the window",
          arguments: [Int64(4096), 3000, 1 << 20, .max])
    func sameBytes(window: Int64) throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        try write(directory.file("plain"), zeroFillAhead: 0, entries: 1...2000, reopen: true)
        try write(directory.file("zeroed"), zeroFillAhead: window, entries: 1...2000, reopen: true)
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.file("zeroed")).sorted()
        #expect(names == (try FileManager.default.contentsOfDirectory(atPath: directory.file("plain")).sorted()))
        #expect(names.filter { $0.hasSuffix(".wal") }.count >= 4, "several cuts")
        for name in names {
            let zeroed = try #require(FileManager.default.contents(atPath: directory.file("zeroed") + "/" + name))
            let plain = try #require(FileManager.default.contents(atPath: directory.file("plain") + "/" + name))
            #expect(zeroed == plain, "\(name) differs")
            #expect(zeroed.count <= 128 * 1024 + 4096, "\(name) grew past its preallocated size: \(zeroed.count) bytes")
        }
        let replay = try WAL.read(at: directory.file("zeroed"), from: .zero, codec: ProtobufRecordCodec())
        #expect(replay.error == nil)
        #expect(replay.entries.map(\.index) == Array(1...2000))
    }

    /// Bytes the WAL wrote (records and zeros) for a create and `saves` single-entry saves.
    func bytesWritten(zeroFillAhead: Int64, unsafeNoSync: Bool = false, saves: Int) throws -> Int64 {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let metrics = TestMetrics()
        let options = WALOptions(unsafeNoSync: unsafeNoSync, metricsFactory: metrics, zeroFillAhead: zeroFillAhead)
        let wal = try WAL.create(at: directory.file("wal"), metadata: nil, codec: ProtobufRecordCodec(), options: options)
        for index in 1...UInt64(saves) {
            try wal.save(hardState: HardState(term: 1, vote: 1, commit: index - 1), entries: [Entry(term: 1, index: index, data: [1, 2, 3])])
        }
        try wal.close()
        return try metrics.expectCounter("raftstore_wal_write_bytes_total").totalValue
    }

    @Test("one window of zeros ahead, written again only as the records near its end; without fsync, padding to 128 KiB")
    func windows() throws {
        let plain = try bytesWritten(zeroFillAhead: 0, saves: 10)
        #expect(plain < 4096, "records only")
        let window: Int64 = 64 * 1024
        let zeroed = try bytesWritten(zeroFillAhead: window, saves: 10)
        #expect(zeroed >= plain + window - 4096 && zeroed <= plain + window, "one window: \(zeroed) bytes against \(plain)")
        // Without fsync: the create's first write is padded to 128 KiB, and ten small saves
        // stay inside it.
        let padded = try bytesWritten(zeroFillAhead: window, unsafeNoSync: true, saves: 10)
        #expect(padded > 128 * 1024 && padded <= 128 * 1024 + plain, "\(padded) bytes against \(plain)")
        #expect(try bytesWritten(zeroFillAhead: 0, unsafeNoSync: true, saves: 10) == plain)
        // About 32 KiB of records (half a window) brings the next window.
        let longer = try bytesWritten(zeroFillAhead: window, saves: 1500)
        let longerPlain = try bytesWritten(zeroFillAhead: 0, saves: 1500)
        #expect(longer > longerPlain + window && longer <= longerPlain + 2 * window, "\(longer) bytes against \(longerPlain)")
    }
}

/// Without fsync: the bytes as without zeros, and every write that reaches blocks not written
/// before ends on a 128 KiB boundary of the file (or at or past its preallocated end), so the
/// kernel first fills each 128 KiB in one write.
@Suite("Zeros padding writes without fsync")
struct ZeroPaddingTests {
    @Test("the same bytes as without zeros, and writes into new blocks end on 128 KiB boundaries",
          arguments: [Int64(1 << 20), 1_000_000])
    func alignedWrites(segmentSize: Int64) throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let recorder = WriteRecordingFileSystem()
        for (name, zeros, fileSystem) in [("plain", Int64(0), PosixFileSystem() as any FileSystem), ("padded", 1 << 20, recorder)] {
            let options = WALOptions(fileSystem: fileSystem, segmentSize: segmentSize, unsafeNoSync: true, zeroFillAhead: zeros)
            let wal = try WAL.create(at: directory.file(name), metadata: [7], codec: ProtobufRecordCodec(), options: options)
            var index: UInt64 = 1
            // Saves of 1 to 400 entries of up to 1.5 KiB: within a region, across one, across several.
            for save in 0..<60 {
                let count = [1, 7, 90, 400][save % 4]
                let batch = (0..<count).map { offset in
                    let next = index + UInt64(offset)
                    return Entry(term: 1, index: next, data: [UInt8](repeating: UInt8(truncatingIfNeeded: next), count: Int(next % 1500)))
                }
                try wal.save(hardState: HardState(term: 1, vote: 1, commit: index), entries: batch)
                index += UInt64(count)
            }
            try wal.close()
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.file("padded")).sorted()
        #expect(names == (try FileManager.default.contentsOfDirectory(atPath: directory.file("plain")).sorted()))
        #expect(names.filter { $0.hasSuffix(".wal") }.count >= 3, "several cuts")
        for name in names {
            let padded = try #require(FileManager.default.contents(atPath: directory.file("padded") + "/" + name))
            #expect(padded == FileManager.default.contents(atPath: directory.file("plain") + "/" + name), "\(name) differs")
        }
        var writtenThrough: [String: Int64] = [:]
        var newBlockWrites = 0
        for write in recorder.writes.withLock({ $0 }) {
            let end = write.offset + Int64(write.count)
            let before = writtenThrough[write.path, default: 0]
            writtenThrough[write.path] = max(before, end)
            guard end > before else { continue }
            newBlockWrites += 1
            // Past the preallocated size (a save that crossed it, before the cut) nothing is padded.
            #expect(end % (128 * 1024) == 0 || end >= segmentSize, "\(write.path): a write into new blocks ends at \(end)")
        }
        #expect(newBlockWrites > 20)
    }
}

/// The POSIX file system, recording every write (path, offset, size); a rename carries a
/// file's writes over to its new name.
final class WriteRecordingFileSystem: ForwardingFileSystem {
    struct Write {
        var path: String
        var offset: Int64
        var count: Int
    }

    let writes = Mutex<[Write]>([])
    let base: any FileSystem = PosixFileSystem()

    func open(_ path: String, _ options: OpenOptions, permissions: UInt32) throws(StorageError) -> any StorageFile {
        RecordingFile(base: try base.open(path, options, permissions: permissions), recorder: self)
    }

    /// Renames, and files the earlier writes to `source` under `destination`.
    func rename(_ source: String, to destination: String) throws(StorageError) {
        try base.rename(source, to: destination)
        writes.withLock { writes in
            for index in writes.indices where writes[index].path == source { writes[index].path = destination }
        }
    }
}

private final class RecordingFile: ForwardingStorageFile {
    let base: any StorageFile
    let recorder: WriteRecordingFileSystem

    init(base: any StorageFile, recorder: WriteRecordingFileSystem) {
        self.base = base
        self.recorder = recorder
    }

    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws(StorageError) {
        recorder.writes.withLock { $0.append(.init(path: path, offset: offset, count: bytes.count)) }
        try base.write(bytes, at: offset)
    }
}
