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
                let store = h.store
                let failures = Mutex<[String]>([])
                let done = Atomic<Bool>(false)
                DispatchQueue.concurrentPerform(iterations: 3) { worker in
                    if worker == 0 {
                        defer { done.store(true, ordering: .releasing) }
                        do {
                            for batch in UInt64(0)..<100 {
                                try store.append(makeEntries((batch * 20 + 1)...(batch * 20 + 20), term: 1 + batch / 10))
                            }
                        } catch {
                            failures.withLock { $0.append("append failed: \(error)") }
                        }
                        return
                    }
                    while !done.load(ordering: .acquiring) {
                        do {
                            let last = try store.lastIndex()
                            guard last > 0 else { continue }
                            let index = UInt64.random(in: 1...last)
                            let term = try store.term(at: index)
                            let entries = try store.entries(in: index..<(last + 1), maxBytes: 512)
                            let expectedTerm = 1 + (index - 1) / 200
                            if term != expectedTerm || entries.first?.index != index || entries.first?.term != expectedTerm {
                                failures.withLock { $0.append("read index \(index): term \(term), first \(String(describing: entries.first))") }
                            }
                        } catch {
                            failures.withLock { $0.append("read failed: \(error)") }
                        }
                    }
                }
                h.equal(failures.withLock { Array($0.prefix(3)) }, [], "concurrent reads")
                try h.expectLog(first: 1, last: 2000, terms: (UInt64(1)...2000).map { 1 + ($0 - 1) / 200 })
            },
        ]
    }
}
