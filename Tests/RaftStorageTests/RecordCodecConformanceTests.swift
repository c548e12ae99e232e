import RaftStorage
import RaftFiles
import RaftStorageTesting
import Synchronization
import Testing

/// Runs the codec suite against a simple codec, proving the suite itself works and that a
/// codec outside this package can use it: without fast paths (the protocol's defaults), with
/// simple ones of its own, and with broken ones, which the suite must report.
@Suite("RecordCodec conformance (fixed-width test codec)")
struct RecordCodecConformanceTests {
    @Test(arguments: RecordCodecConformance<FixedWidthCodec>.cases)
    func conformance(_ testCase: RecordCodecConformance<FixedWidthCodec>.Case) throws {
        // Its snapshot records hold index and term only.
        try RecordCodecConformance(codec: FixedWidthCodec(), storesSnapshotMembership: false).run(testCase)
    }

    @Test(arguments: RecordCodecConformance<FramingFixedWidthCodec>.cases)
    func conformanceWithFastPaths(_ testCase: RecordCodecConformance<FramingFixedWidthCodec>.Case) throws {
        try RecordCodecConformance(codec: FramingFixedWidthCodec(), storesSnapshotMembership: false).run(testCase)
    }

    @Test("fast paths that disagree with the plain ones are reported")
    func brokenFastPaths() throws {
        let issues = ReportedIssues()
        let broken = FramingFixedWidthCodec(chainsCRC: false, termOffset: 1)
        let suite = RecordCodecConformance(codec: broken, storesSnapshotMembership: false)
        try ConformanceReporting.withReporter({ issue in issues.issues.withLock { $0.append(issue) } }) {
            for testCase in RecordCodecConformance<FramingFixedWidthCodec>.cases where testCase.name.contains("fast path") {
                try suite.run(testCase)
            }
        }
        let messages = issues.issues.withLock { $0.map(\.message) }
        #expect(messages.contains { $0.contains("running CRC") }, "\(messages.prefix(5))")
        #expect(messages.contains { $0.contains("decodeLogRecord(.skip)") }, "\(messages.prefix(5))")
        // Reported at this test's line, naming the kit's check.
        #expect(issues.issues.withLock { $0.allSatisfy { $0.caller.fileID.hasSuffix("RecordCodecConformanceTests.swift") && $0.step != nil } })
    }
}

/// The issues a reporter received.
final class ReportedIssues: Sendable {
    let issues = Mutex<[ConformanceIssue]>([])
}
