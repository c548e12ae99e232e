import EtcdWAL
import Foundation
import RaftStorage
import Testing

/// `WALOptions.zeroFillsSegments`: segments written with zeros (the first at create, spares in
/// the background, the tail's rest on open) hold exactly what preallocated ones hold.
@Suite("Zero-filled segments")
struct ZeroFillTests {
    func write(_ path: String, zeroFill: Bool, entries: ClosedRange<UInt64>, reopen: Bool) throws {
        let options = WALOptions(segmentSize: 128 * 1024, zeroFillsSegments: zeroFill)
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

    @Test("the same bytes as preallocated segments, across cuts and a reopen")
    func sameBytes() throws {
        let directory = TemporaryDirectory()
        defer { directory.cleanup() }
        try write(directory.file("plain"), zeroFill: false, entries: 1...2000, reopen: true)
        try write(directory.file("zeroed"), zeroFill: true, entries: 1...2000, reopen: true)
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.file("zeroed")).sorted()
        #expect(names == (try FileManager.default.contentsOfDirectory(atPath: directory.file("plain")).sorted()))
        #expect(names.filter { $0.hasSuffix(".wal") }.count >= 4, "several cuts")
        for name in names {
            let zeroed = try #require(FileManager.default.contents(atPath: directory.file("zeroed") + "/" + name))
            let plain = try #require(FileManager.default.contents(atPath: directory.file("plain") + "/" + name))
            #expect(zeroed == plain, "\(name) differs")
        }
        let replay = try WAL.read(at: directory.file("zeroed"), from: .zero, codec: ProtobufRecordCodec())
        #expect(replay.error == nil)
        #expect(replay.entries.map(\.index) == Array(1...2000))
    }
}
