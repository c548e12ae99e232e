import RaftStorage
import RaftFiles
import RaftStorageTesting
import Testing

/// Runs the codec suite against a simple codec, proving the suite itself works and that a
/// codec outside this package can use it.
@Suite("RecordCodec conformance (fixed-width test codec)")
struct RecordCodecConformanceTests {
    @Test(arguments: RecordCodecConformance<FixedWidthCodec>.cases)
    func conformance(_ testCase: RecordCodecConformance<FixedWidthCodec>.Case) throws {
        // Its snapshot records hold index and term only.
        try RecordCodecConformance(codec: FixedWidthCodec(), storesSnapshotMembership: false).run(testCase)
    }
}
