import EtcdStorage
import Foundation
import LZ4Snapshots
import RaftStorage
import RaftFiles
import TestSupport
import Testing

/// Against real etcd servers: this package reads the `.snap` files etcd writes, re-encodes them
/// byte for byte, and etcd restarts from a `.snap` this package wrote (streamed, with the CRC
/// after the data) and serves its keys.
@Suite("etcd compatibility", .serialized)
struct EtcdCompatibilityTests {
    @Test(.requires(Tools.lz4, Tools.etcd34))
    func roundTripThroughEtcd34() throws {
        try roundTripThroughEtcd(version: .v3_4)
    }

    @Test(.requires(Tools.lz4, Tools.etcd35))
    func roundTripThroughEtcd35() throws {
        try roundTripThroughEtcd(version: .v3_5)
    }

    private func roundTripThroughEtcd(version: EtcdVersion) throws {
        let etcd = try EtcdServer(EtcdBinaries.locate(version), snapshotCount: 10)
        defer { etcd.shutdown() }
        try etcd.start()
        try withTemporaryDirectory("etcd") { directory in
            let keys = 1...35
            for key in keys { try etcd.put("key\(key)", "value\(key)") }
            etcd.stop()

            // etcd's snapshots read back, and re-encode to the very bytes etcd wrote.
            let store = try EtcdSnapshotStore(directory: etcd.snapDirectory)
            let markers = try store.list()
            #expect(markers.count >= 3, "etcd wrote a snapshot every 10 entries: \(markers)")
            for marker in markers {
                let snapshot = try #require(try store.loadNewest(matching: [marker]))
                #expect(snapshot.metadata.confState.voters.count == 1)
                #expect(snapshot.data?.first == UInt8(ascii: "{"), "etcd's v2 store is JSON")
                var encoded: [UInt8] = []
                ProtobufRecordCodec().encodeSnapshot(snapshot, into: &encoded)
                #expect(encoded == (try readBytes(store.filePath(of: marker))), "re-encoding \(marker) gives etcd's bytes")
            }
            let newest = try #require(markers.first)
            let snapshot = try #require(try store.loadNewest())
            let original = try readBytes(store.filePath(of: newest))

            // The LZ4 store's file decompresses to etcd's file.
            let lz4 = try LZ4SnapshotStore(directory: directory.file("lz4"), codec: ProtobufRecordCodec())
            try lz4.save(snapshot)
            let plain = directory.file("plain.snap")
            #expect(try run("lz4", ["-d", "-q", "-f", lz4.filePath(of: newest), plain]).status == 0)
            #expect(try readBytes(plain) == original)

            // Replace etcd's newest snapshot with a streamed one (CRC field last).
            try FileManager.default.removeItem(atPath: store.filePath(of: newest))
            let data = try #require(snapshot.data)
            try store.save(metadata: snapshot.metadata, dataCount: data.count) { writer throws(StorageError) in
                for start in stride(from: 0, to: data.count, by: 1000) {
                    try writer.write(Array(data[start..<min(data.count, start + 1000)]))
                }
            }
            let ours = try readBytes(store.filePath(of: newest))
            #expect(ours != original && ours.count == original.count, "same fields, CRC moved to the end")

            let logBefore = etcd.logTail(lines: .max).count
            try etcd.start()
            for key in keys {
                #expect(try etcd.get("key\(key)") == "value\(key)")
            }
            try etcd.put("after-restart", "yes")
            #expect(try etcd.get("after-restart") == "yes")
            etcd.stop()
            let restartLog = String(etcd.logTail(lines: .max).dropFirst(logBefore))
            let recovered = restartLog.contains("recovered store from snapshot at index \(newest.index)")
                || restartLog.contains("\"snapshot-index\":\(newest.index)")
            #expect(recovered, "etcd recovered from our snapshot at \(newest.index): \(restartLog.prefix(3000))")
            let broken = try FileManager.default.contentsOfDirectory(atPath: etcd.snapDirectory).filter { $0.hasSuffix(".broken") }
            #expect(broken.isEmpty, "etcd set aside \(broken)")
        }
    }
}
