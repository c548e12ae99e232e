import EtcdWAL
import RaftStorage
import RaftStorageTesting
import Testing

/// Every crash point of the standard workloads, with every crash outcome (unsynced writes
/// dropped, kept, or torn at 512 B and 4 KiB), recovered by reopening the WALLogStore.
@Suite("WALLogStore crash consistency")
struct WALCrashConsistencyTests {
    static let crashes = LogCrashConsistency(open: { fileSystem in
        try WALLogStore.open(at: "/data/wal", options: .init(wal: WALOptions(fileSystem: fileSystem, segmentSize: 4096), retainedSegments: 3))
    })

    @Test(arguments: LogCrashConsistency<WALLogStore<ProtobufRecordCodec>>.workloads)
    func crashes(_ workload: LogCrashConsistency<WALLogStore<ProtobufRecordCodec>>.Workload) throws {
        let report = try Self.crashes.check(workload)
        #expect(report.crashesRecovered >= report.operations)
    }
}
