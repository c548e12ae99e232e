import EtcdStorage
import Foundation
import LZ4Snapshots
import RaftStorage
import RaftFiles
import TestSupport
import Testing

/// `.snap` files written by etcd 3.4.23's own `snap` package (Fixtures/etcd-snap, made by
/// Tools/etcd-snap-fixtures): every membership shape, nil and empty data, 64-bit extremes.
@Suite("etcd-written .snap fixtures")
struct EtcdSnapshotFixtureTests {
    struct Expected: Decodable {
        var file: String
        var index: UInt64
        var term: UInt64
        var voters: [UInt64]?
        var learners: [UInt64]?
        var votersOutgoing: [UInt64]?
        var learnersNext: [UInt64]?
        var autoLeave: Bool
        var data: String
        var dataPattern: Int
        var dataNil: Bool

        var snapshot: Snapshot {
            let bytes: [UInt8]? = dataNil ? nil : dataPattern > 0 ? (0..<dataPattern).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) } : Array(data.utf8)
            let confState = ConfState(
                voters: voters ?? [], learners: learners ?? [], votersOutgoing: votersOutgoing ?? [], learnersNext: learnersNext ?? [],
                autoLeave: autoLeave)
            return Snapshot(data: bytes, metadata: SnapshotMetadata(confState: confState, index: index, term: term))
        }
    }

    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/etcd-snap").path

    static func expected() throws -> [Expected] {
        try JSONDecoder().decode([Expected].self, from: Data(contentsOf: URL(fileURLWithPath: directory + "/expected.json")))
    }

    @Test func readsWhatEtcdWrote() throws {
        let fixtures = try Self.expected()
        #expect(fixtures.count == 6)
        try withTemporaryDirectory("fixtures") { copy in
            // A copy, because loading may rename files it cannot read.
            for name in try FileManager.default.contentsOfDirectory(atPath: Self.directory) where name.hasSuffix(".snap") {
                try FileManager.default.copyItem(atPath: Self.directory + "/" + name, toPath: copy.file(name))
            }
            let store = try EtcdSnapshotStore(directory: copy.path)
            #expect(try store.list() == fixtures.map { SnapshotMarker(index: $0.index, term: $0.term) }.sorted(by: >))
            for fixture in fixtures {
                let marker = SnapshotMarker(index: fixture.index, term: fixture.term)
                let loaded = try store.loadNewest(matching: [marker])
                #expect(loaded == fixture.snapshot, "\(fixture.file)")
                // Streamed, too.
                var data: [UInt8] = []
                let metadata = try store.loadNewest(matching: [marker]) { event throws(StorageError) in
                    if case .data(let bytes) = event { data.append(contentsOf: bytes) }
                }
                #expect(metadata == fixture.snapshot.metadata)
                #expect(data == (fixture.snapshot.data ?? []))
            }
            #expect(copy.names().allSatisfy { !$0.contains("broken") })
        }
    }

    @Test(.requires(Tools.lz4)) func writesWhatEtcdWrote() throws {
        try withTemporaryDirectory("fixtures") { directory in
            let etcd = try EtcdSnapshotStore(directory: directory.file("etcd"))
            let lz4 = try LZ4SnapshotStore(directory: directory.file("lz4"), codec: ProtobufRecordCodec())
            for fixture in try Self.expected() {
                let original = try readBytes(Self.directory + "/" + fixture.file)
                try etcd.save(fixture.snapshot)
                #expect(try readBytes(etcd.filePath(of: fixture.snapshot.metadata.marker)) == original, "\(fixture.file)")
                var encoded: [UInt8] = []
                ProtobufRecordCodec().encodeSnapshot(fixture.snapshot, into: &encoded)
                #expect(encoded == original)
                let framing = try #require(ProtobufRecordCodec().snapshotFraming(of: fixture.snapshot))
                #expect(framing.prefix + (fixture.snapshot.data ?? []) + framing.suffix == original)
                try lz4.save(fixture.snapshot)
                let plain = directory.file("plain.snap")
                #expect(try run("lz4", ["-d", "-q", "-f", lz4.filePath(of: fixture.snapshot.metadata.marker), plain]).status == 0)
                #expect(try readBytes(plain) == original, "lz4 -d of \(fixture.file)")
            }
        }
    }
}
