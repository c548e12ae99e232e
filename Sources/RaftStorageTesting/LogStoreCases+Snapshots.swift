import Dispatch
import RaftStorage
import Synchronization

// etcd's TestStorageCreateSnapshot and TestStorageApplySnapshot, plus snapshot boundary
// handling, recovery markers and concurrent reads.
extension LogStoreConformance {
    static var recordSnapshotCases: [Case] {
        let confState = ConfState(voters: [1, 2, 3])
        return [
            testCase("recordSnapshot: at the first index keeps the entries") { h in
                try etcdLog(&h)
                try h.store.recordSnapshot(SnapshotMetadata(confState: confState, index: 4, term: 4))
                h.equal(try h.store.snapshotMarker().matches(SnapshotMarker(index: 4, term: 4)), true, "snapshotMarker is (4, 4)")
                try h.expectLog(first: 4, last: 5, terms: [4, 5])
            },
            testCase("recordSnapshot: at the last index keeps the entries") { h in
                try etcdLog(&h)
                try h.store.recordSnapshot(SnapshotMetadata(confState: confState, index: 5, term: 5))
                h.equal(try h.store.snapshotMarker().matches(SnapshotMarker(index: 5, term: 5)), true, "snapshotMarker is (5, 5)")
                try h.expectLog(first: 4, last: 5, terms: [4, 5])
            },
            testCase("recordSnapshot: not newer than the current snapshot is out of date") { h in
                try etcdLog(&h)
                h.expectError(.snapshotOutOfDate, "recordSnapshot at 3") { try $0.recordSnapshot(SnapshotMetadata(index: 3, term: 3)) }
            },
            testCase("recordSnapshot: older than the last one is out of date") { h in
                try etcdLog(&h)
                try h.store.recordSnapshot(SnapshotMetadata(index: 5, term: 5))
                h.expectError(.snapshotOutOfDate, "recordSnapshot at 4") { try $0.recordSnapshot(SnapshotMetadata(index: 4, term: 4)) }
            },
            testCase("recordSnapshot: past the last index is unavailable") { h in
                try etcdLog(&h)
                h.expectError(.unavailable, "recordSnapshot at 6") { try $0.recordSnapshot(SnapshotMetadata(index: 6, term: 5)) }
            },
            testCase("recordSnapshot: with a term the log does not have is refused") { h in
                try etcdLog(&h)
                h.expectError(.invalidArgument, "recordSnapshot (4, 9)") { try $0.recordSnapshot(SnapshotMetadata(index: 4, term: 9)) }
            },
            testCase("recordSnapshot: then compaction behind it") { h in
                try plainLog(&h, count: 20)
                try h.store.save(hardState: HardState(term: 1, vote: 1, commit: 15), entries: [])
                try h.store.recordSnapshot(SnapshotMetadata(index: 15, term: 1))
                try h.store.compact(through: 10)
                try h.expectLog(first: 11, last: 20, terms: Array(repeating: 1, count: 10))
            },
        ]
    }

    static var applySnapshotCases: [Case] {
        [
            testCase("applySnapshot: on a new log") { h in
                try h.store.applySnapshot(SnapshotMetadata(confState: ConfState(voters: [1, 2, 3]), index: 4, term: 4))
                try h.expectLog(first: 5, last: 4, terms: [])
                h.equal(try h.store.term(at: 4), 4, "term(at: 4) of the boundary")
                h.equal(try h.store.snapshotMarker().matches(SnapshotMarker(index: 4, term: 4)), true, "snapshotMarker is (4, 4)")
            },
            testCase("applySnapshot: older than the current one is out of date") { h in
                try h.store.applySnapshot(SnapshotMetadata(index: 4, term: 4))
                try h.checkpoint()
                h.expectError(.snapshotOutOfDate, "applySnapshot at 3") { try $0.applySnapshot(SnapshotMetadata(index: 3, term: 3)) }
                h.expectError(.snapshotOutOfDate, "applySnapshot at 4") { try $0.applySnapshot(SnapshotMetadata(index: 4, term: 4)) }
            },
            testCase("applySnapshot: past the last index drops every entry") { h in
                try etcdLog(&h)
                try h.store.applySnapshot(SnapshotMetadata(index: 10, term: 7))
                try h.expectLog(first: 11, last: 10, terms: [])
                h.equal(try h.store.term(at: 10), 7, "term(at: 10)")
                h.expectError(.compacted, "term(at: 5)") { try $0.term(at: 5) }
            },
            testCase("applySnapshot: inside the log with another term drops every entry") { h in
                try plainLog(&h)
                try h.store.applySnapshot(SnapshotMetadata(index: 5, term: 2))
                try h.expectLog(first: 6, last: 5, terms: [])
                h.equal(try h.store.term(at: 5), 2, "term(at: 5)")
            },
            testCase("applySnapshot: the log continues right after it") { h in
                try h.store.applySnapshot(SnapshotMetadata(index: 10, term: 7))
                try h.checkpoint()
                h.expectError(.invalidArgument, "append at 12") { try $0.append([bare(12, 7)]) }
                try h.store.append(makeEntries(11...13, term: 7))
                try h.expectLog(first: 11, last: 13, terms: [7, 7, 7])
                h.expectError(.compacted, "entries(in: 10..<12)") { try $0.entries(in: 10..<12) }
            },
            testCase("applySnapshot: after compaction and appends") { h in
                try plainLog(&h)
                try h.store.compact(through: 4)
                try h.store.append(makeEntries(11...12, term: 1))
                try h.store.applySnapshot(SnapshotMetadata(index: 20, term: 3))
                try h.expectLog(first: 21, last: 20, terms: [])
                try h.store.append(makeEntries(21...21, term: 3))
                try h.expectLog(first: 21, last: 21, terms: [3])
            },
        ]
    }

    static var markerCases: [Case] {
        [
            testCase("markers: a snapshot covered by the commit index is offered for recovery") { h in
                try plainLog(&h)
                try h.store.save(hardState: HardState(term: 1, vote: 1, commit: 8), entries: [])
                try h.store.recordSnapshot(SnapshotMetadata(index: 6, term: 1))
                let markers = try h.store.snapshotMarkers()
                h.equal(markers.last.map { [$0.index, $0.term] }, [6, 1], "newest marker")
                h.equal(markers.map(\.index), markers.map(\.index).sorted(), "markers oldest first")
            },
            testCase("markers: a snapshot beyond the commit index is not offered") { h in
                try plainLog(&h)
                try h.store.save(hardState: HardState(term: 1, vote: 1, commit: 5), entries: [])
                try h.store.recordSnapshot(SnapshotMetadata(index: 6, term: 1))
                let markers = try h.store.snapshotMarkers()
                h.equal(markers.contains { $0.index == 6 }, false, "marker 6 offered with commit 5")
            },
            testCase("markers: resuming from the current marker changes nothing") { h in
                try etcdLog(&h)
                try h.store.save(hardState: HardState(term: 5, vote: 1, commit: 5), entries: [])
                let marker = try h.store.snapshotMarker()
                try h.store.resume(from: marker)
                try h.expectLog(first: 4, last: 5, terms: [4, 5])
            },
        ]
    }

    static var concurrencyCases: [Case] {
        [
            testCase("concurrency: readers see a consistent log while one task appends") { h in
                let run = ConcurrentReadRun(store: h.store, readers: 2, batches: 100, batchSize: 20)
                run.start()
                let outcome = run.wait()
                h.equal(Array(outcome.failures.prefix(3)), [], "concurrent reads (\(outcome.failures.count) failed)")
                // The writer waits for every reader to see each batch before appending the
                // next (up to a deadline), so each reader reads at least once per batch.
                let minimum = Int(run.batches) - 1
                h.equal(
                    outcome.reads.allSatisfy { $0 >= minimum }, true,
                    "every reader made at least \(minimum) consistent reads while the batches were appended (reads per reader: \(outcome.reads))")
                let last = run.batches * run.batchSize
                try h.expectLog(first: 1, last: last, terms: (UInt64(1)...last).map(ConcurrentLog.term))
                h.equal(try h.store.entries(in: 1..<(last + 1)) == (UInt64(1)...last).map(ConcurrentLog.entry), true, "entries after the concurrent appends")
            },
        ]
    }
}

/// The log the concurrency case appends: entry `index` at term `1 + (index - 1) / 200`.
private enum ConcurrentLog {
    static func term(_ index: UInt64) -> UInt64 { 1 + (index - 1) / 200 }

    static func entry(_ index: UInt64) -> Entry { makeEntries(index...index, term: term(index))[0] }
}

/// One writer appending batches of ``ConcurrentLog`` entries and readers reading concurrently,
/// each on its own thread (a serial dispatch queue each, so they run at once even on a machine
/// with fewer cores). The writer appends batch `b` (entries `b * batchSize + 1` to
/// `(b + 1) * batchSize`) only after every reader has seen batch `b - 1`, or once a deadline has
/// passed, so reads interleave with the appends however the threads are scheduled.
///
/// The threads make no checks of their own: they only collect failures, which the case checks
/// after ``wait()`` on the task that runs it, where ``ConformanceReporting`` reports them.
private final class ConcurrentReadRun<Store: LogStore>: Sendable {
    let store: Store
    let readers: Int
    let batches: UInt64
    let batchSize: UInt64
    private let group = DispatchGroup()
    private let done = Atomic<Bool>(false)
    /// Per reader, in atomics rather than a Mutex: the writer polls them while the readers
    /// count, and ThreadSanitizer does not see a contended Mutex's ordering on Linux.
    private let progress: [ReaderProgress]
    private let failures = Mutex<[String]>([])

    /// One reader's counters.
    private final class ReaderProgress: Sendable {
        /// The consistent reads made.
        let reads = Atomic<Int>(0)
        /// The highest lastIndex seen.
        let seen = Atomic<UInt64>(0)
    }

    init(store: Store, readers: Int, batches: UInt64, batchSize: UInt64) {
        self.store = store
        self.readers = readers
        self.batches = batches
        self.batchSize = batchSize
        progress = (0..<readers).map { _ in ReaderProgress() }
    }

    func start() {
        for reader in 0..<readers {
            DispatchQueue(label: "LogStoreConformance.reader.\(reader)").async(group: group) { self.read(as: reader) }
        }
        DispatchQueue(label: "LogStoreConformance.writer").async(group: group) { self.write() }
    }

    /// Waits for the writer and the readers; the failures found and each reader's read count.
    func wait() -> (failures: [String], reads: [Int]) {
        group.wait()
        return (failures.withLock { $0 }, progress.map { $0.reads.load(ordering: .acquiring) })
    }

    private func fail(_ message: String) {
        failures.withLock { if $0.count < 20 { $0.append(message) } }
    }

    private func write() {
        defer { done.store(true, ordering: .releasing) }
        let deadline = ContinuousClock.now + .seconds(20)
        for batch in 0..<batches {
            let previousLast = batch * batchSize
            while progress.map({ $0.seen.load(ordering: .acquiring) }).min() ?? previousLast < previousLast, ContinuousClock.now < deadline {}
            let first = previousLast + 1
            do {
                try store.append((first...(first + batchSize - 1)).map(ConcurrentLog.entry))
            } catch {
                fail("append of \(first)...\(first + batchSize - 1) failed: \(error)")
                return
            }
        }
    }

    private func read(as reader: Int) {
        var random = SeededGenerator(seed: UInt64(reader) + 1)
        var previousLast: UInt64 = 0
        while !done.load(ordering: .acquiring) {
            do {
                let last = try store.lastIndex()
                progress[reader].seen.max(last, ordering: .releasing)
                // A batch is one save: a reader sees all of it or none of it.
                guard last % batchSize == 0, last >= previousLast else {
                    fail("reader \(reader): lastIndex \(last) after \(previousLast) (batches of \(batchSize))")
                    continue
                }
                previousLast = last
                guard last > 0 else { continue }
                let index = UInt64.random(in: 1...last, using: &random)
                let term = try store.term(at: index)
                let entries = try store.entries(in: index..<(last + 1), maxBytes: 512)
                if let problem = Self.check(term: term, entries: entries, from: index, last: last, maxBytes: 512) {
                    fail("reader \(reader), index \(index), lastIndex \(last): \(problem)")
                } else {
                    progress[reader].reads.add(1, ordering: .releasing)
                }
            } catch {
                fail("reader \(reader): read failed: \(error)")
            }
        }
    }

    /// What is wrong with a read of `term(at: index)` and `entries(in: index..<last + 1, maxBytes:)`,
    /// or `nil`: the term and every entry are the ones appended, and the entries are the
    /// longest run from `index` within `maxBytes` (never fewer than one).
    private static func check(term: UInt64, entries: [Entry], from index: UInt64, last: UInt64, maxBytes: UInt64) -> String? {
        guard term == ConcurrentLog.term(index) else { return "term \(term), expected \(ConcurrentLog.term(index))" }
        guard !entries.isEmpty else { return "no entries" }
        let end = index + UInt64(entries.count)
        guard end <= last + 1, entries == (index..<end).map(ConcurrentLog.entry) else {
            return "entries \(entries.map(\.index)) differ from the ones appended"
        }
        let size = entries.reduce(UInt64(0)) { $0 + UInt64($1.encodedSize) }
        guard entries.count == 1 || size <= maxBytes else { return "\(size) bytes, limit \(maxBytes)" }
        if end <= last, size + UInt64(ConcurrentLog.entry(end).encodedSize) <= maxBytes {
            return "cut at \(end - 1) though entry \(end) fits within \(maxBytes) bytes"
        }
        return nil
    }
}
