import EtcdStorage
import Logging
import RaftStorage
import RaftFiles
import RaftStorageTesting
import Testing

/// Regressions from `FuzzSnap`: whole and streamed loads of the same `.snap` file must agree.
@Suite("Whole and streamed snapshot loads agree")
struct SnapshotLoaderAgreementTests {
    static let quiet = Logger(label: "agreement", factory: { _ in SwiftLogNoOpLogHandler() })

    /// Loads `content` as the file of snapshot (5, 1), whole and streamed, each from its own copy.
    static func loads(_ content: [UInt8]) throws -> (whole: Snapshot?, streamed: SnapshotMetadata?) {
        func store() throws -> EtcdSnapshotStore {
            let fs = FaultInjectingFileSystem()
            try fs.createDirectory("/snap", permissions: 0o700)
            let file = try fs.open("/snap/0000000000000001-0000000000000005.snap", [.write, .create], permissions: 0o600)
            try content.withRawBytes { (raw) throws(StorageError) in try file.write(raw, at: 0) }
            try file.close()
            return try EtcdSnapshotStore(directory: "/snap", fileSystem: fs, logger: quiet, readChunkSize: 7)
        }
        let whole = try store().loadNewest()
        let streamed = try store().loadNewest(matching: nil) { (_: SnapshotStreamEvent) throws(StorageError) in }
        return (whole, streamed)
    }

    @Test("a second data field in snappb.snapshot (found by FuzzSnap) is refused by both; etcd's own files load in both")
    func secondWrapperDataField() throws {
        // crc, data = raftpb.Snapshot{metadata{index 5}}, then a second data field whose CRC the
        // stored one matches: a protobuf parser keeps the last, the streaming decoder cannot.
        let fuzzed: [UInt8] = [
            0x08, 0xae, 0x95, 0xb7, 0x95, 0x02,
            0x12, 0x0a, 0x12, 0x08, 0x0a, 0x02, 0x28, 0xae, 0x95, 0xb7, 0x95, 0x02,
            0x12, 0x0a, 0x12, 0x08, 0x0a, 0x02, 0x28, 0x00, 0x10, 0x05, 0x18, 0x01,
        ]
        let (whole, streamed) = try Self.loads(fuzzed)
        #expect(whole == nil)
        #expect(streamed == nil)
        let error = #expect(throws: StorageError.self) { try ProtobufRecordCodec().decodeSnapshot(fuzzed) }
        #expect(error?.message.contains("second data field") == true, "\(String(describing: error))")

        var etcd: [UInt8] = []
        let snapshot = Snapshot(data: [1, 2, 3], metadata: SnapshotMetadata(confState: ConfState(voters: [1]), index: 5, term: 1))
        ProtobufRecordCodec().encodeSnapshot(snapshot, into: &etcd)
        let (good, goodStreamed) = try Self.loads(etcd)
        #expect(good == snapshot)
        #expect(goodStreamed == snapshot.metadata)
    }

    @Test("a group at the snapshot's top levels is refused by both")
    func groups() throws {
        var body: [UInt8] = [0x12, 0x04, 0x10, 0x05, 0x18, 0x01]  // metadata{index 5, term 1}
        body += [0x0a, 0x01, 0x07]  // data = [7]
        body += [0x1b, 0x1c]  // field 3: start group, end group
        var content: [UInt8] = [0x08]
        var crc = UInt64(crc32cForTest(body))
        repeat {
            content.append(UInt8(crc & 0x7f) | (crc > 0x7f ? 0x80 : 0))
            crc >>= 7
        } while crc > 0
        content += [0x12, UInt8(body.count)] + body
        let (whole, streamed) = try Self.loads(content)
        #expect(whole == nil)
        #expect(streamed == nil)
        let error = #expect(throws: StorageError.self) { try ProtobufRecordCodec().decodeSnapshot(content) }
        #expect(error?.message.contains("wire type 3") == true, "\(String(describing: error))")
    }
}

/// CRC-32C (Castagnoli), bit by bit: the checksum of etcd's `.snap` wrapper.
func crc32cForTest(_ bytes: [UInt8]) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in bytes {
        crc ^= UInt32(byte)
        for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
    }
    return ~crc
}
