import Foundation
import MultiRaftLog
import RaftStorage
import RaftStorageTesting
import TestSupport
import Testing

/// Real process crashes of the multi-group engine: a `CrashWorker engine` child runs four
/// concurrent writers over 16 groups (durable batches sharing fdatasyncs, compactions, purges,
/// 64 KiB files) and reports each acknowledged batch; the test kills it with SIGKILL at a
/// random moment, opens the engine itself, checks every group against what was acknowledged,
/// and starts the next child on the same directory.
///
/// 100 kills by default; `RAFTSTORE_CRASH_ITERATIONS=<n>` runs n/2.
@Suite("Engine process crashes (SIGKILL)")
struct EngineProcessCrashTests {
    static var iterations: Int {
        max(1, (ProcessInfo.processInfo.environment["RAFTSTORE_CRASH_ITERATIONS"].flatMap(Int.init) ?? 200) / 2)
    }

    /// The groups the worker writes, and its file size.
    static let groups: ClosedRange<UInt64> = 1...16
    static let options = LogEngine.Options(fileSize: 64 * 1024)

    /// A group's entry data, as the worker writes it.
    static func data(group: UInt64, index: UInt64, term: UInt64) -> [UInt8] {
        crashWorkerPayload(index: index, term: term ^ group << 40)
    }

    /// What the worker acknowledged for one group, over all its lives.
    struct Acknowledged {
        var terms: [UInt64: UInt64] = [:]
        var last: UInt64 = 0
    }

    @Test("SIGKILL at random moments never loses an acknowledged entry of any group")
    func killedWriters() throws {
        let worker = ChildProcess.crashWorker
        try #require(FileManager.default.isExecutableFile(atPath: worker), "CrashWorker is not built at \(worker): run `swift build --build-tests`")
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("engine")
        var random = SeededGenerator(seed: 23)
        var acknowledged: [UInt64: Acknowledged] = [:]
        var batches = 0
        var verifiedTotal: UInt64?
        var repairs = 0
        var purged = false
        for iteration in 1...Self.iterations {
            let child = try ChildProcess(worker, ["engine", path, "\(random.next())", "\(iteration)"])
            for line in child.runUntilKilled(random: &random) {
                let fields = line.split(separator: " ").compactMap { UInt64($0) }
                if line.hasPrefix("open "), fields.count == 1 {
                    if let verifiedTotal { #expect(fields[0] == verifiedTotal, "kill \(iteration): the worker opened at \(fields[0]), the check before saw \(verifiedTotal)") }
                } else if line.hasPrefix("ack "), fields.count == 4 {
                    let (group, first, last, term) = (fields[0], fields[1], fields[2], fields[3])
                    for index in first...last { acknowledged[group, default: Acknowledged()].terms[index] = term }
                    acknowledged[group, default: Acknowledged()].last = max(acknowledged[group]?.last ?? 0, last)
                    batches += 1
                } else {
                    Issue.record("kill \(iteration): unexpected worker output '\(line)'")
                }
            }
            let engine = try LogEngine(directory: path, options: Self.options)
            if !engine.recoveryActions.isEmpty { repairs += 1 }
            var total: UInt64 = 0
            for group in Self.groups {
                total += try check(engine.log(for: group), acknowledged[group] ?? Acknowledged(), group: group, kill: iteration)
            }
            let names = try FileManager.default.contentsOfDirectory(atPath: path)
            purged = purged || !names.contains("0000000000000001.rlog")
            verifiedTotal = total
            try engine.close()
        }
        #expect(batches > Self.iterations, "the workers acknowledged only \(batches) group batches in \(Self.iterations) lives")
        #expect(purged, "no purge removed the first file")
        print("[process-crashes] LogEngine: \(Self.iterations) SIGKILLs, \(batches) acknowledged group batches, \(repairs) torn tails cut, nothing lost")
    }

    /// Checks one group of the reopened engine against what was acknowledged; returns its
    /// last index.
    func check(_ log: GroupLog, _ acknowledged: Acknowledged, group: UInt64, kill: Int) throws -> UInt64 {
        let first = try log.firstIndex(), last = try log.lastIndex()
        #expect(last >= acknowledged.last, "kill \(kill), group \(group): lastIndex \(last) lost acknowledged entries through \(acknowledged.last)")
        #expect(first <= last + 1, "kill \(kill), group \(group): the log starts at \(first), after its end \(last)")
        guard first <= last else { return last }
        for entry in try log.entries(in: first..<(last + 1)) {
            if let term = acknowledged.terms[entry.index] {
                #expect(entry.term == term, "kill \(kill), group \(group): entry \(entry.index) has term \(entry.term), acknowledged with \(term)")
            }
            #expect(entry.data ?? [] == Self.data(group: group, index: entry.index, term: entry.term), "kill \(kill), group \(group): entry \(entry.index) holds bytes never written")
        }
        let state = try log.hardState()
        #expect(state.term >= (acknowledged.terms[acknowledged.last] ?? 0), "kill \(kill), group \(group): HardState \(state) is behind the acknowledged term")
        #expect(state.commit <= last)
        return last
    }
}
