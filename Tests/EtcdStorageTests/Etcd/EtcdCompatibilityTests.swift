import EtcdStorage
import Foundation
import RaftStorage
import RaftFiles
import TestSupport
import Testing

private typealias EtcdLog = WAL<ProtobufRecordCodec>

/// Real etcd (3.4 from Debian, 3.5.1 from `make etcd35`) writes keys and is killed with SIGKILL
/// right after the last acknowledged put; this package must read everything etcd acknowledged.
/// Then the reverse: this package rewrites the WAL, and etcd must start on it, serve every key
/// and take new writes.
@Suite("Real etcd reads and writes", .serialized)
struct EtcdCompatibilityTests {
    /// How many keys each test writes (at least 200, so several segments and snapshots are involved).
    static let keyCount = 220

    @Test("etcd 3.4 writes and is killed; this package replays every acknowledged key", .requires(Tools.etcd34))
    func etcd34WritesThisPackageReads() throws {
        try etcdWritesThisPackageReads(version: .v3_4)
    }

    @Test("etcd 3.5 writes and is killed; this package replays every acknowledged key", .requires(Tools.etcd35))
    func etcd35WritesThisPackageReads() throws {
        try etcdWritesThisPackageReads(version: .v3_5)
    }

    private func etcdWritesThisPackageReads(version: EtcdVersion) throws {
        let server = try EtcdServer(EtcdBinaries.locate(version))
        defer { server.shutdown() }
        let keys = try writeKeysAndCrash(server)
        let codec = ProtobufRecordCodec()

        // From the marker etcd's own restart would pick: the newest valid WAL marker with a .snap file.
        let marker = try restartMarker(server)
        let snapFiles = try server.snapFiles()
        #expect(marker.index > 0, "etcd wrote no snapshot that its WAL records; snapshot files: \(snapFiles)")
        // etcd 3.5 records the membership in its WAL snapshot records (etcd PR #12735); 3.4 does not.
        #expect((marker.confState != nil) == (version == .v3_5), "confState of \(marker): \(String(describing: marker.confState))")
        let fromSnapshot = try EtcdLog.read(at: server.walDirectory, from: marker, codec: codec)
        #expect(fromSnapshot.error == nil, "\(String(describing: fromSnapshot.error))")
        #expect(fromSnapshot.snapshotFound)
        #expect(fromSnapshot.entries.first?.index == marker.index + 1)

        // From {0,0}: the first segment still exists (etcd only purges beyond --max-wals).
        let segments = try server.walSegments()
        try #require(segments.first == "0000000000000000-0000000000000000.wal", "segments: \(segments)")
        let full = try EtcdLog.read(at: server.walDirectory, from: .zero, codec: codec)
        #expect(full.error == nil, "\(String(describing: full.error))")
        #expect(full.entries.first?.index == 1)
        #expect(full.entries.suffix(fromSnapshot.entries.count) == fromSnapshot.entries[...])
        #expect(full.hardState == fromSnapshot.hardState)
        #expect(full.metadata == fromSnapshot.metadata && full.metadata != nil)

        let found = keyIndexes(in: full.entries)
        let missing = keys.filter { found[$0.key] == nil }.map(\.key)
        #expect(missing.isEmpty, "keys not in any entry: \(missing.prefix(10))")
        let lastKeyIndex = found.values.max() ?? 0
        #expect(full.hardState.commit >= lastKeyIndex, "commit \(full.hardState.commit) < \(lastKeyIndex)")
        #expect(full.hardState.term >= 2)

        // Opening for appending from the restart marker, as etcd's restart does, also succeeds.
        let copy = try copyDirectory(server.walDirectory)
        defer { try? FileManager.default.removeItem(atPath: copy.root) }
        let (wal, replay) = try EtcdLog.open(at: copy.path, from: marker, codec: codec)
        #expect(replay.entries == fromSnapshot.entries)
        try wal.close()
    }

    @Test("this package rewrites etcd 3.4's WAL; etcd starts on it, serves every key, takes new writes",
          .requires(Tools.etcd34), arguments: [false, true])
    func thisPackageWritesEtcd34Reads(otherVersionsFormat: Bool) throws {
        try thisPackageWritesEtcdReads(version: .v3_4, otherVersionsFormat: otherVersionsFormat)
    }

    @Test("this package rewrites etcd 3.5's WAL; etcd starts on it, serves every key, takes new writes",
          .requires(Tools.etcd35), arguments: [false, true])
    func thisPackageWritesEtcd35Reads(otherVersionsFormat: Bool) throws {
        try thisPackageWritesEtcdReads(version: .v3_5, otherVersionsFormat: otherVersionsFormat)
    }

    private func thisPackageWritesEtcdReads(version: EtcdVersion, otherVersionsFormat: Bool) throws {
        let server = try EtcdServer(EtcdBinaries.locate(version))
        defer { server.shutdown() }
        let keys = try writeKeysAndCrash(server)
        let marker = try restartMarker(server)
        #expect(marker.index > 0)

        // Every record of etcd's WAL, in order, then the same sequence through this package's
        // writer: in the server's own format, or in the other version's (3.5's markers carry the
        // membership, 3.4's do not), which every version must read too.
        let ownFormat = version == .v3_5
        let codec = ProtobufRecordCodec(writesSnapshotConfState: otherVersionsFormat ? !ownFormat : ownFormat)
        var original = try EtcdLog.read(
            at: server.walDirectory, from: .zero, codec: codec, replayOptions: WALReplayOptions(collectsRecords: true))
        if otherVersionsFormat {
            // A one-member cluster: the member voted for itself.
            let member = original.hardState.vote
            original.records = original.records.map { info in
                guard case .snapshot(var written) = info.record, written.index > 0 else { return info }
                written.confState = ownFormat ? nil : ConfState(voters: [member])
                var changed = info
                changed.record = .snapshot(written)
                return changed
            }
        }
        try #require(original.error == nil, "\(String(describing: original.error))")
        try #require(original.segments.count == 1, "etcd wrote \(original.segments.count) segments")
        // Snapshot markers in the middle of the log, beyond the (0, 0) one Create writes; 3.5's carry a ConfState.
        let markers = original.snapshots.filter { $0.index > 0 }
        #expect(markers.count >= 2, "markers: \(original.snapshots)")
        #expect(markers.allSatisfy { ($0.confState != nil) == (version == .v3_5) })
        #expect(markers.contains { $0.index == marker.index })
        let rewritten = server.root + "/rewritten-wal"
        try rewrite(original, into: rewritten, codec: codec)

        let ourSegments = try segmentFiles(rewritten)
        try #require(ourSegments.count == 1, "rewrite has segments \(ourSegments)")
        let written = try EtcdLog.read(at: rewritten, from: .zero, codec: ProtobufRecordCodec())
        #expect(written.snapshots.filter { $0.index > 0 }.allSatisfy { ($0.confState != nil) == codec.writesSnapshotConfState })
        if !otherVersionsFormat {
            // The rewrite is byte-identical to etcd's segment up to etcd's last record.
            let end = try #require(original.records.last.map { Int($0.offset) + $0.frameSize })
            let etcdBytes = try Data(contentsOf: URL(fileURLWithPath: original.segments[0])).prefix(end)
            let ourBytes = try Data(contentsOf: URL(fileURLWithPath: rewritten + "/" + ourSegments[0])).prefix(end)
            #expect(ourBytes == etcdBytes, "first difference at byte \(firstDifference(ourBytes, etcdBytes))")
        }

        // Replace member/wal (segments and etcd's spare 0.tmp) with the rewrite.
        let fileManager = FileManager.default
        for name in try fileManager.contentsOfDirectory(atPath: server.walDirectory) {
            try fileManager.removeItem(atPath: server.walDirectory + "/" + name)
        }
        for name in ourSegments {
            try fileManager.moveItem(atPath: rewritten + "/" + name, toPath: server.walDirectory + "/" + name)
        }

        try server.start()
        let status = try raftIndex(server)
        #expect(status >= original.lastIndex, "etcd's raft index \(status) is behind the WAL's last entry \(original.lastIndex)")
        let values = try server.get(prefix: "key-")
        let wrong = keys.filter { values[$0.key] != $0.value }.map(\.key)
        #expect(wrong.isEmpty, "keys etcd does not serve after the rewrite: \(wrong.prefix(10))")
        #expect(values.count == keys.count)

        try server.put("after-rewrite", "accepted-\(version.rawValue)")
        #expect(try server.get("after-rewrite") == "accepted-\(version.rawValue)")
        server.kill()

        // etcd continued our CRC chain: the whole log still reads, new write included.
        let after = try EtcdLog.read(at: server.walDirectory, from: .zero, codec: ProtobufRecordCodec())
        #expect(after.error == nil, "\(String(describing: after.error))")
        #expect(after.metadata == original.metadata)
        #expect(keyIndexes(in: after.entries, prefix: "after-rewrite").isEmpty == false)
    }
}

/// The control for the test above: etcd really checks the WAL it starts on, so a WAL it
/// accepts is one it read. One flipped byte inside an entry makes it refuse to start.
@Suite("Real etcd refuses a damaged WAL", .serialized)
struct EtcdRefusesDamageTests {
    @Test("a flipped byte in an entry stops etcd 3.4 from starting", .requires(Tools.etcd34))
    func flippedByte34() throws {
        try flippedByte(version: .v3_4)
    }

    @Test("a flipped byte in an entry stops etcd 3.5 from starting", .requires(Tools.etcd35))
    func flippedByte35() throws {
        try flippedByte(version: .v3_5)
    }

    private func flippedByte(version: EtcdVersion) throws {
        let server = try EtcdServer(EtcdBinaries.locate(version))
        defer { server.shutdown() }
        _ = try writeKeysAndCrash(server, count: 20)
        let replay = try EtcdLog.read(
            at: server.walDirectory, from: .zero, codec: ProtobufRecordCodec(),
            replayOptions: WALReplayOptions(collectsRecords: true))
        let target = try #require(replay.records.last { info in
            if case .entry(let entry) = info.record { return (entry.data?.count ?? 0) > 24 }
            return false
        })
        // The middle of a record with more than 24 bytes of data lies inside the data.
        let position = UInt64(target.offset) + 8 + UInt64((target.frameSize - 8) / 2)
        let file = try FileHandle(forUpdating: URL(fileURLWithPath: target.path))
        try file.seek(toOffset: position)
        let byte = try #require(try file.read(upToCount: 1)?.first)
        try file.seek(toOffset: position)
        try file.write(contentsOf: [byte ^ 0x01])
        try file.close()

        let error = #expect(throws: EtcdHarnessError.self) { try server.start(timeout: 15) }
        #expect(error?.description.contains("crc mismatch") == true, "\(String(describing: error))")
    }
}

// MARK: - Steps

/// Writes `count` keys, each acknowledged, then kills etcd with SIGKILL at once.
private func writeKeysAndCrash(_ server: EtcdServer, count: Int = EtcdCompatibilityTests.keyCount) throws
    -> [(key: String, value: String)]
{
    let version = server.binaries.version.rawValue
    let keys = (1...count).map { i in
        (key: "key-" + pad(i), value: "value-\(pad(i))-etcd-\(version)")
    }
    try server.start()
    try server.put(keys)
    server.kill()
    return keys
}

/// The marker etcd's restart opens its WAL at (Docs/Recovery.md): the newest valid WAL snapshot marker
/// that has a `.snap` file, or (0, 0).
private func restartMarker(_ server: EtcdServer) throws -> SnapshotMarker {
    let valid = try EtcdLog.validSnapshotMarkers(at: server.walDirectory, codec: ProtobufRecordCodec())
    let snapFiles = try server.snapFiles()
    return valid.reversed().first { marker in
        snapFiles.contains { $0.index == marker.index && $0.term == marker.term }
    } ?? .zero
}

/// Writes the records of `replay` (read with `collectsRecords`) into a new WAL at `directory`,
/// through the same calls etcd makes: entries and the HardState after them in one save, a
/// HardState alone in a save of its own, snapshot markers through saveSnapshot. The (0, 0)
/// marker and the metadata are what create writes.
private func rewrite(_ replay: WALReplay, into directory: String, codec: ProtobufRecordCodec) throws {
    let wal = try EtcdLog.create(at: directory, metadata: replay.metadata, codec: codec)
    var pending: [Entry] = []
    var sawInitialMarker = false
    for info in replay.records {
        switch info.record {
        case .entry(let entry):
            pending.append(entry)
        case .hardState(let state):
            try wal.save(hardState: state, entries: pending)
            pending = []
        case .snapshot(let marker):
            if marker == .zero, !sawInitialMarker {
                sawInitialMarker = true
                continue
            }
            if !pending.isEmpty { try wal.save(hardState: .empty, entries: pending) }
            pending = []
            try wal.saveSnapshot(marker)
        case .metadata, .crc:
            continue
        }
    }
    if !pending.isEmpty { try wal.save(hardState: .empty, entries: pending) }
    try wal.close()
}

/// etcd's raft index (the last index of its raft log) from `etcdctl endpoint status`.
private func raftIndex(_ server: EtcdServer) throws -> UInt64 {
    let result = try server.etcdctl(["endpoint", "status", "-w", "json"])
    guard result.status == 0 else { throw EtcdHarnessError("endpoint status failed: \(result.stderr)") }
    struct Endpoint: Decodable {
        struct Status: Decodable { var raftIndex: UInt64 }
        var Status: Status
    }
    let endpoints = try JSONDecoder().decode([Endpoint].self, from: Data(result.stdout.utf8))
    guard let first = endpoints.first else { throw EtcdHarnessError("endpoint status printed no endpoint") }
    return first.Status.raftIndex
}

// MARK: - Helpers

private func pad(_ i: Int) -> String {
    let digits = String(i)
    return String(repeating: "0", count: max(0, 5 - digits.count)) + digits
}

/// For every key `<prefix><5 digits>` (or exactly `prefix` when it has no digits after it)
/// found in the entries' data, the index of the last entry holding it.
private func keyIndexes(in entries: [Entry], prefix: String = "key-") -> [String: UInt64] {
    let needle = Array(prefix.utf8)
    var found: [String: UInt64] = [:]
    for entry in entries {
        guard let data = entry.data, data.count >= needle.count else { continue }
        var i = 0
        while i + needle.count <= data.count {
            if data[i] == needle[0], Array(data[i..<(i + needle.count)]) == needle {
                var end = i + needle.count
                while end < data.count, end < i + needle.count + 5, (48...57).contains(data[end]) { end += 1 }
                let key = String(decoding: data[i..<end], as: UTF8.self)
                found[key] = entry.index
                i = end
            } else {
                i += 1
            }
        }
    }
    return found
}

private func segmentFiles(_ directory: String) throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".wal") }.sorted()
}

private func copyDirectory(_ directory: String) throws -> (root: String, path: String) {
    let root = FileManager.default.temporaryDirectory.path + "/etcd-wal-copy-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    try FileManager.default.copyItem(atPath: directory, toPath: root + "/wal")
    return (root, root + "/wal")
}

private func firstDifference(_ a: Data, _ b: Data) -> Int {
    for (offset, (x, y)) in zip(a, b).enumerated() where x != y { return offset }
    return min(a.count, b.count)
}
