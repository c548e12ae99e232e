import EtcdStorage
import Foundation
import RaftStorage
import RaftFiles
import TestSupport
import Testing

private typealias EtcdLog = WAL<ProtobufRecordCodec>

/// Every WAL in `Fixtures/go-written` (written by etcd 3.4.23's own `wal` package) replays in
/// Swift exactly as etcd's `ReadAll` replayed it: same entries (nil and empty data told apart),
/// HardState and metadata, the same error kind, and the same valid snapshot markers.
///
/// Known, deliberate differences (Docs/Compatibility.md): a torn last record is reported by
/// ``WAL/read(at:from:codec:options:replayOptions:)`` as `unexpectedEnd` together with every
/// entry before it (etcd's OpenForRead stays silent), a missing start snapshot is an error also
/// when opening for appending (etcd loses ErrSnapshotNotFound there), and on errors the Swift
/// replay keeps what it read before the error (etcd returns nothing), so only the error kind is
/// compared then.
@Suite("WALs written by etcd 3.4's Go code")
struct GoWrittenFixtureTests {
    @Test("the fixture index lists every fixture directory")
    func index() throws {
        let index = try GoFixture.loadIndex()
        #expect(index.etcdWAL.contains("3.4.23"))
        #expect(index.fixtures.count >= 18)
        #expect(GoFixture.names == index.fixtures)
        let directories = try FileManager.default.contentsOfDirectory(atPath: GoFixture.root).filter { name in
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: GoFixture.root + "/" + name, isDirectory: &isDirectory)
                && isDirectory.boolValue
        }
        #expect(Set(directories) == Set(index.fixtures))
        for name in index.fixtures {
            let fixture = try GoFixture.load(name)
            #expect(!fixture.replays.isEmpty, "\(name) has no replays")
            // The segment files are what the generator saw (nothing lost in git).
            for file in fixture.files {
                let attributes = try FileManager.default.attributesOfItem(atPath: fixture.walPath + "/" + file.name)
                #expect((attributes[.size] as? NSNumber)?.int64Value == file.size, "\(name)/\(file.name)")
            }
        }
    }

    @Test("read (etcd's OpenForRead + ReadAll) returns what etcd returned", arguments: GoFixture.names)
    func read(name: String) throws {
        let fixture = try GoFixture.load(name)
        for expected in fixture.replays where expected.modes.contains("openForRead") {
            let marker = expected.snapshot.snapshotMarker
            let context = "\(name) from \(marker)"
            let writeMode = fixture.replays.first { $0.snapshot == expected.snapshot && $0.modes.contains("open") }

            if expected.errorAt == "open" {
                let code = try #require(storageErrorCode(forEtcdError: expected.error ?? ""), "\(context): unmapped")
                expectError(code, context) { () throws(StorageError) in
                    _ = try EtcdLog.read(at: fixture.walPath, from: marker, codec: ProtobufRecordCodec())
                }
                continue
            }
            let replay: WALReplay
            do {
                replay = try EtcdLog.read(at: fixture.walPath, from: marker, codec: ProtobufRecordCodec())
            } catch {
                Issue.record("\(context): read threw \(error), etcd returned error \(expected.error ?? "nil")")
                continue
            }
            switch expected.error {
            case nil:
                if writeMode?.error == "unexpected EOF" {
                    // A torn tail: etcd's read mode ends silently, this package says so.
                    #expect(replay.error?.code == .unexpectedEnd, "\(context): \(String(describing: replay.error))")
                } else {
                    #expect(replay.error == nil, "\(context): \(String(describing: replay.error))")
                }
                #expect(replay.snapshotFound, "\(context)")
                try expectSameData(replay, expected, context)
            case "wal: snapshot not found":
                #expect(replay.error?.code == .snapshotNotFound, "\(context): \(String(describing: replay.error))")
                #expect(!replay.snapshotFound, "\(context)")
                try expectSameData(replay, expected, context)
            case "wal: slice bounds out of range":
                #expect(replay.error?.code == .corrupt, "\(context): \(String(describing: replay.error))")
                // etcd 3.4 keeps the HardState read before the gap.
                #expect(replay.hardState == expected.hardState.hardState, "\(context)")
            case let text?:
                let code = try #require(storageErrorCode(forEtcdError: text), "\(context): unmapped etcd error \(text)")
                #expect(replay.error?.code == code, "\(context): etcd said \(text), got \(String(describing: replay.error))")
            }
        }
    }

    @Test("open for appending (etcd's Open + ReadAll) accepts and refuses what etcd does", arguments: GoFixture.names)
    func openForAppending(name: String) throws {
        let fixture = try GoFixture.load(name)
        for expected in fixture.replays where expected.modes.contains("open") {
            let marker = expected.snapshot.snapshotMarker
            let context = "\(name) from \(marker), opened for appending"
            let readMode = fixture.replays.first { $0.snapshot == expected.snapshot && $0.modes.contains("openForRead") }
            // Opening zeroes the tail and adds a spare segment: work on a copy.
            let copy = try FixtureCopy(fixture)
            defer { copy.remove() }
            let options = WALOptions(segmentSize: fixture.segmentSizeBytes)

            var expectedCode: StorageError.Code?
            if let text = expected.error {
                let code = try #require(storageErrorCode(forEtcdError: text), "\(context): unmapped etcd error \(text)")
                expectedCode = code
            } else if readMode?.error == "wal: snapshot not found" {
                // etcd's write mode loses ErrSnapshotNotFound (Docs/OnDiskFormat.md, Replay); this package reports it.
                expectedCode = .snapshotNotFound
            }
            if let expectedCode {
                expectError(expectedCode, context) { () throws(StorageError) in
                    let (wal, _) = try EtcdLog.open(at: copy.path, from: marker, codec: ProtobufRecordCodec(), options: options)
                    try wal.close()
                }
                continue
            }
            do {
                let (wal, replay) = try EtcdLog.open(at: copy.path, from: marker, codec: ProtobufRecordCodec(), options: options)
                defer { try? wal.close() }
                #expect(replay.error == nil, "\(context)")
                try expectSameData(replay, expected, context)
            } catch {
                Issue.record("\(context): open threw \(error); etcd opened it")
            }
        }
    }

    /// Where `validSnapshotMarkers` deliberately reports the damage itself rather than what etcd's
    /// scan happens to trip over (Docs/Compatibility.md): an unknown record type, which etcd's scan
    /// skips, and a missing segment, which etcd's scan reads across until the CRC chain breaks. A
    /// restart fails at replay in both cases either way.
    static let deliberateMarkerScanErrors: [String: StorageError.Code] = ["unknown-record-type": .corrupt, "missing-segment": .notFound]

    @Test("validSnapshotMarkers is etcd's ValidSnapshotEntries", arguments: GoFixture.names)
    func validSnapshotMarkers(name: String) throws {
        let fixture = try GoFixture.load(name)
        let expected = fixture.validSnapshotEntries
        if let code = Self.deliberateMarkerScanErrors[name] {
            expectError(code, "\(name): validSnapshotMarkers") { () throws(StorageError) in
                _ = try EtcdLog.validSnapshotMarkers(at: fixture.walPath, codec: ProtobufRecordCodec())
            }
            return
        }
        if let text = expected.error {
            let code = try #require(storageErrorCode(forEtcdError: text), "\(name): unmapped etcd error \(text)")
            expectError(code, "\(name): validSnapshotMarkers") { () throws(StorageError) in
                _ = try EtcdLog.validSnapshotMarkers(at: fixture.walPath, codec: ProtobufRecordCodec())
            }
            return
        }
        let markers = try EtcdLog.validSnapshotMarkers(at: fixture.walPath, codec: ProtobufRecordCodec())
        #expect(markers.map { GoFixture.Marker(index: $0.index, term: $0.term) } == expected.snapshots, "\(name)")
    }
}

// MARK: - Helpers

private func expectSameData(_ replay: WALReplay, _ expected: GoFixture.Replay, _ context: String) throws {
    let entries = try expected.expectedEntries()
    #expect(replay.entries == entries, "\(context): \(entryDifference(replay.entries, entries))")
    #expect(replay.hardState == expected.hardState.hardState, "\(context)")
    let metadata = try expected.expectedMetadata()
    #expect(replay.metadata == metadata, "\(context): metadata")
}

/// Runs `body` and records an issue unless it throws a `StorageError` with `code`.
func expectError(
    _ code: StorageError.Code, _ context: String, sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () throws(StorageError) -> Void
) {
    do {
        try body()
        Issue.record("\(context): no error, expected \(code)", sourceLocation: sourceLocation)
    } catch {
        if error.code != code {
            Issue.record("\(context): \(error), expected \(code)", sourceLocation: sourceLocation)
        }
    }
}

/// A writable copy of a fixture's WAL directory in a temporary directory.
struct FixtureCopy {
    let directory: TemporaryDirectory
    /// The copied WAL directory.
    let path: String

    init(_ fixture: GoFixture) throws {
        let directory = TemporaryDirectory("go-fixture")
        do {
            path = try directory.copy(fixture.walPath, as: "wal")
        } catch {
            directory.remove()
            throw error
        }
        self.directory = directory
    }

    func remove() { directory.remove() }
}
