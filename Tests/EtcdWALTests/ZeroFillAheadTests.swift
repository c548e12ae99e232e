import EtcdWAL
import Foundation
import MetricsTestKit
import RaftStorage
import Testing

/// `WALOptions.zeroFillAhead`: zeros written ahead of the records leave the files exactly as
/// preallocated segments are, stay within the preallocated size, and are only written when
/// fdatasyncs follow.
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
        defer { directory.cleanup() }
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
        defer { directory.cleanup() }
        let metrics = TestMetrics()
        let options = WALOptions(unsafeNoSync: unsafeNoSync, metricsFactory: metrics, zeroFillAhead: zeroFillAhead)
        let wal = try WAL.create(at: directory.file("wal"), metadata: nil, codec: ProtobufRecordCodec(), options: options)
        for index in 1...UInt64(saves) {
            try wal.save(hardState: HardState(term: 1, vote: 1, commit: index - 1), entries: [Entry(term: 1, index: index, data: [1, 2, 3])])
        }
        try wal.close()
        return try metrics.expectCounter("raftstore_wal_write_bytes_total").totalValue
    }

    @Test("one window of zeros ahead, written again only as the records near its end; none without fsync")
    func windows() throws {
        let plain = try bytesWritten(zeroFillAhead: 0, saves: 10)
        #expect(plain < 4096, "records only")
        let window: Int64 = 64 * 1024
        let zeroed = try bytesWritten(zeroFillAhead: window, saves: 10)
        #expect(zeroed >= plain + window - 4096 && zeroed <= plain + window, "one window: \(zeroed) bytes against \(plain)")
        #expect(try bytesWritten(zeroFillAhead: window, unsafeNoSync: true, saves: 10) == plain)
        // About 32 KiB of records (half a window) brings the next window.
        let longer = try bytesWritten(zeroFillAhead: window, saves: 1500)
        let longerPlain = try bytesWritten(zeroFillAhead: 0, saves: 1500)
        #expect(longer > longerPlain + window && longer <= longerPlain + 2 * window, "\(longer) bytes against \(longerPlain)")
    }
}
