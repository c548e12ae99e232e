import EtcdStorage
import LZ4Snapshots
import Logging
import RaftStorage
import RaftFiles
import RaftStorageTesting
import Testing

/// Media damage in snapshot files that were written and synced - a flipped bit or a zeroed
/// 512-byte sector at the start, in the middle and at the end of each `.snap` / `.snap.lz4`
/// file - recovered through `Storage` (WAL + the snapshot store) and loaded from the snapshot
/// store alone. `Storage` must return the acknowledged HardState and every acknowledged entry
/// after a snapshot that loads with its acknowledged data (the newest, or an older one once the
/// damaged newest file is set aside), or refuse with a damage error naming the file; the store
/// must load the damaged snapshot intact, set its file aside, or refuse likewise.
@Suite("Storage media damage: snapshot files")
struct StorageMediaDamageTests {
    typealias WALStore = WALLogStore<ProtobufRecordCodec>
    static let quiet = Logger(label: "media-damage", factory: { _ in SwiftLogNoOpLogHandler() })

    static func log(_ fs: FaultInjectingFileSystem) throws -> WALStore {
        try fs.createDirectory("/member", permissions: 0o700)
        try fs.syncDirectory("/")
        return try WALLogStore.open(at: "/member/wal", options: .init(wal: WALOptions(fileSystem: fs, segmentSize: 4096, logger: quiet)))
    }

    // No compaction and no snapshot removed, so recovery can go back to any snapshot.
    static let etcd = StorageMediaDamage<WALStore, EtcdSnapshotStore>(
        openLog: { fs in try log(fs) },
        openSnapshots: { fs in try EtcdSnapshotStore(directory: "/member/snap", fileSystem: fs, logger: quiet) },
        options: .init(retainedEntries: 1_000, retainedSnapshots: 10))

    static let lz4 = StorageMediaDamage<WALStore, LZ4SnapshotStore<ProtobufRecordCodec>>(
        openLog: { fs in try log(fs) },
        openSnapshots: { fs in try LZ4SnapshotStore(directory: "/member/snap", codec: ProtobufRecordCodec(), fileSystem: fs, logger: quiet) },
        options: .init(retainedEntries: 1_000, retainedSnapshots: 10))

    /// State-machine bytes that neither compress nor hold a zero sector.
    static func stateMachine(_ index: UInt64, size: Int) -> [UInt8] {
        var x = index &* 0x9E37_79B9_7F4A_7C15 | 1
        return (0..<size).map { _ in
            x ^= x << 13
            x ^= x >> 7
            x ^= x << 17
            return UInt8(truncatingIfNeeded: x >> 24)
        }
    }

    /// Storage written through its public API, every Ready synced, closed cleanly: three terms,
    /// each started without a vote and then voted in, entries with commit following, and a
    /// snapshot in each term. Returns the disk as it is durably, what was acknowledged, and the
    /// snapshot files.
    static func makeStorage<Snapshots: SnapshotStore>(
        _ checker: StorageMediaDamage<WALStore, Snapshots>, filePath: (Snapshots, SnapshotMarker) -> String
    ) throws -> (image: FaultInjectingFileSystem, acknowledged: AcknowledgedStorage, files: [SnapshotMarker: String]) {
        let fs = FaultInjectingFileSystem()
        let storage = try checker.openStorage(fs)
        var acknowledged = AcknowledgedStorage()
        func ready(_ state: HardState, _ indexes: ClosedRange<UInt64>? = nil, term: UInt64 = 0) throws {
            var entries: [Entry] = []
            if let indexes {
                entries = indexes.map { index in Entry(term: term, index: index, data: Array(repeating: UInt8(truncatingIfNeeded: index), count: 64)) }
            }
            try storage.save(hardState: state, entries: entries)
            try storage.sync()
            acknowledged.saved(hardState: state, entries: entries)
        }
        func snapshot(at index: UInt64, size: Int) throws {
            let saved = try storage.createSnapshot(at: index, data: stateMachine(index, size: size))
            acknowledged.snapshotSaved(saved)
        }
        try ready(HardState(term: 1, vote: 0, commit: 0))
        try ready(HardState(term: 1, vote: 1, commit: 4), 1...5, term: 1)
        try snapshot(at: 4, size: 5_000)
        try ready(HardState(term: 2, vote: 0, commit: 5))
        try ready(HardState(term: 2, vote: 2, commit: 9), 6...10, term: 2)
        try snapshot(at: 9, size: 6_000)
        try ready(HardState(term: 3, vote: 0, commit: 10))
        try ready(HardState(term: 3, vote: 3, commit: 14), 11...15, term: 3)
        try snapshot(at: 14, size: 7_000)
        try ready(HardState(term: 3, vote: 3, commit: 17), 16...18, term: 3)
        var files: [SnapshotMarker: String] = [:]
        for marker in acknowledged.snapshots.keys { files[marker] = filePath(storage.snapshots, marker) }
        try storage.close()
        return (try fs.durableCopy(), acknowledged, files)
    }

    func check<Snapshots: SnapshotStore>(
        _ name: String, _ checker: StorageMediaDamage<WALStore, Snapshots>, filePath: (Snapshots, SnapshotMarker) -> String
    ) throws {
        let (image, acknowledged, files) = try Self.makeStorage(checker, filePath: filePath)
        #expect(files.count == 3)
        let cases = StorageMediaDamage<WALStore, Snapshots>.snapshotCases(files: files, image: image)
        #expect(cases.count == files.count * 3 * 2)

        // Undamaged, storage recovers everything from the newest snapshot.
        let control = try checker.checkStorage(
            [MediaDamageCase(path: "/member/snap/missing", damage: .flippedBit(offset: 0, bit: 0), position: "no file", snapshot: acknowledged.newestSnapshot)],
            image: image, acknowledged: acknowledged)
        #expect(control.recovered == 1)

        let storage = try checker.checkStorage(cases, image: image, acknowledged: acknowledged)
        print("[media-damage] Storage(WAL + \(name)), snapshot files: \(storage)")
        #expect(storage.cases == cases.count)
        #expect(storage.losses == 0)
        #expect(storage.misreported == 0)
        #expect(storage.unchanged == 0)
        #expect(storage.recovered + storage.recoveredFromOlderSnapshot + storage.errorsReported == storage.cases)
        // Damage to an older file never reaches recovery, which loads the newest.
        let olderFileCases = cases.filter { $0.snapshot != acknowledged.newestSnapshot }.count
        #expect(storage.recovered >= olderFileCases)

        let store = try checker.checkSnapshotStore(cases, image: image, acknowledged: acknowledged)
        print("[media-damage] \(name) store, loadNewest(matching:) of the damaged snapshot: \(store)")
        #expect(store.cases == cases.count)
        #expect(store.losses == 0)
        #expect(store.misreported == 0)
        #expect(store.recovered + store.setAside + store.errorsReported == store.cases)
    }

    @Test("a flipped bit or a zeroed sector in a snapshot file: everything acknowledged, an older snapshot after setting the file aside, or a damage error", arguments: [FileStoreKind.etcd, .lz4])
    func damagedSnapshotFiles(_ kind: FileStoreKind) throws {
        switch kind {
        case .etcd: try check("etcd .snap", Self.etcd, filePath: { store, marker in store.filePath(of: marker) })
        default: try check("LZ4 .snap.lz4", Self.lz4, filePath: { store, marker in store.filePath(of: marker) })
        }
    }
}
