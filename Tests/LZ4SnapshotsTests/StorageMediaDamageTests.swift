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

    func check<Snapshots: SnapshotStore>(
        _ name: String, _ checker: StorageMediaDamage<WALStore, Snapshots>, filePath: (Snapshots, SnapshotMarker) -> String
    ) throws {
        let (image, acknowledged, files) = try checker.writeSnapshotWorkload(filePath: filePath)
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
