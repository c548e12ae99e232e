import RaftStorage
import RaftFiles
import RaftStorageTesting
import Synchronization
import TestSupport
import Testing

/// Runs the codec suite against a simple codec, proving the suite itself works and that a
/// codec outside this package can use it: without fast paths (the protocol's defaults), with
/// simple ones of its own, and with broken ones, which the suite must report.
@Suite("RecordCodec conformance (fixed-width test codec)")
struct RecordCodecConformanceTests {
    // Its snapshot records hold index and term only.
    static let plain = RecordCodecConformance(makeCodec: { FixedWidthCodec() }, storesSnapshotMembership: false)
    static let withFastPaths = RecordCodecConformance(makeCodec: { FramingFixedWidthCodec() }, storesSnapshotMembership: false)

    @Test(arguments: plain.cases)
    func conformance(_ testCase: RecordCodecConformance<FixedWidthCodec>.Case) throws {
        try Self.plain.run(testCase)
    }

    @Test(arguments: withFastPaths.cases)
    func conformanceWithFastPaths(_ testCase: RecordCodecConformance<FramingFixedWidthCodec>.Case) throws {
        try Self.withFastPaths.run(testCase)
    }

    @Test("fast paths that disagree with the plain ones are reported, naming the codec and the case")
    func brokenFastPaths() throws {
        let issues = ReportedIssues()
        let suite = RecordCodecConformance(
            makeCodec: { FramingFixedWidthCodec(chainsCRC: false, termOffset: 1) }, storesSnapshotMembership: false)
        let fastPathCases = suite.cases.filter { $0.name.contains("fast path") }
        try ConformanceReporting.withReporter({ issue in issues.issues.withLock { $0.append(issue) } }) {
            for testCase in fastPathCases {
                try suite.run(testCase)
            }
        }
        let reported = issues.issues.withLock { $0 }
        let messages = reported.map(\.message)
        #expect(messages.contains { $0.contains("running CRC") }, "\(messages.prefix(5))")
        #expect(messages.contains { $0.contains("decodeLogRecord(.skip)") }, "\(messages.prefix(5))")
        // Reported at this test's line, naming the kit's check, the codec type and the case.
        #expect(reported.allSatisfy { $0.caller.fileID.hasSuffix("RecordCodecConformanceTests.swift") && $0.step != nil })
        #expect(reported.allSatisfy { $0.suite == "RecordCodecConformance" && $0.backend == "FramingFixedWidthCodec" && $0.run == nil })
        #expect(reported.allSatisfy { issue in fastPathCases.contains { $0.name == issue.testCase } })
    }
}

/// The issues a reporter received.
final class ReportedIssues: Sendable {
    let issues = Mutex<[ConformanceIssue]>([])
}
